#pragma once
// Lua scripts run by SHA (EVALSHA), with their source at hand for the one retry a server that
// does not know them yet (fresh, restarted, flushed) needs: NOSCRIPT means nothing ran, so
// sending EVAL next is always safe, even for scripts that write. exec_script() sends one call;
// exec_script_pipeline() a pipeline holding several, among other commands.

#include <streamq/client.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamq::streams::detail {

namespace lua {
struct script_source;  // one embedded lib/streams/scripts/*.lua file (streamq_lua_scripts.hpp)
}

// One Lua script as sent: by SHA-1 (EVALSHA) or, after a NOSCRIPT, by source (EVAL). Each
// script is a file lib/streams/scripts/<name>-<key count>.lua, embedded at build time
// (cmake/StreamqEmbedLua.cmake); the build_* function of commands/ that calls it appends it
// with push(), and exec_script() or exec_script_pipeline() below sends it.
class lua_script {
 public:
  // An embedded script: its SHA-1 was computed at build time, and push() refuses a key count
  // other than the one its file name gives (at least that one for a "<name>-<n>+.lua").
  explicit lua_script(const lua::script_source& source);

  [[nodiscard]] std::string_view source() const noexcept { return source_; }
  [[nodiscard]] const std::string& sha1() const noexcept { return sha1_; }

  // Appends EVALSHA <sha1> (or, with `by_source`, EVAL <source>), the key count `keys`, then
  // `args` (the keys marked resp::key, then arguments), as request::push does. Throws
  // std::logic_error if `keys` is not the script's key count.
  template <class... Args>
  void push(resp::request& req, bool by_source, std::size_t keys, Args&&... args) const {
    check_keys(keys);
    if (by_source)
      req.push("EVAL", source_, keys, std::forward<Args>(args)...);
    else
      req.push("EVALSHA", sha1_, keys, std::forward<Args>(args)...);
  }

 private:
  void check_keys(std::size_t keys) const;

  std::string_view source_;
  std::string sha1_;
  std::string_view name_;  // the file name without .lua; empty when the key count is unchecked
  std::size_t keys_ = 0;   // the key count, or the least one when more_keys_
  bool more_keys_ = false;
};

// A non-owning reference to a callable void(resp::request&, bool by_source) that appends one
// script call (lua_script::push). Trivially copyable, so it can sit in a coroutine frame; what
// it refers to must outlive the co_await it is passed to.
class script_call {
 public:
  template <class F>
  script_call(const F& build)  // NOLINT(google-explicit-constructor): a view, like string_view
      : target_(&build), invoke_([](const void* f, resp::request& req, bool by_source) {
          (*static_cast<const F*>(f))(req, by_source);
        }) {}
  void operator()(resp::request& req, bool by_source) const { invoke_(target_, req, by_source); }

 private:
  const void* target_;
  void (*invoke_)(const void*, resp::request&, bool);
};

// Sends the one script call `build` appends, by SHA; when the server answers NOSCRIPT (nothing
// ran) sends it again by source. Completes with the transport error, if any; the script's
// reply, or the server's error for it, is in `reply`.
boost::asio::awaitable<error_code> exec_script(client& c, resp::response_adapter& reply,
                                               const std::error_code& reply_error,
                                               script_call build);
template <class T>
boost::asio::awaitable<error_code> exec_script(client& c, resp::response<T>& reply,
                                               script_call build) {
  return exec_script(c, reply, reply.template get<0>().error(), build);
}

// ---- pipelines holding script calls ---------------------------------------------------------
//
// A pipeline of `calls` commands, script calls among them, all sent by SHA in one round trip;
// the calls the server answered NOSCRIPT are sent again, by source, in one more round trip,
// and their replies take the NOSCRIPT's place. Only those calls, and that is what makes it
// safe: a NOSCRIPT reply means that call did nothing (the server looks the SHA up before
// running anything), while any other reply, an error included, is its command's one
// execution and stands. Sending the whole pipeline again would not be safe, even when every
// call of it is a script call: the server runs a pipeline's commands one at a time, and
// another client's SCRIPT FLUSH can fall between two of them, so one pipeline can hold calls
// that ran and calls that did not. What a caller accepts: a call sent again runs after the
// rest of its pipeline, not in its place.
//
// `trailer` replies (e.g. one WAIT) follow the calls in every round trip; they are kept per
// round trip, as what they say may concern only the writes sent before them (WAIT counts the
// replicas that have every earlier write of its connection).
//
// script_pipeline is the rule, with no I/O; exec_script_pipeline() below runs it.
class script_pipeline {
 public:
  explicit script_pipeline(std::size_t calls, std::size_t trailer = 0);

  // The calls the next round trip sends, in order: every call by SHA first, then those
  // answered NOSCRIPT by source. Empty once done().
  [[nodiscard]] std::span<const std::size_t> next_calls() const noexcept { return next_; }
  [[nodiscard]] bool by_source() const noexcept { return rounds_ > 0; }
  [[nodiscard]] bool done() const noexcept { return next_.empty(); }

  // Takes the replies of the round trip that sent next_calls(): one per call in that order,
  // then the trailer's. False (and nothing taken; the pipeline is then done) when there are
  // not that many: the request was not built as next_calls() said.
  bool on_replies(std::vector<resp::value>&& replies);

  // Round trips answered so far (1 or 2 once done, unless a round trip failed).
  [[nodiscard]] std::size_t rounds() const noexcept { return rounds_; }
  // Call `call`'s reply, and the round trip (1 or 2) that gave it; 0 while it has none (not
  // sent yet, or sent again after a NOSCRIPT and not answered).
  [[nodiscard]] const resp::value& reply(std::size_t call) const { return replies_.at(call); }
  [[nodiscard]] std::size_t answered_in(std::size_t call) const { return answered_in_.at(call); }
  // The trailer's replies in round trip `round` (1 or 2).
  [[nodiscard]] std::span<const resp::value> trailer(std::size_t round) const;

 private:
  std::size_t trailer_;
  std::size_t rounds_ = 0;
  std::vector<std::size_t> next_;
  std::vector<resp::value> replies_;
  std::vector<std::size_t> answered_in_;
  std::vector<resp::value> trailers_;  // round 1's, then round 2's
};

// Runs `pipeline` to its end: `build(req, calls, by_source)` appends the calls listed (indexes
// into the pipeline; script calls by source when `by_source`), then the trailer;
// `send(req, replies)` sends one round trip and completes with the transport's error (its
// deadline, and the connection, are the caller's). Completes with the first error, leaving in
// `pipeline` what the round trips before it answered, or errc::malformed_entry when a round
// trip's replies did not match its calls.
template <class Send, class Build>
boost::asio::awaitable<error_code> exec_script_pipeline(script_pipeline& pipeline, const Send& send,
                                                        const Build& build) {
  while (!pipeline.done()) {
    resp::request req;
    build(req, pipeline.next_calls(), pipeline.by_source());
    resp::generic_response replies;
    const error_code ec = co_await send(req, replies);
    if (ec) co_return ec;
    if (!pipeline.on_replies(std::move(replies.values())))
      co_return error_code(errc::malformed_entry);
  }
  co_return error_code{};
}

// Lower-case hex SHA-1 and SHA-256 of `data` (OpenSSL).
[[nodiscard]] std::string sha1_hex(std::string_view data);
[[nodiscard]] std::string sha256_hex(std::string_view data);

}  // namespace streamq::streams::detail

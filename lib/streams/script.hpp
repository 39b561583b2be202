#pragma once
// Lua scripts run by SHA (EVALSHA), with their source at hand for the one retry a server that
// does not know them yet (fresh, restarted, flushed) needs: NOSCRIPT means nothing ran, so
// sending EVAL next is always safe, even for scripts that write.

#include <streamq/client.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/streams/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace streamq::streams::detail {

namespace lua {
struct script_source;  // one embedded lib/streams/scripts/*.lua file (streamq_lua_scripts.hpp)
}

// One Lua script as sent: by SHA-1 (EVALSHA) or, after a NOSCRIPT, by source (EVAL). Each
// script is a file lib/streams/scripts/<name>-<key count>.lua, embedded at build time
// (cmake/StreamqEmbedLua.cmake); its wrapper is a function returning its lua_script
// (scheduler_scripts.hpp), run by exec_script() below.
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

// Lower-case hex SHA-1 and SHA-256 of `data` (OpenSSL).
[[nodiscard]] std::string sha1_hex(std::string_view data);
[[nodiscard]] std::string sha256_hex(std::string_view data);

}  // namespace streamq::streams::detail

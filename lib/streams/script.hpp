#pragma once
// Lua scripts run by SHA (EVALSHA), with their source at hand for the one retry a server that
// does not know them yet (fresh, restarted, flushed) needs: NOSCRIPT means nothing ran, so
// sending EVAL next is always safe, even for scripts that write.

#include <streamq/client.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/streams/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace streamq::streams::detail {

class lua_script {
 public:
  explicit lua_script(std::string_view source);

  [[nodiscard]] std::string_view source() const noexcept { return source_; }
  [[nodiscard]] const std::string& sha1() const noexcept { return sha1_; }

  // Appends EVALSHA <sha1> (or, with `by_source`, EVAL <source>) followed by `args` (the key
  // count, keys marked resp::key, then arguments), as request::push does.
  template <class... Args>
  void push(resp::request& req, bool by_source, Args&&... args) const {
    if (by_source)
      req.push("EVAL", source_, std::forward<Args>(args)...);
    else
      req.push("EVALSHA", sha1_, std::forward<Args>(args)...);
  }

 private:
  std::string_view source_;
  std::string sha1_;
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

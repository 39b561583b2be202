#pragma once
// An HTTP/1.1 endpoint on the application's own io_context (no thread of its own), for
// /metrics, /healthz, /readyz and the dashboard. Handlers see plain structs; Beast stays in
// the library (lib/http), so including this header costs no Beast compile time.
//
//   http::endpoint ep(io.get_executor(), {.port = 9464});     // binds now, or throws
//   ep.route("/healthz", [](const http::request&) { return http::response{.body = "ok"}; });
//   co_await ep.run();                                       // until stop() or cancelled
//
// Hostile or broken clients get a status and a closed connection, never a crash or a stalled
// loop: malformed request 400, header over header_limit 431, body over body_limit 413, whole
// request not received within request_timeout 408, HTTP version other than 1.0/1.1 505, over
// max_connections 503, unknown path 404, method not allowed 405 (with Allow), a handler that
// throws 500 (logged). docs/http-endpoint.md has the whole list.

#include <streamq/detail/async_op.hpp>
#include <streamq/log.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::http {

namespace detail {
class endpoint_impl;
}  // namespace detail

struct header {
  std::string name;
  std::string value;
};

// One request as received. `path` and `query` are the target split at the first '?', as sent
// (not percent-decoded); an absolute-form target ("http://host/p") is reduced to its path.
struct request {
  std::string method;           // "GET", "POST", ... as sent (methods are case-sensitive)
  std::string path;             // "/metrics"
  std::string query;            // "a=1&b=2" (without the '?'), empty when there is none
  std::vector<header> headers;  // in the order received
  std::string body;             // empty for GET and HEAD (they may carry none)
  std::string remote_address;   // the peer's IP address, for logs

  // The value of the first header called `name` (compared case-insensitively).
  [[nodiscard]] std::optional<std::string_view> find_header(std::string_view name) const;
};

// What a handler answers. Content-Length, Connection and Content-Type are set by the
// endpoint (an extra header of those names is replaced); for HEAD only the headers are sent.
struct response {
  unsigned status = 200;  // 200..599 (anything else: the client gets 500, and it is logged)
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<header> headers;  // extra headers; names must be tokens, values hold no CR/LF
};

// A handler runs on the endpoint's executor, one request at a time per connection. It may
// await (e.g. a Redis query) but must not block: it shares the application's event loop. It
// is cancelled when the endpoint stops. An exception from it
// becomes a 500 response and an error log record; the connection stays usable.
using handler = std::function<boost::asio::awaitable<response>(const request&)>;
using sync_handler = std::function<response(const request&)>;

struct endpoint_config {
  // The address to bind, IPv4 or IPv6 literal. Loopback by default: exposing the endpoint to
  // the network is a decision the application makes explicitly ("0.0.0.0", "::").
  std::string address = "127.0.0.1";
  // 0 binds an ephemeral port (read it with endpoint::port()).
  std::uint16_t port = 0;
  // Connections open at once; a connection over it is answered 503 and closed. Must be > 0.
  std::size_t max_connections = 64;
  // Request line plus headers, in bytes; over it: 431. Must be > 0.
  std::size_t header_limit = 8 * 1024;
  // Request body, in bytes; over it: 413. GET and HEAD may carry none.
  std::size_t body_limit = 64 * 1024;
  // Time to receive one whole request (line, headers, body), counted from the connection's
  // accept for its first request and from the first byte for later ones. A client that is
  // slower (slowloris) gets 408 and is closed. Must be positive.
  std::chrono::milliseconds request_timeout{10'000};
  // Time to send one response; a client not reading it is closed. Must be positive.
  std::chrono::milliseconds write_timeout{10'000};
  // How long a kept-alive connection may wait for its next request; then it is closed
  // silently. Must be positive.
  std::chrono::milliseconds idle_timeout{30'000};
  // After a refusal (4xx/5xx with Connection: close), how long the request bytes still
  // arriving are read and dropped, so that the client reads the status instead of a reset.
  // Must be positive.
  std::chrono::milliseconds linger_timeout{1'000};
  // Requests served on one connection before it is closed (Connection: close on the last
  // response), so no client holds a connection forever. Must be > 0.
  std::size_t max_requests_per_connection = 1'000;
  // Refusals, timeouts and client errors at debug; a throwing handler at error; accept
  // failures at warning.
  logger log{};

  // Throws std::invalid_argument naming the field ("streamq endpoint_config.port: ...").
  // The endpoint's constructor calls it.
  void validate() const;
};

// Counters since construction (atomics: read from any thread).
struct endpoint_stats {
  std::uint64_t connections_accepted = 0;  // served connections (not counting refused ones)
  std::uint64_t connections_refused = 0;   // over max_connections: 503 (or closed at once)
  std::uint64_t requests_served = 0;       // responses written, of every status
  std::uint64_t responses_4xx = 0;         // among them (includes 404, 405, 408, 413, 431)
  std::uint64_t responses_5xx = 0;         // among them (includes 500, 503, 505)
  std::uint64_t timeouts = 0;              // requests not received, or responses not sent, in time
  std::uint64_t open_connections = 0;      // now
};

// Methods a route answers. Default: GET and HEAD (HEAD sends GET's headers without the body).
using method_list = std::vector<std::string>;

class endpoint {
 public:
  // Validates `config`, then opens, binds and listens at once, so port() is known before
  // run(). Throws std::invalid_argument for a bad config, boost::system::system_error when
  // the address cannot be bound (e.g. address_in_use).
  // Executor: everything the endpoint does runs on `executor`; if several threads run its
  // io_context, pass a strand.
  endpoint(boost::asio::any_io_executor executor, endpoint_config config);
  // Closes the listening socket. Destroy the endpoint only while run() is not active.
  ~endpoint();
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  // Routes, registered before run() (std::logic_error after). `path` matches the request's
  // path exactly; a prefix route matches every path that starts with `prefix` (the longest
  // prefix wins; exact routes win over prefix routes). Throws std::invalid_argument for a
  // path not starting with '/', a path registered twice, an empty method list or an empty
  // handler.
  void route(std::string path, handler h, method_list methods = {"GET", "HEAD"});
  void route(std::string path, sync_handler h, method_list methods = {"GET", "HEAD"});
  void prefix_route(std::string prefix, handler h, method_list methods = {"GET", "HEAD"});

  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const noexcept;

  // The owner operation: accepts and serves until stop() or cancellation, then closes the
  // listening socket and every open connection (a handler in progress is cancelled), awaits
  // every connection's coroutine and returns normally. An endpoint runs once: a second run()
  // throws boost::system::system_error(asio::error::already_started). Await it on the
  // executor given to the constructor.
  boost::asio::awaitable<void> run();
  // run() for any completion token (use_awaitable by default, as_tuple, use_future,
  // deferred, a callback): completion void(error_code) (detail/async_op.hpp).
  // Cancellation (terminal only; partial and total are ignored): as stop(); the operation
  // completes without an error once every connection is closed.
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_run(Token&& token = {}) {
    return streamq::detail::start_async(executor(), run(), std::forward<Token>(token));
  }
  // Asks run() to stop as cancelling it does. Any thread. Before run() it makes run() return
  // at once (after closing the listening socket).
  void stop() noexcept;

  [[nodiscard]] endpoint_stats stats() const noexcept;
  [[nodiscard]] const endpoint_config& config() const noexcept;

 private:
  [[nodiscard]] boost::asio::any_io_executor executor() const;
  std::unique_ptr<detail::endpoint_impl> impl_;
};

}  // namespace streamq::http

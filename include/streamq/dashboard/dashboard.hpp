#pragma once
// A web dashboard for streamq topics (docs/dashboard.md): topics with their lag, pending
// entries and dead letters at a glance; a topic's consumer groups, consumers, delayed and
// recurring tasks; one message or dead letter decoded; dead letters requeued or purged,
// delayed tasks cancelled, recurring tasks paused, topics replayed. Served by an
// http::endpoint, either inside an application or by `streamq serve`:
//
//   streamq::http::endpoint ep(ex, {.port = 8080});
//   streamq::dashboard::dashboard d(client, ep, {.prefix = "/dashboard", .token = secret});
//   co_await (ep.async_run() && d.async_run());   // until both are stopped
//
// Reads are open to whoever reaches the endpoint (it binds loopback by default); every change
// needs POST with Content-Type: application/json and the configured token in X-Streamq-Token,
// and is refused for cross-site browser requests. Without a token, or with read_only, nothing
// can be changed. The page is embedded in the library (no file is read at run time).

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/log.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace streamq::http {
class endpoint;
}  // namespace streamq::http

namespace streamq::dashboard {

namespace detail {
class dashboard_impl;
}  // namespace detail

struct dashboard_config {
  // Where the dashboard is mounted: the page at "<prefix>/", its API at "<prefix>/api/...".
  // "/" mounts it at the root. Starts with '/'; no "." or ".." segments.
  std::string prefix = "/dashboard";
  // The secret a change must carry in X-Streamq-Token (compared in constant time). Empty:
  // changes are disabled (every POST is refused 403 "read_only"). Never sent in an answer.
  std::string token;
  // Refuses every change (403 "read_only") even with a token.
  bool read_only = false;
  // names.hpp's key prefix of the topics shown: the one their components use.
  std::string key_prefix{streams::default_key_prefix};
  // Protobuf types for showing payloads as JSON: descriptor sets (protoc
  // --descriptor_set_out=F --include_imports), or .proto files parsed at start-up with their
  // imports found under proto_paths. A type known from none of them is shown as base64.
  std::vector<std::filesystem::path> descriptor_sets;
  std::vector<std::filesystem::path> protos;
  std::vector<std::filesystem::path> proto_paths;
  // Host names the dashboard answers to besides IP literals and "localhost" ("*": any). A
  // request whose Host is another name is refused 403 "bad_host": a web page whose name an
  // attacker re-points at this address (DNS rebinding) cannot read the API. Add the names
  // people use to reach it ("queues.internal").
  std::vector<std::string> allowed_hosts;
  // Replays started from the page that may run at once; one more is refused 429. > 0.
  std::size_t max_replays = 4;
  // Finished replays kept for api/replays (the oldest is forgotten first). > 0.
  std::size_t kept_replays = 32;
  // Deadline of the Redis work of one API request; over it: 502 "redis_error". Positive.
  std::chrono::milliseconds request_timeout{5000};
  // Refused changes and failed replays at warning, every change made at info.
  logger log{};

  // Throws std::invalid_argument naming the first invalid field ("streamq
  // dashboard_config.max_replays: must be > 0").
  void validate() const;
};

class dashboard {
 public:
  // Validates `config`, loads its descriptor sets and .proto files (throws
  // boost::system::system_error naming a file that cannot be read: admin::errc), and registers
  // the dashboard's routes on `ep` (before ep's run(); std::invalid_argument when the prefix
  // is taken). `c` and `ep` must outlive this object; all three must use one executor (an
  // io_context run by one thread, or one strand).
  dashboard(client& c, http::endpoint& ep, dashboard_config config);
  // Destroy it only once run() has ended (or was never called) and `ep` no longer serves.
  ~dashboard();
  dashboard(const dashboard&) = delete;
  dashboard& operator=(const dashboard&) = delete;

  // The owner operation of the replays started from the page: they run while it runs (a
  // replay started before or after it is refused 503 "unavailable"). Until stop() or
  // cancellation; then it cancels every running replay and returns once all have ended (each
  // stops at its current request: at most request_timeout later). Run it once, on the
  // client's executor.
  boost::asio::awaitable<void> run();
  // run() for any completion token: completion void(error_code) (detail/async_op.hpp).
  // Cancellation (terminal only): as stop().
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_run(Token&& token = {}) {
    return streamq::detail::start_async(executor(), run(), std::forward<Token>(token));
  }
  // Asks run() to return as cancelling it does. Any thread.
  void stop() noexcept;

  [[nodiscard]] const dashboard_config& config() const noexcept;
  // Replays running now.
  [[nodiscard]] std::size_t running_replays() const noexcept;

 private:
  [[nodiscard]] boost::asio::any_io_executor executor() const;
  std::unique_ptr<detail::dashboard_impl> impl_;
};

}  // namespace streamq::dashboard

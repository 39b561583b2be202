#pragma once
// The Asio side shared by streamq-bench scenarios: running a body next to the client's owner
// operation, a group of worker coroutines to wait for, a stall watchdog, and rate pacing.

#include "bench_util.hpp"

#include <streamq/client.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>

namespace streamq::bench {

namespace asio = boost::asio;

// A scenario's measured part. It may throw: the exception becomes the run's failure.
using client_body = std::function<asio::awaitable<void>(streamq::client&)>;

// Makes an io_context (one thread) and a client for `url`, runs client.async_run() raced
// with `body`, and returns once both are finished and every coroutine spawned on the
// io_context has ended. The body's exceptions are caught inside the race (Asio's || only
// cancels the other side when one side completes without an exception), so a failing body
// still shuts the client down. Returns the failure's description, or "" on success; a
// client that stops on its own (fatal error) before the body ends is a failure too, even if
// the body, cancelled by the race, then returns normally.
std::string run_with_client(const std::string& url, const client_body& body);

// Coroutines spawned on one executor; wait() completes when all have ended. The first
// exception escaping a worker is kept (and the others still run to their end).
class worker_group {
 public:
  explicit worker_group(asio::any_io_executor ex);
  void spawn(asio::awaitable<void> worker);
  // Completes at once when none is running. Cancellable (e.g. by ||).
  asio::awaitable<void> wait();
  [[nodiscard]] std::size_t running() const noexcept { return running_; }
  [[nodiscard]] std::exception_ptr failure() const noexcept { return failure_; }

 private:
  asio::any_io_executor ex_;
  asio::steady_timer all_done_;
  std::size_t running_ = 0;
  std::exception_ptr failure_;
};

// Completes once `progress` has not changed for `limit` (checked a few times per limit).
// Race it with the work: `co_await (group.wait() || stall_watchdog(done, 10s))`.
asio::awaitable<void> stall_watchdog(const std::uint64_t& progress, std::chrono::seconds limit);

// Open-loop pacing shared by all coroutines: operation number `ticket` is due at
// start + ticket / rate. Taking tickets from one counter makes this a shared token bucket
// that never bursts above the rate, yet catches up when the client fell behind.
class pacer {
 public:
  explicit pacer(double ops_per_sec) : rate_(ops_per_sec) {}
  [[nodiscard]] bool enabled() const noexcept { return rate_ > 0; }
  void start(bench_clock::time_point t0) noexcept { start_ = t0; }
  [[nodiscard]] bench_clock::time_point due(std::uint64_t ticket) const noexcept {
    const double offset_s = static_cast<double>(ticket) / rate_;
    return start_ + std::chrono::duration_cast<bench_clock::duration>(
                        std::chrono::duration<double>(offset_s));
  }

 private:
  double rate_;
  bench_clock::time_point start_{};
};

// Runs one set-up request (DEL, XGROUP CREATE, ...) with a deadline; throws
// std::runtime_error naming `what` on a transport error, a timeout, or an error reply.
asio::awaitable<void> setup_exec(streamq::client& client, const resp::request& req,
                                 std::string_view what,
                                 std::chrono::seconds timeout = std::chrono::seconds(10));

}  // namespace streamq::bench

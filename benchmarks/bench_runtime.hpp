#pragma once
// The Asio side shared by streamq-bench scenarios: running a body next to the client's owner
// operation, a group of worker coroutines to wait for, a stall watchdog, rate pacing, and
// what the server says about a stream's consumer groups (the drain at the end of a run).

#include "bench_util.hpp"

#include <streamq/client.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::bench {

namespace asio = boost::asio;

// A scenario's measured part. It may throw: the exception becomes the run's failure.
using client_body = std::function<asio::awaitable<void>(streamq::client&)>;

// Makes an io_context (one thread) and a client for `config`, runs client.async_run() raced
// with `body`, and returns once both are finished and every coroutine spawned on the
// io_context has ended. The body's exceptions are caught inside the race (Asio's || only
// cancels the other side when one side completes without an exception), so a failing body
// still shuts the client down. Returns the failure's description, or "" on success; a
// client that stops on its own (fatal error) before the body ends is a failure too, even if
// the body, cancelled by the race, then returns normally.
std::string run_with_client(const redis::connection_config& config, const client_body& body);
// As above with client_config(url) (bench_cluster.hpp): cluster=auto unless the URL says.
std::string run_with_client(const std::string& url, const client_body& body);

// run_with_client() for scenario `name`: a failure is printed on stderr as
// "streamq-bench NAME: ..." and false returned.
bool run_scenario(std::string_view name, const redis::connection_config& config,
                  const client_body& body);
bool run_scenario(std::string_view name, const std::string& url, const client_body& body);

// Coroutines spawned on one executor; wait() completes when all have ended. The first
// exception escaping a worker is kept (and the others still run to their end).
class worker_group {
 public:
  explicit worker_group(asio::any_io_executor ex);
  void spawn(asio::awaitable<void> worker);
  // As above, cancelled (terminal) through `slot`, e.g. to stop a consumer's run().
  void spawn(asio::awaitable<void> worker, asio::cancellation_slot slot);
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

// One consumer group of a stream, as XINFO GROUPS reports it.
struct group_state {
  std::string name;
  std::uint64_t pending = 0;  // delivered to the group and not acknowledged (its PEL)
  std::string last_delivered_id;
};

// A stream and its groups, read by one XINFO STREAM and one XINFO GROUPS.
struct stream_state {
  std::string last_generated_id;  // the newest entry ever added
  std::vector<group_state> groups;

  [[nodiscard]] const group_state* group(std::string_view name) const noexcept;
  // The group has been delivered every entry that reached the stream and acknowledged them
  // all. The IDs are compared rather than XINFO's `lag`, which Redis 7.0 cannot always give.
  [[nodiscard]] bool drained(std::string_view name) const noexcept;
};

// Reads the state of the stream at `stream_key` (which must exist); throws
// std::runtime_error on a transport error, a timeout or an error reply.
asio::awaitable<stream_state> read_stream_state(streamq::client& client,
                                                const std::string& stream_key);

// The end of an e2e-style run, after the last publish: waits until each of `groups` is
// drained (see stream_state::drained) or `timeout` has passed, and returns whether they were.
// `tick` runs every millisecond (a scenario may note its measured end there, or throw to give
// up) and says whether the scenario's own counters expect the drain to be over: the server is
// then asked every 5 ms, otherwise every 50 ms, since counters cannot see entries whose
// publish failed after they reached the stream. A failed query is retried on the next one.
asio::awaitable<bool> wait_drained(streamq::client& client, const std::string& stream_key,
                                   std::span<const std::string> groups,
                                   std::chrono::seconds timeout, const std::function<bool()>& tick);
// As above for several streams (the topics of one run): each of `groups` drained on each.
asio::awaitable<bool> wait_drained(streamq::client& client,
                                   std::span<const std::string> stream_keys,
                                   std::span<const std::string> groups,
                                   std::chrono::seconds timeout, const std::function<bool()>& tick);

}  // namespace streamq::bench

#pragma once
// Prometheus metrics for streamq components (docs/observability.md lists every metric).
//
//   streamq::metrics::metrics m(io.get_executor());         // or pass your own registry
//   auto w1 = m.watch(publisher);                            // per-topic publish counters
//   auto w2 = m.watch(consumer);                             // per topic and group
//   auto w5 = m.watch(member);                               // a partitioned_consumer, alike
//   auto w3 = m.watch(client, "main");                       // connection state, reconnects
//   auto w4 = m.watch_topic(client, "orders", "billing");    // length, pending, lag, DLQ...
//   co_spawn(ex, m.async_run(asio::use_awaitable), ...);    // the server-side sampler
//   std::string body = m.render();                           // GET /metrics
//   auto r = m.ready();                                      // GET /readyz: r.ok, r.checks
//
// The hot path does not touch prometheus-cpp: the components count with relaxed atomics as
// they always do (stats(), topic_stats()), and refresh() turns what they counted since the last
// refresh into counter increments, gauge values and histogram observations. refresh() runs
// at every render() and at every sampler tick. Server-side gauges (stream length, pending,
// lag, oldest pending age, dead letters, delayed tasks) come from the sampler only: one owned
// coroutine (run()) queries each watched topic every `sample_interval`, never per scrape.
//
// Lifetimes: watch() returns a watch_handle; the watched object must outlive it (destroy or
// reset() the handle first). Dropping a handle takes a last reading of the object (its final
// counts are kept: counters never go down) and removes its gauges. A handle may outlive the
// metrics object (it then does nothing). The clients of watch_topic() must also outlive any
// running run(): a sample in flight uses them.
//
// Thread safety: every member function may be called from any thread; one mutex guards the
// watches and the registry updates (prometheus-cpp's own objects are thread-safe too).
// run() works on the executor given at construction: with a multi-threaded io_context, pass a
// strand.

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/log.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Registry;
}

namespace streamq::streams {
class consumer;
class partitioned_consumer;
class publisher;
class scheduler;
}  // namespace streamq::streams

namespace streamq::metrics {

namespace detail {
struct metrics_state;
}

struct metrics_config {
  // How often the sampler queries the watched topics (and refreshes everything). Within
  // [100 ms, 1 h].
  std::chrono::milliseconds sample_interval{15'000};
  // Most time one topic's sample may take (its requests, lag counting included); a slower one
  // counts as a sampler error. Positive, at most sample_interval.
  std::chrono::milliseconds sample_timeout{5'000};
  // A group's lag is counted exactly (XRANGE pages after its last-delivered ID) up to this many
  // entries; past it the gauge shows a lower bound (lib/metrics/lag.hpp). At least 1.
  std::uint64_t lag_count_limit = 10'000;
  // Entries one counting request reads. Within [1, lag_count_limit].
  std::uint64_t lag_page = 1'000;
  // ready() fails once this many sampler ticks in a row had a failed topic. At least 1.
  std::uint32_t sampler_failures_before_unready = 3;
  // ready() fails for a consumer whose last failed request (consumer_health::last_error_at)
  // is more recent than this; zero: a consumer's errors do not affect readiness.
  std::chrono::milliseconds consumer_error_window{30'000};
  // Where sampler errors are logged (component "metrics", event "sample_failed").
  logger log{};
  // Throws std::invalid_argument naming the first invalid field.
  void validate() const;
};

// One readiness check: what was checked ("client main", "consumer billing",
// "partitioned consumer billing", "scheduler", "sampler") and, when it failed, why.
struct readiness_check {
  std::string name;
  bool ok = true;
  std::string reason;
};
struct readiness {
  bool ok = true;  // every check passed (true with nothing watched)
  std::vector<readiness_check> checks;
};

// Stops watching on destruction (see the lifetime rules above). Movable, not copyable.
class watch_handle {
 public:
  watch_handle() = default;
  watch_handle(std::weak_ptr<detail::metrics_state> state, std::uint64_t id) noexcept
      : state_(std::move(state)), id_(id) {}
  watch_handle(watch_handle&& other) noexcept;
  watch_handle& operator=(watch_handle&& other) noexcept;
  watch_handle(const watch_handle&) = delete;
  watch_handle& operator=(const watch_handle&) = delete;
  ~watch_handle();
  // Stops watching now (as destruction does); then empty.
  void reset() noexcept;
  [[nodiscard]] bool active() const noexcept { return id_ != 0; }

 private:
  std::weak_ptr<detail::metrics_state> state_;
  std::uint64_t id_ = 0;
};

class metrics {
 public:
  // `registry`: the application's, to expose streamq's metrics with its own; null: a new one.
  // Throws std::invalid_argument for an invalid configuration.
  explicit metrics(boost::asio::any_io_executor ex, metrics_config config = {},
                   std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  [[nodiscard]] const std::shared_ptr<prometheus::Registry>& registry() const noexcept;
  [[nodiscard]] const metrics_config& config() const noexcept;

  // Publishes through publish/publish_envelope(_checked)/publish_batch, per topic.
  [[nodiscard]] watch_handle watch(streams::publisher& p);
  // Deliveries, acks, retries, dead letters, claims, losses, handler latency and in-flight
  // handlers per subscribed topic and the consumer's group; running and errors for ready().
  [[nodiscard]] watch_handle watch(streams::consumer& c);
  // The same families for a member of a group on a partitioned topic, labelled with the
  // partitioned topic (never a partition's name: bounded cardinality) and the group, summed
  // over its partitions' consumers, stopped ones included; the partitions it holds
  // (streamq_partitioned_consumer_partitions_owned); "partitioned consumer <group>" in ready()
  // (as a consumer's check, its heartbeat and lease failures counting as errors).
  [[nodiscard]] watch_handle watch(streams::partitioned_consumer& c);
  // Recurring fires, delayed tasks moved, poll errors; health for ready().
  [[nodiscard]] watch_handle watch(streams::scheduler& s);
  // The client's shared connection as `name` (the `client` label: a few fixed names, e.g.
  // "main"; in cluster mode the first seed's connection, and each master's connection with
  // a `node` label, "host:port", as well).
  [[nodiscard]] watch_handle watch(client& c, std::string name);
  // Samples `topic` and `group` through `c` every sample_interval. Throws
  // std::invalid_argument for an invalid topic, group or key prefix.
  [[nodiscard]] watch_handle watch_topic(client& c, std::string topic, std::string group);
  [[nodiscard]] watch_handle watch_topic(client& c, std::string topic, std::string group,
                                         std::string key_prefix);

  // Reads every watched component into the registry (the sampled gauges keep their last
  // sample).
  void refresh();
  // refresh(), then the registry in the Prometheus text exposition format (version 0.0.4).
  [[nodiscard]] std::string render();
  // Watched clients connected; watched consumers running on a connected client with no error
  // within consumer_error_window; watched schedulers healthy; the sampler not failing for
  // sampler_failures_before_unready ticks in a row.
  [[nodiscard]] readiness ready() const;

  // The sampler, the owner operation: samples every watched topic, refreshes, waits
  // sample_interval, until cancelled or stop(); then returns (no error). Sampling errors
  // (timeouts, refusals, a server gone) are counted (streamq_sampler_errors_total), logged
  // and shown by ready(); never thrown. Run it once at a time (a second concurrent run()
  // throws std::logic_error).
  boost::asio::awaitable<void> run();
  // Asks a running run() to return (within one sample_timeout). Any thread.
  void stop() noexcept;
  // run() for any completion token; completion void(error_code). Cancellation (terminal)
  // stops it as stop() does.
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_run(Token&& token = {}) {
    return streamq::detail::start_async(ex_, run(), std::forward<Token>(token));
  }

 private:
  boost::asio::any_io_executor ex_;
  std::shared_ptr<detail::metrics_state> state_;
};

}  // namespace streamq::metrics

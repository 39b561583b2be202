#pragma once
// Periodic retention: a background component that trims each configured topic with
// trim_topic() (maintenance.hpp) every interval, so that streams stay bounded without the
// application calling trim_topic() itself. The same safety holds: unless a topic's policy
// sets trim_unacknowledged, nothing a consumer group still needs is ever trimmed.
//
//   trimmer_config config;
//   config.topics.push_back(topic_retention{"orders", retention_policy{.max_length = 100'000}});
//   topic_trimmer trimmer(client, config);  // throws std::invalid_argument for a bad config
//   co_await trimmer.run();                  // until stop() or cancelled; then it returns
//
// max_age is measured by the server's clock (trim_topic reads TIME in its script).

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/log.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/last_error.hpp>
#include <streamq/streams/maintenance.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace streamq::streams {

namespace detail {
class trimmer_impl;
}  // namespace detail

// One topic and how much of it to keep.
struct topic_retention {
  std::string topic{};        // a valid topic name (names.hpp), listed once per trimmer
  retention_policy policy{};  // needs max_length > 0 or max_age > 0 (or both)
};

// Something an operator should hear about. None of these stop the trimmer. Each also goes to
// trimmer_config::log.
struct trimmer_event {
  enum class kind : std::uint8_t {
    // Trimming `topic` failed (NOPERM, WRONGTYPE, connection trouble, a timeout, ...); it is
    // tried again next round. Reported when it starts, when the error changes, then at most
    // once per error_report_interval while it persists; `failures` counts what it stands for.
    trim_failed,
    // Trimming `topic` works again; `failures` is how many failed.
    trim_recovered,
  };
  kind what;
  std::string topic;
  error_code error;  // why (clear for trim_recovered)
  std::string detail;
  std::uint64_t failures = 0;
};

struct trimmer_config {
  // The topics to trim, each with its own policy. At least one; no topic twice.
  std::vector<topic_retention> topics{};
  // How often every topic is trimmed: from the start of one round to the start of the next
  // (a round that takes longer is followed at once by the next). The first round runs as
  // soon as run() starts. Must be positive.
  std::chrono::milliseconds interval{30'000};
  // Bounds each trim call (one EVAL). One that takes longer counts as an error
  // (client_errc::timeout); its script may still run on the server. Must be positive.
  std::chrono::milliseconds trim_timeout{5'000};
  // Receives trimmer_event reports on run()'s executor; must not block. An exception from it
  // is logged and dropped. Empty: the events still reach `log`.
  std::function<void(const trimmer_event&)> on_event{};
  // Where events and errors are written; empty: one JSON object per line on stderr.
  logger log{};
  // A failure that repeats (same topic, same error) is reported at most once per this long;
  // health() and stats() show every one at once.
  std::chrono::milliseconds error_report_interval{std::chrono::minutes(1)};

  // Every duration above, and each policy's max_age, is at most this long: longer is surely a
  // mistake, and a deadline computed from one near milliseconds::max() would overflow.
  static constexpr std::chrono::milliseconds max_duration{std::chrono::days(3650)};

  // Throws std::invalid_argument naming the first invalid field, e.g.
  // "streamq trimmer_config.topics[1].policy: ...".
  void validate() const;
  // Leading part of every Redis key this component uses (names.hpp, default_key_prefix): the
  // same for every component of one deployment. Default "streamq".
  std::string key_prefix{default_key_prefix};
};

// Counters of one topic.
struct topic_trim_stats {
  std::string topic;
  std::uint64_t entries_trimmed = 0;  // entries removed from its stream
  std::uint64_t errors = 0;           // trim calls that failed
};

struct trimmer_stats {
  std::uint64_t rounds = 0;           // rounds finished (successful or not)
  std::uint64_t entries_trimmed = 0;  // entries removed, all topics together
  std::uint64_t errors = 0;           // trim calls that failed (each is retried next round)
  // The most recent failure; clear until one happens. When a trim call timed out while the
  // client was not connected, this is why the connection failed (e.g. connection_refused),
  // which says more than client_errc::timeout.
  error_code last_error;
  std::vector<topic_trim_stats> topics;  // in the order of trimmer_config::topics
};

// running, connection, `failing` (the latest trim of some topic failed) and the last error.
using trimmer_health = component_health;

class topic_trimmer {
 public:
  // Throws std::invalid_argument (see trimmer_config::validate). `c` must outlive this.
  topic_trimmer(client& c, trimmer_config config);
  ~topic_trimmer();
  topic_trimmer(const topic_trimmer&) = delete;
  topic_trimmer& operator=(const topic_trimmer&) = delete;

  // The owner operation: trims every topic (in order, one EVAL each) at once, then every
  // config().interval, until cancelled.
  //
  // Errors: none are thrown for trimming. A failed trim call is counted in stats(), shown by
  // health(), reported (trimmer_event, config().log) and tried again on the next round. When the
  // connection fails (transport error or timeout, as opposed to an error reply from Redis), the
  // rest of that round is skipped: the other topics would only wait on the same connection. Throws
  // boost::system::system_error with asio::error::already_started if run() is already running;
  // std::bad_alloc passes through.
  //
  // Cancellation (per-operation, any type) and stop(): run() returns normally, promptly, also
  // when the cancellation arrives while it is not suspended. A trim in flight is given up:
  // withdrawn if not yet written, else abandoned (its script may still run on the server; it never
  // trims more than the policy allows). A cancelled trim is not counted as an error. The
  // trimmer may be run again afterwards.
  //
  // Executor: run it on the client's executor (e.g. co_spawn(client.get_executor(), ...)).
  // Lifetimes: this object and the client must outlive the operation. Thread safety: one
  // run() at a time; stats() from anywhere.
  boost::asio::awaitable<void> run();
  // run() for any completion token (use_awaitable by default, as_tuple, use_future,
  // deferred, a callback): completion void(error_code) (detail/async_op.hpp).
  // Cancellation (terminal only; partial and total are ignored): as described at run() above.
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_run(Token&& token = {}) {
    return streamq::detail::start_async(executor(), run(), std::forward<Token>(token));
  }

  // Asks run() to return, as cancellation does. Any thread. Called while no run() is active,
  // it makes the next run() return at once; a run() that returned has forgotten the request.
  void stop() noexcept;

  // A snapshot of the counters. Safe from any thread.
  [[nodiscard]] trimmer_stats stats() const;
  // Safe from any thread.
  [[nodiscard]] trimmer_health health() const;
  [[nodiscard]] const trimmer_config& config() const noexcept;

 private:
  boost::asio::any_io_executor executor() const;

  std::unique_ptr<detail::trimmer_impl> impl_;
};

}  // namespace streamq::streams

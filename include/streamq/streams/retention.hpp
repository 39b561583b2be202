#pragma once
// Periodic retention: a background component that trims each configured topic with
// trim_topic() (maintenance.hpp) every interval, so that streams stay bounded without the
// application calling trim_topic() itself. The same safety holds: unless a topic's policy
// sets trim_unacknowledged, nothing a consumer group still needs is ever trimmed.
//
//   trimmer_config config;
//   config.topics.push_back(topic_retention{"orders", retention_policy{.max_length = 100'000}});
//   topic_trimmer trimmer(client, config);  // throws std::invalid_argument for a bad config
//   co_await trimmer.run();                  // until cancelled; then it returns normally

#include <streamq/client.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/maintenance.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace streamq::streams {

// One topic and how much of it to keep.
struct topic_retention {
  std::string topic{};        // a valid topic name (names.hpp), listed once per trimmer
  retention_policy policy{};  // needs max_length > 0 or max_age > 0 (or both)
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

  // Throws std::invalid_argument naming the first invalid field, e.g.
  // "streamq trimmer_config.topics[1].policy: ...".
  void validate() const;
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

class topic_trimmer {
 public:
  // Throws std::invalid_argument (see trimmer_config::validate). `c` must outlive this.
  topic_trimmer(client& c, trimmer_config config);
  topic_trimmer(const topic_trimmer&) = delete;
  topic_trimmer& operator=(const topic_trimmer&) = delete;

  // The owner operation: trims every topic (in order, one EVAL each) at once, then every
  // config().interval, until cancelled.
  //
  // Errors: none are thrown for trimming. A failed trim call is counted in stats() and tried
  // again on the next round. When the connection fails (transport error or timeout, as
  // opposed to an error reply from Redis), the rest of that round is skipped: the other
  // topics would only wait on the same connection. Throws boost::system::system_error with
  // asio::error::already_started if run() is already running; std::bad_alloc passes through.
  //
  // Cancellation (per-operation, any type): run() returns normally, promptly, also when the
  // cancellation arrives while it is not suspended. A trim in flight is given up: withdrawn
  // if not yet written, else abandoned (its script may still run on the server; it never
  // trims more than the policy allows). A cancelled trim is not counted as an error. The
  // trimmer may be run again afterwards.
  //
  // Executor: run it on the client's executor (e.g. co_spawn(client.get_executor(), ...)).
  // Lifetimes: this object and the client must outlive the operation. Thread safety: one
  // run() at a time; stats() from anywhere.
  boost::asio::awaitable<void> run();

  // A snapshot of the counters. Safe from any thread.
  [[nodiscard]] trimmer_stats stats() const;
  [[nodiscard]] const trimmer_config& config() const noexcept { return config_; }

 private:
  // One round; returns false if it was cut short by cancellation.
  boost::asio::awaitable<bool> round();
  void record_failure(std::size_t topic, error_code ec);

  client& client_;
  trimmer_config config_;
  std::vector<topic_keys> keys_;  // per topic, in config order
  bool running_ = false;          // touched by run() only
  mutable std::mutex stats_mutex_;
  trimmer_stats stats_;
};

}  // namespace streamq::streams

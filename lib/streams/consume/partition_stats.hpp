#pragma once
// What a partitioned_consumer's partition consumers counted, readable from any thread (for
// metrics::watch and readiness), while the partitions come and go on the client's executor.
// The running consumers are read when asked (their counters are atomics); a retired one's
// final counts are folded into totals, so the member's counters never go down. The mutex is
// taken when a partition's consumer starts or retires and when the totals are read: never per
// message.

#include <streamq/streams/consumer.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// A failed request and when it failed (consumer_health's last_error fields).
struct failure_note {
  error_code code;
  std::string detail;
  std::chrono::system_clock::time_point at{};
};

// Adds `from`'s counters (handler latencies included) to `to`'s; in_flight only when
// `running`: a retired consumer has no handler running.
void add_counts(topic_consumer_stats& to, const topic_consumer_stats& from, bool running);
// Adds every counter of `s` to `to`'s (in_flight included: the caller subtracts what ended).
void add_counts(consumer_stats& to, const consumer_stats& s);
// Keeps in `to` whichever of the two failures came last (none: `code` unset).
void keep_latest(failure_note& to, const failure_note& from);

class partition_stats {
 public:
  // `c` started running a partition (subscribed: its topic_stats() is safe from now on).
  void started(const consumer& c);
  // `c`'s run() ended: its final counts and last failure are kept; it is not read again.
  void retired(const consumer& c);
  // A failure of the member itself (heartbeat, lease, drain check, a partition's run()).
  void failed(const error_code& code, std::string detail);

  // The partition consumers' counters, summed, under `topic` (the partitioned topic's name).
  [[nodiscard]] topic_consumer_stats topic_stats(const std::string& topic) const;
  // in_flight, errors (the consumers' failed requests and the member's) and the last failure
  // of any of them; running and the connection are the caller's to fill in.
  [[nodiscard]] consumer_health health() const;

 private:
  mutable std::mutex mutex_;
  std::vector<const consumer*> live_;
  topic_consumer_stats retired_counts_;
  std::uint64_t retired_errors_ = 0;
  std::uint64_t member_errors_ = 0;
  failure_note last_;  // of the member and the retired consumers
};

}  // namespace streamq::streams::detail

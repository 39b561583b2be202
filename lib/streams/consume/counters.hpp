#pragma once
// The consumer's counters: written only on the consumer's executor, read from any thread
// (consumer::stats()). A single writer needs no read-modify-write instruction: each update is
// a relaxed load and store of an atomic, as cheap as a plain increment, and a reader on
// another thread sees whole values, never torn ones.

#include <streamq/streams/consumer.hpp>

#include <array>
#include <atomic>
#include <cstdint>

namespace streamq::streams::detail {

class counter {
 public:
  void operator++() noexcept { add(1); }
  void operator--() noexcept { sub(1); }
  void operator+=(std::uint64_t n) noexcept { add(n); }
  void operator-=(std::uint64_t n) noexcept { sub(n); }
  void add(std::uint64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(std::uint64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  void reset() noexcept { value_.store(0, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }
  operator std::uint64_t() const noexcept { return get(); }  // NOLINT: reads like the number

 private:
  std::atomic<std::uint64_t> value_{0};
};

struct consumer_counters {
  counter delivered, acked, retried, retries_taken, dropped, ack_failures, errors, dead_lettered,
      claimed, lost, data_loss_events, in_flight, claims_refreshed, ownership_lost,
      skipped_processed, outputs_committed, outputs_relayed;
  std::array<counter, 32> handler_latency_log2_us{};

  [[nodiscard]] consumer_stats snapshot() const noexcept {
    consumer_stats s;
    s.delivered = delivered;
    s.acked = acked;
    s.retried = retried;
    s.retries_taken = retries_taken;
    s.dropped = dropped;
    s.ack_failures = ack_failures;
    s.errors = errors;
    s.dead_lettered = dead_lettered;
    s.claimed = claimed;
    s.lost = lost;
    s.data_loss_events = data_loss_events;
    s.in_flight = in_flight;
    s.claims_refreshed = claims_refreshed;
    s.ownership_lost = ownership_lost;
    s.skipped_processed = skipped_processed;
    s.outputs_committed = outputs_committed;
    s.outputs_relayed = outputs_relayed;
    for (std::size_t i = 0; i < s.handler_latency_log2_us.size(); ++i)
      s.handler_latency_log2_us[i] = handler_latency_log2_us[i];
    return s;
  }
};

// The bucket of a run time in consumer_stats::handler_latency_log2_us: floor(log2(µs)),
// runs under 1 µs in bucket 0, the longest in the last one.
[[nodiscard]] inline std::size_t latency_bucket(std::uint64_t us, std::size_t buckets) noexcept {
  std::size_t bucket = 0;
  for (auto v = us > 0 ? us : 1; v > 1; v >>= 1) ++bucket;
  return bucket < buckets ? bucket : buckets - 1;
}

// One subscription's counters (topic_consumer_stats), written on the consumer's executor only.
struct topic_counters {
  counter delivered, acked, retried, dead_lettered, claimed, lost, in_flight, latency_sum_us;
  std::array<counter, 32> handler_latency_log2_us{};

  void record_latency(std::uint64_t us) noexcept {
    ++handler_latency_log2_us[latency_bucket(us, handler_latency_log2_us.size())];
    latency_sum_us += us;
  }
  [[nodiscard]] topic_consumer_stats snapshot(const std::string& topic) const {
    topic_consumer_stats s;
    s.topic = topic;
    s.delivered = delivered;
    s.acked = acked;
    s.retried = retried;
    s.dead_lettered = dead_lettered;
    s.claimed = claimed;
    s.lost = lost;
    s.in_flight = in_flight;
    s.handler_latency_sum_us = latency_sum_us;
    for (std::size_t i = 0; i < s.handler_latency_log2_us.size(); ++i)
      s.handler_latency_log2_us[i] = handler_latency_log2_us[i];
    return s;
  }
};

}  // namespace streamq::streams::detail

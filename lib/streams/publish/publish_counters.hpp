#pragma once
// One topic's publish counters (publisher::topic_stats()). Unlike the consumer's, several
// threads publish at once: each update is one relaxed fetch_add, and a reader sees whole
// values, not one snapshot of all of them.

#include <streamq/streams/error.hpp>
#include <streamq/streams/publisher.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace streamq::streams::detail {

struct publish_counters {
  using counter = std::atomic<std::uint64_t>;
  counter accepted{0};  // confirmed by Redis, duplicates included
  counter failed{0}, indeterminate{0}, duplicates{0}, latency_sum_us{0};
  std::array<counter, 32> latency_log2_us{};

  static void add(counter& c, std::uint64_t n) noexcept { c.fetch_add(n, std::memory_order_relaxed); }

  void observe(std::chrono::steady_clock::duration took) noexcept {
    const auto us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(took).count());
    std::size_t bucket = 0;
    for (auto v = us > 0 ? us : 1; v > 1 && bucket + 1 < latency_log2_us.size(); v >>= 1) ++bucket;
    add(latency_log2_us[bucket], 1);
    add(latency_sum_us, us);
  }
  void succeeded(std::uint64_t messages, std::chrono::steady_clock::duration took) noexcept {
    add(accepted, messages);
    observe(took);
  }
  // As the publisher's own counters: a reply of another shape is not a refusal.
  void failed_with(const error_code& ec, std::uint64_t messages,
                   std::chrono::steady_clock::duration took) noexcept {
    if (ec == errc::publish_indeterminate)
      add(indeterminate, messages);
    else if (ec != errc::malformed_entry)
      add(failed, messages);
    observe(took);
  }

  [[nodiscard]] publisher_topic_stats snapshot(const std::string& topic) const {
    publisher_topic_stats s;
    s.topic = topic;
    s.duplicates = duplicates.load(std::memory_order_relaxed);
    // A duplicate is noted before its call completes: for that moment it is not yet in
    // `accepted`.
    const auto confirmed = accepted.load(std::memory_order_relaxed);
    s.published = confirmed > s.duplicates ? confirmed - s.duplicates : 0;
    s.failed = failed.load(std::memory_order_relaxed);
    s.indeterminate = indeterminate.load(std::memory_order_relaxed);
    s.latency_sum_us = latency_sum_us.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < s.latency_log2_us.size(); ++i)
      s.latency_log2_us[i] = latency_log2_us[i].load(std::memory_order_relaxed);
    return s;
  }
};

}  // namespace streamq::streams::detail

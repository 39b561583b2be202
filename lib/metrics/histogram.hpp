#pragma once
// streamq's latency counters (consumer_stats::handler_latency_log2_us,
// publisher_topic_stats::latency_log2_us) as Prometheus histograms, pure (tests:
// test/unit/metrics_naming_test.cpp). Bucket b of the 32 counts durations in [2^b, 2^(b+1))
// microseconds (bucket 0 also those under 1 µs, bucket 31 everything from 2^31 µs on), so
// the Prometheus upper bound ("le") of bucket b is 2^(b+1) µs in seconds for b < 31 and +Inf
// for the last.

#include <array>
#include <cstdint>
#include <vector>

namespace streamq::metrics::detail {

inline constexpr std::size_t log2_buckets = 32;
using log2_counts = std::array<std::uint64_t, log2_buckets>;

// The 31 finite bounds, ascending, in seconds: 2e-6, 4e-6, ..., 2^31e-6.
[[nodiscard]] std::vector<double> log2_us_bounds_seconds();

// What was added between two readings of the same counters, as the bucket increments of
// Histogram::ObserveMultiple (32 values: the 31 finite buckets, then +Inf). A bucket that went
// down (the component was replaced) counts its new value.
[[nodiscard]] std::vector<double> bucket_increments(const log2_counts& before,
                                                    const log2_counts& now);

// A counter's increase between two readings; a smaller reading (a new component under the
// same watch) counts from zero.
[[nodiscard]] constexpr std::uint64_t increase(std::uint64_t before, std::uint64_t now) noexcept {
  return now >= before ? now - before : now;
}

}  // namespace streamq::metrics::detail

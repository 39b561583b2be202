#include "histogram.hpp"

namespace streamq::metrics::detail {

std::vector<double> log2_us_bounds_seconds() {
  std::vector<double> bounds;
  bounds.reserve(log2_buckets - 1);
  for (std::size_t b = 0; b + 1 < log2_buckets; ++b)
    bounds.push_back(static_cast<double>(std::uint64_t{2} << b) / 1e6);
  return bounds;
}

std::vector<double> bucket_increments(const log2_counts& before, const log2_counts& now) {
  std::vector<double> out(log2_buckets);
  for (std::size_t b = 0; b < log2_buckets; ++b)
    out[b] = static_cast<double>(increase(before[b], now[b]));
  return out;
}

}  // namespace streamq::metrics::detail

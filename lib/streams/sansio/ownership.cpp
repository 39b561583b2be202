#include "sansio/ownership.hpp"

#include <algorithm>

namespace streamq::streams::detail {

std::vector<std::uint32_t> assigned_partitions(std::span<const std::string> members,
                                               std::string_view me, std::uint32_t partitions) {
  std::vector<std::string_view> sorted(members.begin(), members.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const auto it = std::find(sorted.begin(), sorted.end(), me);
  std::vector<std::uint32_t> mine;
  if (it == sorted.end()) return mine;
  const auto index = static_cast<std::uint32_t>(it - sorted.begin());
  const auto count = static_cast<std::uint32_t>(sorted.size());
  for (std::uint32_t p = index; p < partitions; p += count) mine.push_back(p);
  return mine;
}

ownership_plan plan_ownership(std::span<const std::uint32_t> assigned,
                              std::span<const std::uint32_t> held) {
  std::vector<std::uint32_t> a(assigned.begin(), assigned.end());
  std::vector<std::uint32_t> h(held.begin(), held.end());
  std::sort(a.begin(), a.end());
  std::sort(h.begin(), h.end());
  ownership_plan plan;
  std::set_difference(a.begin(), a.end(), h.begin(), h.end(), std::back_inserter(plan.acquire));
  std::set_difference(h.begin(), h.end(), a.begin(), a.end(), std::back_inserter(plan.release));
  std::set_intersection(h.begin(), h.end(), a.begin(), a.end(), std::back_inserter(plan.renew));
  return plan;
}

std::chrono::steady_clock::time_point lease_valid_until(std::chrono::steady_clock::time_point sent,
                                                        std::chrono::milliseconds ttl,
                                                        std::chrono::milliseconds margin) noexcept {
  return sent + ttl - margin;
}

}  // namespace streamq::streams::detail

#pragma once
// Which partitions of a partitioned topic one member of a consumer group should own, and what
// it must do to get there: pure functions (tests: test/unit/ownership_rules_test.cpp). The
// runner (consume/partitioned_consumer.cpp) takes, renews and gives up the leases.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// The partitions `me` should own among `partitions`, given the group's live members (any
// order; `me` need not be among them): partition p goes to the member at p mod M in name
// order, so every member computes the same spread from the same list, and shares differ by
// one at most. Empty when `me` is not a live member. Ascending.
[[nodiscard]] std::vector<std::uint32_t> assigned_partitions(std::span<const std::string> members,
                                                             std::string_view me,
                                                             std::uint32_t partitions);

// One tick's work: partitions to take (assigned, not held), to give up (held, no longer
// assigned) and to keep (held and assigned: renew their leases). Ascending each.
struct ownership_plan {
  std::vector<std::uint32_t> acquire;
  std::vector<std::uint32_t> release;
  std::vector<std::uint32_t> renew;
};
[[nodiscard]] ownership_plan plan_ownership(std::span<const std::uint32_t> assigned,
                                            std::span<const std::uint32_t> held);

// Until when (local clock) a lease granted for `ttl` by a request sent at `sent` may be
// relied on: the server counted `ttl` from a moment after `sent`, so sent + ttl is never
// late by the server's measure; `margin` more is kept back for clock rate differences and for
// stopping the partition's handlers in time.
[[nodiscard]] std::chrono::steady_clock::time_point lease_valid_until(
    std::chrono::steady_clock::time_point sent, std::chrono::milliseconds ttl,
    std::chrono::milliseconds margin) noexcept;

}  // namespace streamq::streams::detail

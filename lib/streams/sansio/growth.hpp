#pragma once
// The rules of growing a partitioned topic while it is used (docs/partitions.md, "Growing a
// topic"), as pure functions (tests: test/unit/growth_rules_test.cpp): whether a new
// partition's consumer may start (the group drained the old partition it takes keys from past
// that partition's cut), and which count a publisher routes with after a partition refused its
// publish. The scripts (set_partitions-1, cut_partition-2, finish_growth-1,
// publish_partition-2+) hold the server-side half of the protocol.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streamq::streams::detail {

// An entry ID "<ms>-<seq>" read as two numbers; nothing for anything else.
struct entry_id {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  friend auto operator<=>(const entry_id&, const entry_id&) = default;
};
[[nodiscard]] std::optional<entry_id> parse_entry_id(std::string_view text) noexcept;

// Where a group stands with an old partition p, for the new partitions that take keys from it.
enum class drain_state : std::uint8_t {
  drained,      // every entry of p up to the cut was delivered to the group and none is pending
  no_group,     // the group has no consumer group on p yet (p's consumer has not started)
  undelivered,  // the group's last-delivered ID is below the cut (or unreadable)
  pending,      // an entry at or below the cut is still pending (running, or waiting for a retry)
};

// The rule: `cut` is p's cut; `group_exists`, `last_delivered` and `first_pending` (the
// group's first pending entry at or below the cut, if any) what XINFO GROUPS and XPENDING
// said, read in that order. A cut of "0-0" (p had no entries) is drained at once. Dead letters
// are acknowledged, so they never hold it; retries stay pending, so they do.
[[nodiscard]] drain_state decide_drain(std::string_view cut, bool group_exists,
                                       std::string_view last_delivered,
                                       const std::optional<std::string>& first_pending) noexcept;

// True when a new partition's consumer need not ask at all: it has no origin, or its old
// partition's cut is "0-0".
[[nodiscard]] bool nothing_to_drain(std::string_view cut) noexcept;

// How many times partitioned_publisher routes one message again after a partition refused it
// (errc::partitions_changed): each refusal leads to a newer count (reroute_count), one growth
// at a time, so more refusals mean growths faster than a publish; then the error reaches the
// caller.
inline constexpr int max_reroutes = 4;

// The count to route one refused message with next, having routed it with `routed`: the
// topic's count read again (`reread`) when that is newer (a growth finished meanwhile), else
// the count the refusing partition named (`reported`: a growth under way cut that partition,
// so the message's key no longer goes there, while the topic still shows the old count).
// Nothing when neither is newer than `routed` (no progress: give up). The result is for that
// message only and never kept as the topic's count: until the growth finishes, another key's
// partition may not be cut yet, and a key must not reach its new partition while its old one
// still takes the old count (a later message of the key could land there, below the cut).
[[nodiscard]] std::optional<std::uint32_t> reroute_count(std::uint32_t routed,
                                                         std::uint32_t reread,
                                                         std::uint32_t reported) noexcept;

}  // namespace streamq::streams::detail

#pragma once
// A consumer group's lag (entries of the stream not yet delivered to the group), computed by
// streamq: Redis 7.0's XINFO GROUPS `lag` is null after an XDEL ahead of the group, and
// wrong after trimming: entries-read is carried across a trim past the group (measured on
// 7.0.15: 10 entries, 3 read, XTRIM MAXLEN 5, one more read: entries-read 4, lag 6, while 4
// entries are undelivered), so entries-added minus entries-read cannot be trusted either once
// the stream was ever trimmed. The rules, pure (tests: test/unit/metrics_lag_test.cpp), used by
// the metrics sampler and the admin library through commands/sampling_commands.hpp:
//  1. an empty stream, or a group at or past the last generated ID: 0;
//  2. a group behind the first entry still in the stream (trimmed past it): every entry is
//     undelivered, the length;
//  3. otherwise the entries after the group's last-delivered ID are counted (XRANGE pages,
//     commands/sampling_requests.hpp), up to a limit: exact;
//  4. past the limit, Redis's estimate (entries-added - entries-read, else the length),
//     clamped to [limit, length]: a lower bound that is at least the limit.

#include "commands/sampling_requests.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace streamq::streams::detail {

// What to do for one group: a known lag, or count the entries after `count_after`.
struct lag_plan {
  std::optional<std::uint64_t> known;
  std::string count_after;
  friend bool operator==(const lag_plan&, const lag_plan&) = default;
};
[[nodiscard]] lag_plan plan_lag(const stream_summary& stream, const group_position& group);

// The lag after counting: `counted` entries followed the group's position, `complete` when the
// count reached the end of the stream before `limit`.
[[nodiscard]] std::uint64_t counted_lag(const stream_summary& stream,
                                        const group_position& group, std::uint64_t counted,
                                        bool complete, std::uint64_t limit);

// The age of an entry ID's creation at `now_ms` (unix ms), in milliseconds; 0 for an ID that
// is not "<ms>-<seq>" or lies in the future (clock skew between client and server).
[[nodiscard]] std::uint64_t id_age_ms(const std::string& id, std::int64_t now_ms);
// The same in seconds.
[[nodiscard]] double id_age_seconds(const std::string& id, std::int64_t now_ms);

}  // namespace streamq::streams::detail

#pragma once
// The commands of a partitioned topic's growth (docs/partitions.md, "Growing a topic") as pure
// functions, with no Asio, decoded by the rules delivery_requests.hpp states for every
// decoder: the steps set_partitions takes between set_partitions-1.lua's start of a growth and
// its end (cut_partition-2.lua per old partition, finish_growth-1.lua), and what a
// partitioned_consumer reads before it consumes a new partition (which old partition it
// waits for, and how far the group has drained that one).

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include "delivery_requests.hpp"  // command_result

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace streamq::streams::detail {

// cut_partition-2.lua on one old partition (`partition`: "T#N"'s keys) of a growth from `from`
// to `to`: from now on it takes only publishes routed with `to`; records its cut.
// Reply: [1, cut] (also on a rerun: the cut recorded first), or [0, count] when the partition
// is at another count (another growth): errc::partitions_changed, nothing written.
void build_cut_partition(resp::request& req, bool by_source, const topic_keys& partition,
                         std::uint32_t from, std::uint32_t to);
[[nodiscard]] command_result decode_cut_partition(const resp::value& reply, std::string& cut);

// finish_growth-1.lua on the topic (`topic`: T's keys): sets the count to `to` and records,
// per new partition q, the old partition q mod `from` and its cut (`cuts`: one per old
// partition, in order).
// Reply: [to, 1] finished now, [to, 0] finished before; [count, -1] when the topic is not
// growing from `from` to `to`: errc::partitions_changed with the count in `count`.
void build_finish_growth(resp::request& req, bool by_source, const topic_keys& topic,
                         std::uint32_t from, std::uint32_t to, std::span<const std::string> cuts);
[[nodiscard]] command_result decode_finish_growth(const resp::value& reply, std::uint32_t& count);

// HMGET <partitions hash> count growing: the topic's count and the target of a growth begun
// and not finished (a grower stopped midway: set_partitions with it completes the growth).
// Reply: [count, growing], each nil when absent (0).
struct partition_state {
  std::uint32_t count = 0;
  std::uint32_t growing = 0;
  friend bool operator==(const partition_state&, const partition_state&) = default;
};
void build_partition_state(resp::request& req, const topic_keys& topic);
[[nodiscard]] command_result decode_partition_state(const resp::value& reply,
                                                    partition_state& out);

// HMGET <partitions hash> after:<q> cut:<q>: the old partition new partition `q` waits for,
// and its cut; both nil for a partition no growth made (nothing to wait for).
// Reply: [partition, cut] or [nil, nil].
struct growth_origin {
  std::uint32_t partition = 0;  // the old partition, q mod the old count
  std::string cut;              // its cut: an entry ID, "0-0" when it had no entries
  friend bool operator==(const growth_origin&, const growth_origin&) = default;
};
void build_growth_origin(resp::request& req, const topic_keys& topic, std::uint32_t q);
[[nodiscard]] command_result decode_growth_origin(const resp::value& reply,
                                                  std::optional<growth_origin>& origin);

// How far a group has drained an old partition: XINFO GROUPS <stream>, then XPENDING <stream>
// <group> - <cut> 1 (the group's first pending entry at or below the cut), in one pipeline on
// the partition's slot, in that order (so a delivered entry seen by the first is pending or
// acknowledged by the time of the second).
// Replies: XINFO GROUPS's (consumer_requests.hpp's decode_group_info), then XPENDING's rows;
// the second is not read when the group is not in the first (it is then NOGROUP).
struct drain_observation {
  bool group_exists = false;
  std::string last_delivered_id;  // the group's, when it exists
  std::optional<std::string> first_pending;  // an entry at or below the cut still pending
  friend bool operator==(const drain_observation&, const drain_observation&) = default;
};
void build_drain_check(resp::request& req, const std::string& stream, const std::string& group,
                       const std::string& cut);
// `replies`: the two replies; another count is errc::malformed_entry.
[[nodiscard]] command_result decode_drain_check(std::span<const resp::value> replies,
                                                std::string_view group, drain_observation& out);

}  // namespace streamq::streams::detail

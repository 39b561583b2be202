#pragma once
// The commands of partitioned topics (partitions.hpp) as pure functions, with no Asio: each
// build_* appends one command or script call, each decode_* reads its reply by the rules
// delivery_requests.hpp states for every decoder. A growth's own steps are in
// growth_requests.hpp.

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include "delivery_requests.hpp"  // command_result
#include "publish_requests.hpp"   // batch_result

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace streamq::streams::detail {

// HGET <partitions hash> count: the topic's partition count.
// Reply: the count; nil (no hash, not partitioned) reads as 0.
void build_partition_count(resp::request& req, const topic_keys& keys);
[[nodiscard]] command_result decode_partition_count(const resp::value& reply,
                                                    std::uint32_t& partitions);

// set_partitions-1.lua: creates the count, or begins a growth to `partitions` (a multiple of
// the count it has); never shrinks it.
// Reply: {count now, outcome[, target]}: 1 created, 0 unchanged, 2 growth begun (the count is
// still the old one), -1 fewer asked for, -2 not a multiple, -3 a growth to `target` is
// unfinished. The negative ones decode as errc::invalid_argument, with the count the topic
// has in `out.count`.
struct partitions_set {
  std::uint32_t count = 0;  // the topic's count now
  bool growing = false;     // outcome 2: cut the old partitions, then finish the growth
  friend bool operator==(const partitions_set&, const partitions_set&) = default;
};
void build_set_partitions(resp::request& req, bool by_source, const topic_keys& keys,
                          std::uint32_t partitions);
[[nodiscard]] command_result decode_set_partitions(const resp::value& reply, partitions_set& out);

// publish_partition-2+.lua: publish_batch-2+.lua (publish_requests.hpp) on one partition
// (`keys`: the partition's, "T#N"), refused when the partition takes only publishes routed
// with another count than `routed`.
// Reply: [added (1) or duplicate (0), ID] per entry, flat; or [-1, count]: decoded as
// errc::partitions_changed with the partition's count in `current` (nothing written).
void build_publish_partition(resp::request& req, bool by_source, const topic_keys& keys,
                             std::uint32_t routed, std::span<const std::string> dedup_keys,
                             std::chrono::milliseconds window,
                             std::span<const std::string_view> entries);
[[nodiscard]] command_result decode_publish_partition(const resp::value& reply,
                                                      std::size_t entries, batch_result& out,
                                                      std::uint32_t& current);

}  // namespace streamq::streams::detail

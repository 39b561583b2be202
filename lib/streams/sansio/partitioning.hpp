#pragma once
// Which partition each message of a partitioned topic goes to, and a batch grouped by partition:
// pure functions (tests: test/unit/partitioning_rules_test.cpp). partition_for_key, the part
// other languages must reproduce, is public (partitions.hpp).

#include <streamq/streams/partitions.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// FNV-1a, 32 bit, of `bytes`.
[[nodiscard]] std::uint32_t fnv1a_32(std::string_view bytes) noexcept;

// The partition a built-in partitioner picks among `partitions` (> 0) for a message with
// `key` (empty: none): by_key hashes a key and sends a keyless message round robin;
// round_robin ignores the key. `ticket` is the caller's round-robin counter, taken once per
// message. kind::custom is the caller's (its function), not decided here.
[[nodiscard]] std::uint32_t choose_partition(partitioner::kind how, std::string_view key,
                                             std::uint32_t partitions,
                                             std::uint64_t ticket) noexcept;

// The indexes of `chosen` (one partition per message, each below `partitions`) grouped by
// partition, in message order within each: one list per partition, empty where none went.
[[nodiscard]] std::vector<std::vector<std::size_t>> group_by_partition(
    std::span<const std::uint32_t> chosen, std::uint32_t partitions);

}  // namespace streamq::streams::detail

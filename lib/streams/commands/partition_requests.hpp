#pragma once
// The commands of partitioned topics (partitions.hpp) as pure functions, with no Asio: each
// build_* appends one command or script call, each decode_* reads its reply by the rules
// delivery_requests.hpp states for every decoder.

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include "delivery_requests.hpp"  // command_result

#include <cstdint>

namespace streamq::streams::detail {

// HGET <partitions hash> count: the topic's partition count.
// Reply: the count; nil (no hash, not partitioned) reads as 0.
void build_partition_count(resp::request& req, const topic_keys& keys);
[[nodiscard]] command_result decode_partition_count(const resp::value& reply,
                                                    std::uint32_t& partitions);

// set_partitions-1.lua: creates or grows the count to `partitions`, never shrinks it.
// Reply: {count now, 1 set or grown | 0 unchanged | -1 fewer asked for}; the last decodes as
// errc::invalid_argument with the count it has in `partitions`.
void build_set_partitions(resp::request& req, bool by_source, const topic_keys& keys,
                          std::uint32_t partitions);
[[nodiscard]] command_result decode_set_partitions(const resp::value& reply,
                                                   std::uint32_t& partitions);

}  // namespace streamq::streams::detail

#pragma once
// The rules of an effectively-once commit (outputs.hpp, docs/effectively-once.md) as pure
// functions: which outputs the commit script writes straight into their topic's stream, which
// go through the group's outbox, how the outputs of one input are named, and how outbox
// entries are batched for publishing. Unit-tested in test/unit/commit_plan_test.cpp.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// Where an output goes: its topic's cluster slot and partition count (0: not partitioned).
struct output_target {
  std::uint16_t slot = 0;
  std::uint32_t partitions = 0;
};

struct commit_plan {
  std::vector<std::size_t> direct;  // indexes written by the commit script into their stream
  std::vector<std::size_t> outbox;  // indexes written to the outbox, published afterwards
  friend bool operator==(const commit_plan&, const commit_plan&) = default;
};

// An output is written in the commit script itself when its stream shares the input's slot
// (one script may touch both, on a cluster too) and its topic is not partitioned (a
// partitioned topic's entry goes to the partition its key picks, which the publisher's
// partitioner decides). Every other one goes through the outbox. Order is kept within each.
[[nodiscard]] commit_plan plan_commit(std::uint16_t input_slot,
                                      std::span<const output_target> targets);

// The prefix of the message IDs (and idempotency keys) of the outputs of one input, the same
// on every run of it: "eo:<group>:<message key>", where the message key is the input's
// idempotency key, else its message ID (what subscription_options::once records).
[[nodiscard]] std::string output_id_prefix(std::string_view group, std::string_view message_key);

// Outbox entries to publish together: per topic (in order of first appearance), the indexes
// of its entries in outbox order, in batches of at most `max_batch` (0 counts as 1). A topic's
// outputs keep the order they were added in; different topics need no order between them.
[[nodiscard]] std::vector<std::vector<std::size_t>> outbox_batches(
    std::span<const std::string> topics, std::size_t max_batch);

}  // namespace streamq::streams::detail

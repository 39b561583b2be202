#pragma once
// The commands of effectively-once processing (outputs.hpp, docs/effectively-once.md) as pure
// functions (conventions: delivery_requests.hpp): the commit script, and reading and deleting
// the group's outbox.

#include "delivery_requests.hpp"

#include <streamq/streams/names.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// One input's commit: where it is, and its outputs split by plan_commit (sansio/commit_plan.hpp).
struct commit_request {
  const topic_keys* input = nullptr;
  std::string_view group;
  std::string_view consumer;
  std::string_view processed_key;  // input->processed(group)
  std::string_view outbox_key;     // input->outbox(group)
  const ack_fence* fence = nullptr;  // a partition's lease; nullptr: unfenced
  std::string_view entry_id;
  std::string_view message_key;  // recorded in the processed set
  std::chrono::milliseconds remember_for{0};
  std::span<const std::string> direct_streams;    // stream keys, in the input's slot
  std::span<const std::string> direct_envelopes;  // serialized, one per direct stream
  std::span<const std::string> outbox_topics;
  std::span<const std::string> outbox_envelopes;  // serialized, one per outbox topic
};

enum class commit_status : std::int8_t {
  not_owned = 0,  // the input is not pending on this consumer: nothing written
  committed = 1,  // outputs written, input recorded and acknowledged
  duplicate = 2,  // the message key was recorded already (a copy committed first): input
                  // acknowledged, no output written
};
struct commit_reply {
  commit_status status = commit_status::not_owned;
  std::uint64_t direct = 0;  // outputs added to their streams
  std::uint64_t queued = 0;  // outputs added to the outbox
  friend bool operator==(const commit_reply&, const commit_reply&) = default;
};

// commit_outputs-3+.lua. Throws std::invalid_argument when the direct or outbox spans differ in
// length (a caller's bug).
// Reply: [1, direct, queued] committed, [0] not owned, [2] a duplicate, [-1] the lease names
// another owner or epoch (decoded as errc::ownership_lost, nothing written).
void build_commit_outputs(resp::request& req, bool by_source, const commit_request& commit);
[[nodiscard]] command_result decode_commit_outputs(const resp::value& reply, commit_reply& out);

// XRANGE <outbox> <start> + COUNT <count>: the outbox's oldest entries from `start` ("-" or
// "(<id>"). Reply: an array of [id, [field, value, ...]] with fields t, e and s.
struct outbox_entry {
  std::string id;
  std::string topic;
  std::string envelope;  // serialized
  std::string input_id;
  friend bool operator==(const outbox_entry&, const outbox_entry&) = default;
};
void build_outbox_range(resp::request& req, const std::string& outbox_key,
                        const std::string& start, std::size_t count);
// An entry without t or e, or with a field twice, is kept with an empty topic: the caller
// reports it and passes it by (so that one bad entry does not hold up the rest).
[[nodiscard]] command_result decode_outbox_range(const resp::value& reply,
                                                 std::vector<outbox_entry>& out);

// XDEL <outbox> <id>...: the entries published. Reply: the number deleted.
void build_outbox_delete(resp::request& req, const std::string& outbox_key,
                         std::span<const std::string> ids);
[[nodiscard]] command_result decode_outbox_delete(const resp::value& reply,
                                                  std::uint64_t& deleted);

}  // namespace streamq::streams::detail

#pragma once
// The consumer's delivery commands as pure functions, with no Asio: build_* appends one command
// (or, for scripts, one EVALSHA/EVAL call: `by_source` picks which) to a request, and decode_*
// turns the reply, kept whole by command_reply (an error reply included), into a typed result.
// commands/delivery_commands.hpp only sends what these build and hands the replies back here.
//
// Every decoder
// - empties its output first and leaves it empty unless it succeeds;
// - turns a top-level error reply into its resp::server_errc (resp::classify_server_error),
//   with the server's text in `diagnostic`: callers never look at the text;
// - turns any other shape than the one documented at the command into errc::malformed_entry.
// Replies are resp::value trees from resp::value_builder, whose memory follows the bytes
// received; no decoder reserves by a count the server announced.

#include <streamq/resp/node.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include "../consume/id_list.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace streamq::streams::detail {

struct command_result {
  error_code ec;
  std::string diagnostic;  // the server's error text, when it refused
  explicit operator bool() const noexcept { return !ec; }
};

// One reply kept whole for a decode_* function. error() is the code of a top-level error reply
// (what exec_script looks at for its NOSCRIPT retry); the decoders classify the reply
// themselves.
class command_reply final : public resp::response_adapter {
 public:
  [[nodiscard]] std::size_t expected_replies() const noexcept override { return 1; }
  void on_start() override;
  void on_node(std::size_t reply, const resp::node& n) override;

  [[nodiscard]] const resp::value& value() const noexcept { return value_; }
  [[nodiscard]] const std::error_code& error() const noexcept { return error_; }

 private:
  resp::value value_;
  std::error_code error_;
  resp::value_builder builder_;
};

// A partition's lease as a subscription holds it (partitioned_consumer): its acknowledgements,
// retries and dead letters check it in the same script (ack_fenced-2.lua, schedule_retry-2+.lua,
// dead_letter-3+.lua, ack_processed-2+.lua).
struct ack_fence {
  std::string lease_key;  // topic_keys(T#N).lease(group)
  std::string owner;
  std::uint64_t epoch = 0;
};

// Where a group's consumer works: the topic's keys, the group, its own name.
struct group_ref {
  const topic_keys* keys;
  const std::string* group;
  const std::string* consumer;
  const std::string* retry_key;  // keys->retries(*group)
  const std::string* dead_key;   // keys->dead_letters(*group)
  const ack_fence* fence;        // the partition's lease; nullptr: not fenced
};

// XPENDING <stream> <group> [IDLE min_idle] <start> + <count> [owner]: at most `count` rows
// from `start` ("-" or "(<id>"), only those idle at least `min_idle` (0: all), only `owner`'s
// when not empty.
// Reply: an array of rows [id, owner, idle ms, deliveries].
struct pending_row {
  std::string id;
  std::string owner;
  std::int64_t idle_ms = 0;
  std::uint64_t deliveries = 0;
  friend bool operator==(const pending_row&, const pending_row&) = default;
};
void build_pending_entries(resp::request& req, const group_ref& g,
                           std::chrono::milliseconds min_idle, const std::string& start,
                           std::size_t count, const std::string& owner);
[[nodiscard]] command_result decode_pending_entries(const resp::value& reply,
                                                    std::vector<pending_row>& rows);

// An entry a script handed to this consumer, with its delivery counted.
struct claimed_entry {
  std::string id;
  std::uint64_t deliveries = 0;
  std::vector<std::string> fields;
  friend bool operator==(const claimed_entry&, const claimed_entry&) = default;
};

struct claim_result {
  std::vector<claimed_entry> claimed;
  std::vector<std::string> lost;  // pending, but their data was trimmed or deleted: acked
  friend bool operator==(const claim_result&, const claim_result&) = default;
};

// claim_entries-2+.lua: takes over the entries of `rows` (re-checked: still pending, owned by
// `owner` unless empty, idle at least `min_idle`, not waiting for a retry, and still at the
// delivery count the row shows: nobody took it meanwhile), counting the delivery. With
// `g.fence`, only while the partition's lease names that owner and epoch.
// Reply: [claimed, lost]; claimed = [id, deliveries, [field, value, ...], id, ...], lost = [id,
// ...]; [-1] when the lease names another owner or epoch (errc::ownership_lost).
void build_claim_entries(resp::request& req, bool by_source, const group_ref& g,
                         std::chrono::milliseconds min_idle, const std::string& owner,
                         std::span<const pending_row> rows);
[[nodiscard]] command_result decode_claim_entries(const resp::value& reply, claim_result& out);

struct due_retries {
  std::int64_t now_ms = 0;        // the server's clock
  std::int64_t next_due_ms = -1;  // the group's next retry after these, -1: none
  claim_result taken;
  friend bool operator==(const due_retries&, const due_retries&) = default;
};

// take_due_retries-2+.lua: at most `limit` retries due by the server's clock. With `g.fence`,
// only while the partition's lease names that owner and epoch.
// Reply: [now ms, next due ms or -1, claimed, lost], the last two as claim_entries's; [-1]
// when the lease names another owner or epoch (errc::ownership_lost).
void build_take_due_retries(resp::request& req, bool by_source, const group_ref& g,
                            std::size_t limit);
[[nodiscard]] command_result decode_take_due_retries(const resp::value& reply, due_retries& out);

// schedule_retry-2+.lua: `id` due again after `delay`. `scheduled` false: this consumer no
// longer owns it. With `g.fence`, only while the partition's lease names that owner and epoch.
// Reply: [1, due ms, now ms] when scheduled, [0] when not, [-1] when the lease names another
// owner or epoch (decoded as errc::ownership_lost).
void build_schedule_retry(resp::request& req, bool by_source, const group_ref& g,
                          const std::string& id, std::chrono::milliseconds delay);
[[nodiscard]] command_result decode_schedule_retry(const resp::value& reply, bool& scheduled);

// dead_letter-3+.lua: adds `letter_fields` to the group's dead-letter stream and acknowledges
// `id`, together; with `g.fence`, only while the partition's lease names that owner and epoch.
// Reply: the dead letter's ID; an empty string when this consumer no longer owns the entry
// (nothing written); -1 when the lease names another owner or epoch (decoded as
// errc::ownership_lost, nothing written).
void build_write_dead_letter(resp::request& req, bool by_source, const group_ref& g,
                             const std::string& id, std::span<const std::string> letter_fields);
[[nodiscard]] command_result decode_write_dead_letter(const resp::value& reply,
                                                      std::string& dead_id);


// XACK per topic, in one pipeline: `ids[i]` on `streams[i]`; where `fences[i]` is set (the
// vector may be shorter or empty: unfenced), ack_fenced-2.lua instead, which acknowledges
// only while the lease still names that owner and epoch.
// Replies: one integer each, the count Redis acknowledged; -1 from a fenced call that found
// the lease held by another (decoded as errc::ownership_lost).
struct ack_batch {
  std::vector<const std::string*> streams;
  std::vector<const id_list*> ids;
  std::vector<const ack_fence*> fences;
};
void build_acknowledge(resp::request& req, const std::string& group, const ack_batch& batch);
// The calls `calls` (indexes into the batch) of it, fenced ones by source when `by_source`:
// for exec_script_pipeline.
void build_acknowledge_calls(resp::request& req, const std::string& group, const ack_batch& batch,
                             std::span<const std::size_t> calls, bool by_source);
// One XACK (or ack_fenced) reply.
[[nodiscard]] command_result decode_xack(const resp::value& reply, std::uint64_t& acked);
// The replies of build_acknowledge's `commands` XACKs: `results[i]` and `acked[i]` are the i-th
// one's (decode_xack); the returned result is errc::malformed_entry when the number of replies
// is not `commands`.
[[nodiscard]] command_result decode_acknowledge(std::span<const resp::value> replies,
                                                std::size_t commands,
                                                std::vector<command_result>& results,
                                                std::vector<std::uint64_t>& acked);

// requeue_dead_letter-3.lua, for dead_letters::requeue.
// Reply: [1, entry ID] requeued, [2, entry ID] already pending, [0] no such dead letter, [-1]
// the entry is gone from the topic stream.
enum class requeue_status : std::int8_t {
  gone = -1,
  missing = 0,
  requeued = 1,
  already_pending = 2
};
void build_requeue_dead_letter(resp::request& req, bool by_source, const topic_keys& keys,
                               const std::string& group, const std::string& dead_id,
                               const std::string& entry_id, const std::string& owner);
[[nodiscard]] command_result decode_requeue_dead_letter(const resp::value& reply,
                                                        requeue_status& status);

}  // namespace streamq::streams::detail

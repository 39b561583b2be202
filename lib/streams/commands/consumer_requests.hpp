#pragma once
// The consumer's other commands as pure functions, with no Asio: its consumer groups (XGROUP
// CREATE, XINFO GROUPS), what inspect() reports (XLEN with XINFO GROUPS), the XREADGROUP of new
// entries (its reply is decoded by stream_read_reply, stream_reply.hpp) and once-only handling
// (ZSCORE, ack_processed-2.lua). build_* appends the command to a request; decode_* turns its
// reply into a typed result, with the contract of delivery_requests.hpp:
// - the output is emptied first and stays empty unless the decoder succeeds;
// - a top-level error reply becomes its resp::server_errc, the server's text in `diagnostic`;
// - any other shape than the one documented at the command is errc::malformed_entry.
// commands/consumer_commands.hpp sends them. Nothing here decides what a result means for the
// consumer: consume/ does.

#include "delivery_requests.hpp"  // command_result

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// XGROUP CREATE <stream> <group> 0|$ MKSTREAM: the group (and the stream, if missing), reading
// the stream from its start (`from_beginning`) or only entries added after it.
// Reply: +OK created, or the error BUSYGROUP: the group exists already, which is a success here.
enum class group_status : std::uint8_t {
  refused,  // the result says why: the server's refusal (OOM, NOPERM...) or a malformed reply
  created,
  exists,
};
void build_create_group(resp::request& req, const std::string& stream, const std::string& group,
                        bool from_beginning);
[[nodiscard]] command_result decode_create_group(const resp::value& reply, group_status& status);
// The replies of `commands` build_create_group calls in one pipeline: `results[i]` and
// `status[i]` are the i-th one's (decode_create_group); the returned result is
// errc::malformed_entry when the number of replies is not `commands`.
[[nodiscard]] command_result decode_create_groups(std::span<const resp::value> replies,
                                                  std::size_t commands,
                                                  std::vector<command_result>& results,
                                                  std::vector<group_status>& status);

// XINFO GROUPS <stream>: the stream's consumer groups.
// Reply: an array with one map per group (RESP3), or one flat [field, value, ...] array
// (RESP2), holding at least name, consumers, pending and last-delivered-id; Redis 7 adds
// entries-read and lag, either of them null when the server cannot tell. Fields not named
// here are skipped (later servers add some). A stream that does not exist is refused with ERR
// (server_errc::generic).
struct group_info {
  std::string name;
  std::uint64_t consumers = 0;
  std::uint64_t pending = 0;
  std::string last_delivered_id;
  std::optional<std::uint64_t> lag;  // absent before Redis 7, null when unknown
  friend bool operator==(const group_info&, const group_info&) = default;
};
void build_group_info(resp::request& req, const std::string& stream);
[[nodiscard]] command_result decode_group_info(const resp::value& reply,
                                               std::vector<group_info>& groups);
// The group called `name` in `groups`, or nullptr.
[[nodiscard]] const group_info* find_group(std::span<const group_info> groups,
                                           std::string_view name) noexcept;

// XLEN <stream>. Reply: the number of entries (0 for a stream that does not exist).
void build_stream_length(resp::request& req, const std::string& stream);
[[nodiscard]] command_result decode_stream_length(const resp::value& reply, std::uint64_t& length);

// One stream as inspect() sees it: XLEN then XINFO GROUPS, each decoded on its own.
struct stream_state {
  command_result length_result;
  std::uint64_t length = 0;
  command_result groups_result;
  std::vector<group_info> groups;
};
// Appends XLEN and XINFO GROUPS for each of `streams`, in that order.
void build_stream_states(resp::request& req, std::span<const std::string> streams);
// The replies of build_stream_states for `streams` streams: `out[i]` is the i-th stream's; the
// returned result is errc::malformed_entry when the number of replies is not 2 × `streams`.
[[nodiscard]] command_result decode_stream_states(std::span<const resp::value> replies,
                                                  std::size_t streams,
                                                  std::vector<stream_state>& out);

// XREADGROUP GROUP <group> <consumer> COUNT <count> BLOCK <block ms> STREAMS <streams...>
// > ...: at most `count` new entries of each stream, waiting up to `block` for some. A
// blocking command: for a dedicated connection only. Its reply is read by stream_read_reply.
void build_read_new(resp::request& req, const std::string& group, const std::string& consumer,
                    std::size_t count, std::chrono::milliseconds block,
                    std::span<const std::string_view> streams);

// ZSCORE <processed key> <message key>: when a once-only message was recorded as handled
// (ack_processed), in unix ms of the server's clock.
// Reply: the score, a double (RESP3) or its decimal text (RESP2); null when not recorded.
void build_processed_at(resp::request& req, const std::string& processed_key,
                        const std::string& message_key);
[[nodiscard]] command_result decode_processed_at(const resp::value& reply,
                                                 std::optional<double>& handled_at_ms);

// ack_processed-2+.lua: records `message_key` as handled now (server clock) in the group's
// processed set and acknowledges entry `id`, together; forgets records older than
// `remember_for`. With `fence` (a partition's consumer), only while the lease names that owner
// and epoch.
// Reply: XACK's count (0: the entry was no longer pending); -1 when the lease names another
// owner or epoch (decoded as errc::ownership_lost, nothing written).
void build_ack_processed(resp::request& req, bool by_source, const std::string& processed_key,
                         const std::string& stream, const std::string& group, const std::string& id,
                         const std::string& message_key, std::chrono::milliseconds remember_for,
                         const ack_fence* fence);
[[nodiscard]] command_result decode_ack_processed(const resp::value& reply, std::uint64_t& acked);

}  // namespace streamq::streams::detail

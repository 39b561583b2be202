#pragma once
// The commands of a replay (streams/replay.hpp) as pure functions, with no Asio, by the rules
// delivery_requests.hpp states for every decoder (output empty unless it succeeds; error
// replies classified, their text in `diagnostic`; any other shape errc::malformed_entry).
// Reads are XRANGE / XREVRANGE only: a replay never reads through a consumer group.

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>

#include "dead_letter_requests.hpp"  // stream_entry
#include "delivery_requests.hpp"     // command_result

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// XRANGE <stream> <start> <end> COUNT <count>: one page of a replay, `start` "-", an ID or
// "(<id>" (after it), `end` inclusive.
// Reply: [[id, [field, value, ...]], ...] (decoded as decode_dead_letter_range does).
void build_replay_page(resp::request& req, const std::string& stream, const std::string& start,
                       const std::string& end, std::size_t count);
[[nodiscard]] command_result decode_replay_page(const resp::value& reply,
                                                std::vector<stream_entry>& entries);

// XRANGE <stream> - + COUNT 1, XREVRANGE <stream> + - COUNT 1: the stream's first and last
// entry IDs, in one round trip. Replies: two XRANGE replies of at most one entry; both empty
// for an empty or missing stream (then `first` and `last` stay unset).
void build_stream_bounds(resp::request& req, const std::string& stream);
[[nodiscard]] command_result decode_stream_bounds(std::span<const resp::value> replies,
                                                  std::optional<std::string>& first,
                                                  std::optional<std::string>& last);

// XGROUP CREATE <stream> <group> <id> MKSTREAM: a new group whose next read returns the
// entries after <id>.
// Reply: +OK, or the error BUSYGROUP, which is errc::group_exists here: a replay never takes
// over a group somebody uses.
void build_create_replay_group(resp::request& req, const std::string& stream,
                               const std::string& group, const std::string& id);
[[nodiscard]] command_result decode_create_replay_group(const resp::value& reply);

// XGROUP DESTROY <stream> <group>: undoes a group this replay created, when another stream of
// the same replay refused it. Reply: 1 or 0 (it was gone).
void build_destroy_replay_group(resp::request& req, const std::string& stream,
                                const std::string& group);
[[nodiscard]] command_result decode_destroy_replay_group(const resp::value& reply);

}  // namespace streamq::streams::detail

#pragma once
// The commands of streams::dead_letters as pure functions, with no Asio, by the rules
// delivery_requests.hpp states for every decoder (output empty unless it succeeds; error
// replies classified, their text in `diagnostic`; any other shape errc::malformed_entry).
// Requeueing is the consumer's script (build_requeue_dead_letter, delivery_requests.hpp).

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>

#include "delivery_requests.hpp"  // command_result

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// XRANGE <dead-letter stream> <start> <end> COUNT <count>: at most `count` entries from
// `start` to `end` ("-", "+", an ID, or "(<id>" for after it).
// Reply: [[id, [field, value, ...]], ...].
void build_dead_letter_range(resp::request& req, const std::string& key, const std::string& start,
                             const std::string& end, std::size_t count);
struct stream_entry {
  std::string id;
  std::vector<std::string> fields;  // field, value, field, value, ...
  friend bool operator==(const stream_entry&, const stream_entry&) = default;
};
[[nodiscard]] command_result decode_dead_letter_range(const resp::value& reply,
                                                      std::vector<stream_entry>& entries);

// XLEN <dead-letter stream>: how many dead letters there are.
// Reply: the count.
void build_dead_letter_count(resp::request& req, const std::string& key);
[[nodiscard]] command_result decode_dead_letter_count(const resp::value& reply,
                                                      std::uint64_t& count);

// XDEL <dead-letter stream> <id>: deletes one dead letter.
// Reply: how many were deleted, 0 or 1.
void build_purge_dead_letter(resp::request& req, const std::string& key, const std::string& id);
[[nodiscard]] command_result decode_purge_dead_letter(const resp::value& reply, bool& deleted);

// MULTI, XLEN, DEL, EXEC: deletes every dead letter, counting them in the same step.
// Replies: the transaction's (transaction.hpp), decoded by decode_purge_dead_letters into how
// many there were.
void build_purge_dead_letters(resp::request& req, const std::string& key);
[[nodiscard]] command_result decode_purge_dead_letters(std::span<const resp::value> replies,
                                                       std::uint64_t& removed);

// republish_dead_letter-2.lua: adds `fields` to the topic stream and deletes dead letter
// `dead_id`, together, only if that dead letter still exists.
// Reply: the new entry's ID, or an empty string when the dead letter was gone (nothing added).
void build_republish_dead_letter(resp::request& req, bool by_source, const std::string& key,
                                 const std::string& stream, const std::string& dead_id,
                                 std::span<const std::string> fields);
[[nodiscard]] command_result decode_republish_dead_letter(const resp::value& reply,
                                                          std::string& new_id);

}  // namespace streamq::streams::detail

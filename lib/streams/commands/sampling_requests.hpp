#pragma once
// What the metrics sampler (lib/metrics) asks the server about one topic and one consumer
// group, as pure functions with no Asio, under the contract of delivery_requests.hpp (the
// output emptied first; a top-level error reply is its resp::server_errc with the server's
// text; any other shape errc::malformed_entry). Every key is the topic's (hash tag {T}), so
// the whole sample is one pipeline to one node, in a cluster too. What the numbers mean for
// lag (which ones Redis 7.0 gets wrong) is decided in lib/metrics/lag.hpp, not here.

#include "delivery_requests.hpp"  // command_result

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace streamq::streams::detail {

// XINFO STREAM <stream>: where the stream stands. Redis 7 fields; entries-added absent
// before 7.0. recorded-first-entry-id is the first entry still in the stream (7.0+), else the
// first-entry's ID; empty for an empty stream.
struct stream_summary {
  std::uint64_t length = 0;
  std::string last_generated_id;
  std::string max_deleted_entry_id;  // "0-0" when nothing was ever XDEL'd
  std::optional<std::uint64_t> entries_added;
  std::string first_entry_id;
  friend bool operator==(const stream_summary&, const stream_summary&) = default;
};

// XINFO STREAM <stream> alone (the figures above). Reply: a map (RESP3) or flat array (RESP2);
// a stream that does not exist is refused with ERR (server_errc::generic).
void build_stream_summary(resp::request& req, const std::string& stream);
[[nodiscard]] command_result decode_stream_summary(const resp::value& reply, stream_summary& out);

// One group of XINFO GROUPS, with entries-read (which group_info leaves out).
struct group_position {
  std::uint64_t pending = 0;
  std::string last_delivered_id;
  std::optional<std::uint64_t> entries_read;  // null when Redis cannot tell
  std::optional<std::uint64_t> lag;           // Redis's own figure (see lib/metrics/lag.hpp)
  friend bool operator==(const group_position&, const group_position&) = default;
};

// One sample of `group` on a topic:
//   XLEN stream; XINFO STREAM stream; XINFO GROUPS stream; XPENDING stream group (summary);
//   XLEN dead-letters(group); ZCARD delayed; ZRANGE delayed 0 0 WITHSCORES.
// A stream that does not exist (XLEN 0 and XINFO refused) is an empty one with no group; a
// group that does not exist (absent from XINFO GROUPS, XPENDING refused with NOGROUP) leaves
// `group` empty. Those are states, not errors.
struct topic_sample_reply {
  stream_summary stream;
  std::optional<group_position> group;
  std::optional<std::string> oldest_pending_id;  // XPENDING's smallest ID, none when empty
  std::uint64_t dead_letters = 0;
  std::uint64_t delayed = 0;
  std::optional<double> earliest_due_ms;  // the first delayed task's due time (server ms)
  friend bool operator==(const topic_sample_reply&, const topic_sample_reply&) = default;
};
inline constexpr std::size_t topic_sample_commands = 7;
void build_topic_sample(resp::request& req, const topic_keys& keys, const std::string& group);
[[nodiscard]] command_result decode_topic_sample(std::span<const resp::value> replies,
                                                 const std::string& group,
                                                 topic_sample_reply& out);

// XRANGE <stream> (<after> + COUNT <count>: how many entries follow `after` (up to `count`),
// and the last one's ID (where the next page starts). Reply: an array of [id, fields].
struct range_page {
  std::uint64_t entries = 0;
  std::string last_id;
  friend bool operator==(const range_page&, const range_page&) = default;
};
void build_entries_after(resp::request& req, const std::string& stream, const std::string& after,
                         std::uint64_t count);
[[nodiscard]] command_result decode_entries_after(const resp::value& reply, range_page& out);

}  // namespace streamq::streams::detail

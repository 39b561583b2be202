#pragma once
// The streamq command's own requests (tools/cli: trim --dry-run, tail) as pure functions with
// no Asio, by the rules delivery_requests.hpp states for every decoder (output empty unless it
// succeeds; error replies classified, their text in `diagnostic`; any other shape
// errc::malformed_entry).

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include "dead_letter_requests.hpp"  // stream_entry
#include "delivery_requests.hpp"     // command_result

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// What trim_topic() would do now, computed by its own script (trim_stream-1.lua in "plan"
// mode), which changes nothing. Empty strings where nothing applies.
struct trim_plan {
  std::string wanted_cut;  // the policy's cut: entries below this ID are beyond it
  std::string reason;      // "max_length" or "max_age": which limit set wanted_cut
  std::string safe_cut;    // the cut after sparing what a group still needs (the trim's own)
  std::string held_by;     // the group whose pending or unread entries moved the cut back
  friend bool operator==(const trim_plan&, const trim_plan&) = default;
};
void build_trim_plan(resp::request& req, bool by_source, const topic_keys& keys,
                     std::uint64_t max_length, std::chrono::milliseconds max_age,
                     bool unacknowledged);
[[nodiscard]] command_result decode_trim_plan(const resp::value& reply, trim_plan& plan);

// XREAD COUNT <count> BLOCK <block_ms> STREAMS <stream> <after>: the entries added after
// `after` ("$": after the last one now), waiting up to `block` for one (0 would wait forever:
// callers pass a positive time and ask again, so that they can stop). Send it on a dedicated
// connection.
// Reply: null when none came in time, else {stream: [[id, [field, value, ...]], ...]} (a map
// in RESP3, an array of [stream, entries] pairs in RESP2).
void build_tail_read(resp::request& req, const std::string& stream, const std::string& after,
                     std::size_t count, std::chrono::milliseconds block);
[[nodiscard]] command_result decode_tail_read(const resp::value& reply,
                                              std::vector<stream_entry>& entries);

}  // namespace streamq::streams::detail

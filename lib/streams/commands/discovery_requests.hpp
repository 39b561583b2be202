#pragma once
// What the admin library (lib/admin) asks to find a deployment's topics and total up one
// stream, as pure functions with no Asio, under the contract of delivery_requests.hpp (the
// output emptied first; a top-level error reply is its resp::server_errc with the server's
// text; any other shape errc::malformed_entry). Which stream keys are topics is decided here
// too, from names.hpp's key layout.

#include "consumer_requests.hpp"  // group_info
#include "delivery_requests.hpp"  // command_result
#include "sampling_requests.hpp"  // stream_summary

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// The SCAN MATCH pattern of every topic stream under `key_prefix`: "<prefix>:{*}:stream". A
// valid prefix holds no glob character (names.hpp), so it needs no escaping. It also matches
// keys that are no topic's (a '}' inside the braces, an invalid name): topic_of_stream_key
// tells them apart.
[[nodiscard]] std::string topic_stream_pattern(std::string_view key_prefix);

// The topic whose stream `key` is under `key_prefix`: "T" for "<prefix>:{T}:stream", "T#N" for
// a partition's; nothing for any other key (another prefix, a name breaking the naming rules,
// another of the topic's keys).
[[nodiscard]] std::optional<std::string> topic_of_stream_key(std::string_view key,
                                                             std::string_view key_prefix);

// SCAN <cursor> MATCH <pattern> COUNT <count> TYPE stream: one page of a scan of the stream
// keys matching `pattern` (Redis 6.0+ for TYPE). COUNT is a hint of how many keys the server
// looks at, not how many it returns: a page may be empty while the cursor is not "0".
// Reply: [next cursor, [key, ...]]; the scan is over when the cursor is "0".
struct scan_page {
  std::string cursor;
  std::vector<std::string> keys;
  friend bool operator==(const scan_page&, const scan_page&) = default;
};
inline constexpr std::uint64_t scan_count = 1000;
void build_scan_streams(resp::request& req, const std::string& cursor, const std::string& pattern,
                        std::uint64_t count);
[[nodiscard]] command_result decode_scan_streams(const resp::value& reply, scan_page& out);

// PING: a request without keys, which a cluster client routes to any master. Sent to bring the
// client's list of master connections up to date before scanning each master (lib/admin).
void build_routing_probe(resp::request& req);

// One topic stream totalled (the topic "T" or a partition "T#N"; all keys carry its hash tag,
// so it is one pipeline to one node):
//   XLEN stream; XINFO STREAM stream; XINFO GROUPS stream; ZCARD delayed; HGET partitions count.
// A stream that does not exist (XLEN 0, XINFO refused) has exists false, no summary and no
// group; that is a state, not an error.
struct stream_overview {
  bool exists = false;
  std::uint64_t length = 0;
  stream_summary summary;
  std::vector<group_info> groups;
  std::uint64_t delayed = 0;
  std::uint32_t partitions = 0;  // the topic's partition count (partitions.hpp), 0: none
  friend bool operator==(const stream_overview&, const stream_overview&) = default;
};
inline constexpr std::size_t stream_overview_commands = 5;
void build_stream_overview(resp::request& req, const topic_keys& keys);
[[nodiscard]] command_result decode_stream_overview(std::span<const resp::value> replies,
                                                    stream_overview& out);

}  // namespace streamq::streams::detail

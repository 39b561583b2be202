#pragma once
// What the streamq command (tools/cli) asks that no queue component does, as pure functions
// with no Asio, under the contract of delivery_requests.hpp (the output emptied first; a
// top-level error reply is its resp::server_errc with the server's text; any other shape
// errc::malformed_entry).

#include "delivery_requests.hpp"  // command_result

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// XINFO CONSUMERS <stream> <group>: the group's consumers.
// Reply: an array with one map per consumer (RESP3), or one flat [field, value, ...] array
// (RESP2), holding name, pending and idle (ms since its last read or claim); Redis 7.2 adds
// inactive (ms since its last successful read or claim, -1 when it never had one). Fields not
// named here are skipped. A missing group is refused with NOGROUP, a missing stream with ERR
// (server_errc::generic).
struct consumer_info {
  std::string name;
  std::uint64_t pending = 0;
  std::uint64_t idle_ms = 0;
  std::optional<std::uint64_t> inactive_ms;  // absent before Redis 7.2, or never active
  friend bool operator==(const consumer_info&, const consumer_info&) = default;
};
void build_consumer_info(resp::request& req, const std::string& stream, const std::string& group);
[[nodiscard]] command_result decode_consumer_info(const resp::value& reply,
                                                  std::vector<consumer_info>& consumers);

}  // namespace streamq::streams::detail

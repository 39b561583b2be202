#pragma once
// What check_eviction_policy() asks the server, as pure functions with no Asio, by the rules
// delivery_requests.hpp states for every decoder. INFO first: a least-privilege user may run
// it, while CONFIG GET must stay denied to it (it can reveal requirepass).

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>

#include "delivery_requests.hpp"  // command_result

#include <optional>
#include <string>

namespace streamq::streams::detail {

// INFO memory: the memory section, "field:value" lines.
// Reply: text (a bulk string; RESP3's verbatim string). `policy`: its maxmemory_policy line's
// value, nullopt when it has none.
void build_memory_info(resp::request& req);
[[nodiscard]] command_result decode_memory_info_policy(const resp::value& reply,
                                                       std::optional<std::string>& policy);

// CONFIG GET maxmemory-policy.
// Reply: {name: value} (a RESP3 map, or RESP2's flat array); empty when the server has no such
// parameter (`policy` then nullopt).
void build_config_eviction_policy(resp::request& req);
[[nodiscard]] command_result decode_config_eviction_policy(const resp::value& reply,
                                                           std::optional<std::string>& policy);

}  // namespace streamq::streams::detail

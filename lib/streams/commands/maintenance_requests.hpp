#pragma once
// The maintenance scripts (maintenance.hpp, claims.hpp) as pure functions, with no Asio: each
// build_* appends one EVALSHA/EVAL call (`by_source` picks which), each decode_* reads its
// reply by the rules delivery_requests.hpp states for every decoder.

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include "delivery_requests.hpp"  // command_result

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// trim_stream-1.lua: trims the topic stream to `max_length` entries (0: no limit) and to
// entries younger than `max_age` (0: no limit) by the server's clock, sparing what a group has
// not read or, unless `unacknowledged`, not acknowledged.
// Reply: how many entries it removed.
void build_trim_stream(resp::request& req, bool by_source, const topic_keys& keys,
                       std::uint64_t max_length, std::chrono::milliseconds max_age,
                       bool unacknowledged);
[[nodiscard]] command_result decode_trim_stream(const resp::value& reply, std::uint64_t& removed);

// remove_idle_consumers-1.lua: removes the consumers of `group` that own no pending entry and
// were idle at least `idle`, except `keep`.
// Reply: the names removed.
void build_remove_idle_consumers(resp::request& req, bool by_source, const topic_keys& keys,
                                 const std::string& group, std::chrono::milliseconds idle,
                                 const std::string& keep);
[[nodiscard]] command_result decode_remove_idle_consumers(const resp::value& reply,
                                                          std::vector<std::string>& removed);

// refresh_claims-1.lua: resets the idle time of those of `ids` that `consumer` of `group` still
// owns, checking and refreshing in one step.
// Reply: the IDs still owned.
void build_refresh_claims(resp::request& req, bool by_source, const topic_keys& keys,
                          const std::string& group, const std::string& consumer,
                          std::span<const std::string> ids);
[[nodiscard]] command_result decode_refresh_claims(const resp::value& reply,
                                                   std::vector<std::string>& kept);

}  // namespace streamq::streams::detail

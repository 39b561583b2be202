#pragma once
// Housekeeping of a topic that must never lose work: trimming and consumer clean-up, each
// one atomic Lua script so that the safety check and the change cannot be separated.

#include <streamq/client.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace streamq::streams {

struct retention_policy {
  std::uint64_t max_length = 0;          // keep about this many newest entries; 0: no cap
  std::chrono::milliseconds max_age{0};  // drop entries older than this (server clock); 0: none
  // By default nothing a consumer group has not acknowledged is trimmed: not entries
  // pending in a group, nor entries not yet delivered to it. Set to trim them anyway.
  bool trim_unacknowledged = false;
};

// Trims the topic's stream per `policy` and returns how many entries were removed. Unless
// policy.trim_unacknowledged, the cut never passes the oldest entry any group still needs
// (its first pending entry, or the first entry after its last delivered one).
// Throws boost::system::system_error on errors.
boost::asio::awaitable<std::uint64_t> trim_topic(client& c, const topic_keys& keys,
                                                 retention_policy policy);

// Removes consumers of `group` idle for longer than `idle` that own no pending entries (a
// consumer with pending entries is never removed: its entries would become unclaimable).
// `keep` is never removed. Returns the names removed.
boost::asio::awaitable<std::vector<std::string>> remove_idle_consumers(
    client& c, const topic_keys& keys, std::string group, std::chrono::milliseconds idle,
    std::string keep);

}  // namespace streamq::streams

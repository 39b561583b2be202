#pragma once
// What topics a deployment has and how each stands, for people (the streamq command, the
// dashboard): found by scanning the server's keys (every master's on a Redis Cluster), summed
// over a partitioned topic's partitions and over each topic's consumer groups. Read-only:
// nothing is written.
//
//   auto topics = co_await streamq::admin::async_list_topics(client, "streamq");
//   for (const auto& t : topics) std::printf("%s %llu\n", t.topic.c_str(), t.length);

#include <streamq/admin/error.hpp>
#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace streamq::admin {

struct topic_summary {
  std::string topic;
  // 0: not partitioned; else P, and the figures below are summed over the P partitions'
  // streams ("T#0" .. "T#P-1") and the topic's own stream if it has one.
  std::uint32_t partitions = 0;
  // Entries in the stream(s) now (XLEN).
  std::uint64_t length = 0;
  // Entries ever added (XINFO STREAM entries-added), summed; nullopt before Redis 7.
  std::optional<std::uint64_t> entries_added;
  // Consumer groups, counted per stream (a group on three partitions counts three times).
  std::uint64_t groups = 0;
  // Entries not yet delivered, summed over the groups, computed by streamq's lag rules
  // (Redis 7.0's own figure is wrong after trimming): exact up to lag_count_limit entries
  // per group, past that a lower bound (lag_is_lower_bound). nullopt when the topic has no
  // group: nobody can lag.
  std::optional<std::uint64_t> lag;
  bool lag_is_lower_bound = false;
  // Delivered and not yet acknowledged, summed over the groups.
  std::uint64_t pending = 0;
  // The age of the oldest pending entry over all groups (its ID's time against this host's
  // clock: a skew between the hosts shows here); nullopt when nothing is pending.
  std::optional<std::uint64_t> oldest_pending_age_ms;
  // Entries in the groups' dead-letter streams, summed.
  std::uint64_t dead_letters = 0;
  // Delayed tasks waiting in the scheduler's set(s) of the topic (and of its partitions).
  std::uint64_t delayed = 0;
};

// Lag past this many undelivered entries of one group is not counted exactly (each counted
// entry costs the server a read): see topic_summary::lag.
inline constexpr std::uint64_t lag_count_limit = 10000;

// Every topic under `key_prefix` (names.hpp), sorted by name, each summarised. Topics are
// found with SCAN (MATCH on the prefix's stream keys, TYPE stream, COUNT 1000) until the
// cursor returns to 0, never KEYS: the server stays responsive however many keys it holds. A
// partition stream ("{T#N}") is counted under its topic T (one at or past T's partition count
// is listed by its own name, "T#N"). Keys that only look like a topic's stream (another
// prefix, an invalid name) are ignored. A topic deleted between the
// scan and its summary is left out.
// On a cluster client (cluster=on, or auto that found a cluster) every master is scanned, each
// on its own connection (client::master_connections(), after a topology read and one PING that
// brings that list up to date), and the keys found are put together; the summaries go through
// the client, routed by slot. A master that fails during its scan fails the listing (never a
// list short of its topics): its code (the transport's, client_errc::timeout when one page takes
// longer than cluster.retry_deadline, or the server's), and, thrown by list_topics itself, a
// system_error whose text names the master ("SCAN on master host:port failed").
// Completion: void(error_code, std::vector<topic_summary>). Errors: transport and server
// errors (an ACL denying SCAN, say); client_errc::cluster_unavailable when no cluster topology
// could be read; errc::invalid_argument for an invalid key prefix.
// Cancellation: terminal; the listing stops at its current request. Uses the client's shared
// connection (in cluster mode, each master's); `c` must outlive the operation.
boost::asio::awaitable<std::vector<topic_summary>> list_topics(client& c, std::string key_prefix);

template <class Token = boost::asio::use_awaitable_t<>>
auto async_list_topics(client& c, std::string key_prefix, Token&& token = {}) {
  auto ex = c.get_executor();
  return streamq::detail::start_async(ex, list_topics(c, std::move(key_prefix)),
                                      std::forward<Token>(token));
}

// One topic's summary. Completion: void(error_code, topic_summary); errc::topic_not_found
// when the topic has no stream (and no partition stream) under `key_prefix`;
// errc::invalid_argument (streams::errc) for an invalid topic name or key prefix. A
// partition's name ("T#N") summarises that partition alone. Cancellation and lifetimes as
// async_list_topics.
boost::asio::awaitable<topic_summary> summarise_topic(client& c, std::string topic,
                                                      std::string key_prefix);

template <class Token = boost::asio::use_awaitable_t<>>
auto async_summarise_topic(client& c, std::string topic, std::string key_prefix,
                           Token&& token = {}) {
  auto ex = c.get_executor();
  return streamq::detail::start_async(
      ex, summarise_topic(c, std::move(topic), std::move(key_prefix)),
      std::forward<Token>(token));
}

}  // namespace streamq::admin

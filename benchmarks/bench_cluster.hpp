#pragma once
// Redis Cluster plumbing shared by streamq-bench scenarios: the client configuration --redis
// asks for, the names of a run's topics, and which master serves each of them (the per-node
// figures of xadd and e2e).

#include "bench_util.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/config.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::bench {

// redis::parse_url(url), with cluster.mode auto_detect when the URL sets no cluster= option
// and names a TCP address (not unix://, not redis+sentinel://): naming any node of a cluster
// is then enough, and a standalone server, detected by one INFO at connect, is used directly
// as with cluster=off. Throws std::invalid_argument for a bad URL.
[[nodiscard]] redis::connection_config client_config(const std::string& url);

// The URL's scheme is redis+sentinel or rediss+sentinel.
[[nodiscard]] bool is_sentinel_url(std::string_view url) noexcept;

// The streams (topics) of a run: {base} for one, else base-0 .. base-(topics-1).
[[nodiscard]] std::vector<std::string> topic_names(std::string_view base, std::size_t topics);

// Per key, the master that serves its slot now ("host:port"); all empty outside cluster mode
// (standalone, or before the client knows its mode: call it after a first request). On the
// client's executor only.
[[nodiscard]] std::vector<std::string> masters_of(const streamq::client& client,
                                                  std::span<const std::string> keys);

// Adds "topics": the number of keys, "cluster": whether any key has a master, and in cluster
// mode "nodes": one object per master, ordered by address, with its share of the work:
// [{"node":"127.0.0.1:7000","topics":4,"messages":N,"msgs_per_sec":N/elapsed_s}, ...].
// `masters` and `messages` are per key (messages handled for that key during the run).
void add_topic_fields(json_line& out, std::span<const std::string> masters,
                      std::span<const std::uint64_t> messages, double elapsed_s);
// As above for the partitions of `topics` partitioned topics: `masters` and `messages` are per
// partition, "topics" says `topics`, and each node's "topics" counts the partitions it serves.
void add_topic_fields(json_line& out, std::size_t topics, std::span<const std::string> masters,
                      std::span<const std::uint64_t> messages, double elapsed_s);

}  // namespace streamq::bench

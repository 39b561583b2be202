// Topic discovery and summaries: see topics.hpp. Every request is built and decoded in
// lib/streams/commands/ (discovery_requests, sampling_requests); the lag is the metrics sampler's
// (commands/sampling_commands.hpp). This file only chooses, sends and adds up.
#include <streamq/admin/topics.hpp>

#include <streamq/redis/deadline.hpp>
#include <streamq/streams/names.hpp>

#include "commands/discovery_requests.hpp"
#include "commands/reply_checks.hpp"
#include "commands/sampling_commands.hpp"
#include "commands/sampling_requests.hpp"
#include "commands/send_command.hpp"
#include "sansio/lag.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <span>
#include <utility>

namespace streamq::admin {

namespace asio = boost::asio;
namespace sd = streams::detail;

namespace {

// Entries one lag-counting XRANGE reads (as the metrics sampler's default lag_page).
constexpr std::uint64_t lag_page = 1000;

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

asio::awaitable<sd::stream_overview> read_overview(client& c, const streams::topic_keys& keys) {
  sd::stream_overview out;
  const auto sent = co_await sd::send_commands(
      c, [&](resp::request& req) { sd::build_stream_overview(req, keys); },
      [&](std::span<const resp::value> replies) {
        return sd::decode_stream_overview(replies, out);
      });
  if (!sent) sd::throw_failure(sent);
  co_return out;
}

// One sample per group of the stream (its pending summary, dead letters, position), in one
// pipeline: the keys share the stream's hash tag.
asio::awaitable<std::vector<sd::topic_sample_reply>> sample_groups(
    client& c, const streams::topic_keys& keys, const std::vector<sd::group_info>& groups) {
  std::vector<sd::topic_sample_reply> samples(groups.size());
  const auto sent = co_await sd::send_commands(
      c,
      [&](resp::request& req) {
        for (const auto& g : groups) sd::build_topic_sample(req, keys, g.name);
      },
      [&](std::span<const resp::value> replies) -> sd::command_result {
        if (replies.size() != groups.size() * sd::topic_sample_commands)
          return sd::reply::malformed("topic samples");
        for (std::size_t i = 0; i < groups.size(); ++i) {
          auto r = sd::decode_topic_sample(
              replies.subspan(i * sd::topic_sample_commands, sd::topic_sample_commands),
              groups[i].name, samples[i]);
          if (!r) return r;
        }
        return {};
      });
  if (!sent) sd::throw_failure(sent);
  co_return samples;
}

// What the streams of one topic add up to while they are read.
struct totals {
  topic_summary summary;
  std::uint64_t entries_added = 0;
  bool entries_added_unknown = false;
  std::uint64_t lag = 0;
};

// Adds one stream (the topic's own or a partition's) to `t`.
asio::awaitable<void> add_stream(client& c, const streams::topic_keys& keys,
                                 const sd::stream_overview& overview, totals& t) {
  t.summary.delayed += overview.delayed;
  if (!overview.exists) co_return;
  t.summary.length += overview.length;
  if (overview.summary.entries_added)
    t.entries_added += *overview.summary.entries_added;
  else
    t.entries_added_unknown = true;
  if (overview.groups.empty()) co_return;
  const auto samples = co_await sample_groups(c, keys, overview.groups);
  const auto now_ms = unix_ms_now();
  for (const auto& sample : samples) {
    if (!sample.group) continue;  // deleted since XINFO GROUPS listed it
    auto& s = t.summary;
    ++s.groups;
    s.pending += sample.group->pending;
    s.dead_letters += sample.dead_letters;
    if (sample.oldest_pending_id) {
      const auto age = sd::id_age_ms(*sample.oldest_pending_id, now_ms);
      s.oldest_pending_age_ms = std::max(s.oldest_pending_age_ms.value_or(0), age);
    }
    const auto lag = co_await sd::measure_group_lag(c, keys.stream(), sample.stream,
                                                    *sample.group, lag_page, lag_count_limit);
    t.lag += lag.lag;
    s.lag_is_lower_bound = s.lag_is_lower_bound || lag.lower_bound;
  }
}

// Adds the topic names of the stream keys one node holds to `found` ("T", and "T#N" for
// partitions), scanning from cursor 0 until the cursor comes back to 0: a cursor means
// something only to the node that gave it. `exec(req, reply)` sends one request there and
// completes with the transport's error (an awaitable of std::tuple<error_code>); `node` names the
// node in a failure's text (empty: the client's one server, whose failure goes out as any other
// request's).
template <class Exec>
asio::awaitable<void> scan_node(const Exec& exec, const std::string& node,
                                const std::string& pattern, const std::string& key_prefix,
                                std::set<std::string>& found) {
  std::string cursor = "0";
  do {
    resp::request req;
    sd::build_scan_streams(req, cursor, pattern, sd::scan_count);
    sd::command_reply reply;
    const auto [ec] = co_await exec(req, reply);
    sd::scan_page page;
    sd::send_result sent{ec, {}};
    if (!ec) sent.reply = sd::decode_scan_streams(reply.value(), page);
    if (!sent) {
      if (node.empty()) sd::throw_failure(sent);
      std::string what = "SCAN on master " + node + " failed";
      if (!sent.reply.diagnostic.empty()) what += ": " + sent.reply.diagnostic;
      throw boost::system::system_error(sent.ec(), what);
    }
    for (const auto& key : page.keys)
      if (auto topic = sd::topic_of_stream_key(key, key_prefix)) found.insert(std::move(*topic));
    cursor = std::move(page.cursor);
  } while (cursor != "0");
}

// The masters of a cluster client, each with its pipelined connection, as the topology is now;
// empty when the client talks to one server (cluster mode off, or auto that found a
// standalone server).
asio::awaitable<std::vector<master_connection>> current_masters(client& c) {
  if (c.config().cluster.mode == redis::cluster_mode::off)
    co_return std::vector<master_connection>();
  const auto use_tuple = asio::as_tuple(asio::use_awaitable);
  // A master that took over since the last topology read would be missed, and a demoted one
  // scanned twice: read it now (bounded by cluster.retry_deadline).
  const auto [refreshed] = co_await c.async_refresh_topology(use_tuple);
  if (refreshed)
    throw boost::system::system_error(refreshed,
                                      "reading the cluster topology to scan every master");
  // master_connections() follows the slot map when a request is routed, not when the map is
  // read: one request without keys (any master answers it) brings the list up to date. In
  // cluster mode it waits for a master within cluster.retry_deadline, so a list still empty
  // after it means a standalone server.
  resp::request probe;
  sd::build_routing_probe(probe);
  sd::command_reply pong;
  const auto [routed] = co_await c.async_exec(probe, pong, use_tuple);
  if (routed)
    throw boost::system::system_error(routed, "routing a request to find the cluster's masters");
  co_return c.master_connections();
}

[[noreturn]] void throw_not_found(const std::string& topic, const std::string& key_prefix) {
  throw boost::system::system_error(
      make_error_code(errc::topic_not_found),
      "topic '" + topic + "' has no stream under key prefix '" + key_prefix + "'");
}

}  // namespace

asio::awaitable<topic_summary> summarise_topic(client& c, std::string topic,
                                               std::string key_prefix) {
  const streams::topic_keys keys(topic, key_prefix);  // throws for invalid names
  totals t;
  t.summary.topic = topic;
  const auto own = co_await read_overview(c, keys);
  // A partition's name ("T#N") has no partitions hash of its own: 0.
  t.summary.partitions = own.partitions;
  bool exists = own.exists || own.partitions > 0;
  co_await add_stream(c, keys, own, t);
  for (std::uint32_t n = 0; n < own.partitions; ++n) {
    const streams::topic_keys partition(streams::partition_topic(topic, n), key_prefix);
    const auto overview = co_await read_overview(c, partition);
    exists = exists || overview.exists;
    co_await add_stream(c, partition, overview, t);
  }
  if (!exists) throw_not_found(topic, key_prefix);
  if (!t.entries_added_unknown) t.summary.entries_added = t.entries_added;
  if (t.summary.groups > 0) t.summary.lag = t.lag;
  co_return std::move(t.summary);
}

asio::awaitable<std::vector<topic_summary>> list_topics(client& c, std::string key_prefix) {
  streams::validate_key_prefix(key_prefix);
  const std::string pattern = sd::topic_stream_pattern(key_prefix);
  // Topic names of the streams found: "T", and "T#N" for partitions.
  std::set<std::string> found;
  const auto use_tuple = asio::as_tuple(asio::use_awaitable);
  const auto masters = co_await current_masters(c);
  if (masters.empty()) {
    const auto through_client = [&](const resp::request& req, sd::command_reply& reply) {
      return c.async_exec(req, reply, use_tuple);
    };
    const std::string one_server;  // no node named: its failure reads as any request's
    co_await scan_node(through_client, one_server, pattern, key_prefix, found);
  }
  // A cluster: every master's keyspace, each on its own connection. A request there gets no
  // redirection or retry from the router, so each page has cluster.retry_deadline: a master
  // that fails meanwhile is an error naming it, never a shorter list.
  const auto page_limit = c.config().cluster.retry_deadline;
  for (const auto& master : masters) {
    redis::connection& conn = *master.connection;
    const auto on_master = [&](const resp::request& req, sd::command_reply& reply) {
      return with_deadline(conn.async_exec(req, reply, use_tuple), page_limit);
    };
    co_await scan_node(on_master, master.node, pattern, key_prefix, found);
  }

  // A partition counts under its topic when the topic has it (partition < the topic's count);
  // one written to by its own name outside that range is listed by that name.
  std::set<std::string> topics;
  for (const auto& name : found) {
    const auto partition = streams::parse_partition_topic(name);
    topics.insert(partition ? std::string(partition->topic) : name);
  }
  std::map<std::string, topic_summary> listed;
  auto add = [&](topic_summary s) { listed.insert_or_assign(s.topic, std::move(s)); };
  std::map<std::string, std::uint32_t> partitions_of;
  for (const auto& name : topics) {
    try {
      auto summary = co_await summarise_topic(c, name, key_prefix);
      partitions_of[name] = summary.partitions;
      add(std::move(summary));
    } catch (const boost::system::system_error& e) {
      // Gone since the scan, or only partition streams of a topic that is not partitioned.
      if (e.code() != errc::topic_not_found) throw;
    }
  }
  for (const auto& name : found) {
    const auto partition = streams::parse_partition_topic(name);
    if (!partition) continue;
    const auto it = partitions_of.find(std::string(partition->topic));
    if (it != partitions_of.end() && partition->partition < it->second) continue;
    try {
      add(co_await summarise_topic(c, name, key_prefix));
    } catch (const boost::system::system_error& e) {
      if (e.code() != errc::topic_not_found) throw;
    }
  }
  std::vector<topic_summary> out;
  out.reserve(listed.size());
  for (auto& [name, summary] : listed) out.push_back(std::move(summary));
  co_return out;
}

}  // namespace streamq::admin

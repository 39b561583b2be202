// api/topic: one topic as the page's topic view shows it. The topic's totals come from
// admin::summarise_topic (also the 404 for a topic that does not exist); each stream's
// consumer groups (a partitioned topic has one stream per partition, "T#N") from one pipeline
// per group built in lib/streams/commands/: the sampler's topic sample and XINFO CONSUMERS.
#include "api.hpp"

#include <streamq/admin/topics.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/schedule.hpp>

#include "commands/admin_requests.hpp"
#include "commands/consumer_commands.hpp"
#include "commands/replay_requests.hpp"
#include "commands/sampling_commands.hpp"
#include "commands/sampling_requests.hpp"
#include "sansio/lag.hpp"
#include "commands/send_command.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>

namespace streamq::dashboard::detail {

namespace asio = boost::asio;
namespace json = boost::json;
namespace sd = streams::detail;

namespace {

// Delayed tasks listed at most (the count says how many there are).
constexpr std::size_t listed_delayed_tasks = 100;
// Entries one lag-counting XRANGE reads (as admin's topic summaries do).
constexpr std::uint64_t lag_page = 1000;

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// How long ago the entry `id` was added, by its ID's milliseconds and this host's clock.
json::value age_of(const std::optional<std::string>& id) {
  if (!id) return nullptr;
  return sd::id_age_ms(*id, unix_ms(std::chrono::system_clock::now()));
}

// One group of one stream: its sample (pending, oldest pending entry, dead letters) and its
// consumers, in one round trip.
asio::awaitable<json::object> group_json(client& c, const streams::topic_keys& keys,
                                         const sd::group_info& g) {
  sd::topic_sample_reply sample;
  std::vector<sd::consumer_info> consumers;
  const auto sent = co_await sd::send_commands(
      c,
      [&](resp::request& req) {
        sd::build_topic_sample(req, keys, g.name);
        sd::build_consumer_info(req, keys.stream(), g.name);
      },
      [&](std::span<const resp::value> replies) {
        if (replies.size() != sd::topic_sample_commands + 1)
          return sd::command_result{streams::errc::malformed_entry, {}};
        if (auto r = sd::decode_topic_sample(replies.first(sd::topic_sample_commands), g.name, sample); !r)
          return r;
        return sd::decode_consumer_info(replies.back(), consumers);
      });
  if (!sent) sd::throw_failure(sent);
  // streamq's lag rules (sansio/lag.hpp), as the overview's totals: Redis 7.0's own figure is
  // wrong after trimming. A group deleted since XINFO GROUPS has none.
  json::value lag = nullptr;
  bool lag_is_lower_bound = false;
  if (sample.group) {
    const auto measured = co_await sd::measure_group_lag(c, keys.stream(), sample.stream, *sample.group,
                                                         lag_page, admin::lag_count_limit);
    lag = measured.lag;
    lag_is_lower_bound = measured.lower_bound;
  }
  json::array consumer_items;
  for (const auto& e : consumers)
    consumer_items.push_back(json::object{{"name", e.name},
                                          {"pending", e.pending},
                                          {"idle_ms", e.idle_ms},
                                          {"inactive_ms", or_null(e.inactive_ms)}});
  co_return json::object{{"name", g.name},
                         {"topic", keys.topic()},
                         {"consumers", std::move(consumer_items)},
                         {"pending", g.pending},
                         {"lag", lag},
                         {"lag_is_lower_bound", lag_is_lower_bound},
                         {"last_delivered_id", g.last_delivered_id},
                         {"oldest_pending_id", sample.oldest_pending_id ? json::value(*sample.oldest_pending_id) : json::value(nullptr)},
                         {"oldest_pending_age_ms", age_of(sample.oldest_pending_id)},
                         {"dead_letters", sample.dead_letters}};
}

// The groups of the topic's streams; a stream that does not exist is skipped.
asio::awaitable<json::array> groups_of(api_context& ctx, const std::vector<std::string>& topics) {
  std::vector<std::string> streams;
  for (const auto& t : topics) streams.push_back(streams::topic_keys(t, ctx.config.key_prefix).stream());
  std::vector<sd::stream_state> states;
  if (auto r = co_await sd::stream_states(ctx.c, streams, states); !r) sd::throw_failure({{}, r});
  json::array out;
  for (std::size_t i = 0; i < topics.size(); ++i) {
    const auto& state = states[i];
    if (!state.length_result) sd::throw_failure({{}, state.length_result});
    if (!state.groups_result) {
      // XINFO GROUPS refuses a missing key (a partitioned topic's own stream, say): no groups.
      if (state.length == 0) continue;
      sd::throw_failure({{}, state.groups_result});
    }
    const streams::topic_keys keys(topics[i], ctx.config.key_prefix);
    for (const auto& g : state.groups) out.push_back(co_await group_json(ctx.c, keys, g));
  }
  co_return out;
}

asio::awaitable<json::object> delayed_json(api_context& ctx, const std::string& topic,
                                           std::uint64_t count) {
  const auto tasks = co_await ctx.scheduler.list_scheduled(topic, listed_delayed_tasks);
  json::array items;
  for (const auto& t : tasks)
    items.push_back(json::object{{"id", t.id},
                                 {"due_ms", unix_ms(t.due)},
                                 {"type", t.envelope.type()},
                                 {"message_id", t.envelope.message_id()}});
  co_return json::object{{"count", count}, {"tasks", std::move(items)}};
}

asio::awaitable<json::array> recurring_json(api_context& ctx, const std::string& topic) {
  const auto tasks = co_await ctx.scheduler.list_recurring(topic);
  const auto now = std::chrono::system_clock::now();
  json::array items;
  for (const auto& t : tasks) {
    json::value next = nullptr;
    try {
      if (const auto n = streams::schedule::parse(t.spec).next_after(now)) next = unix_ms(*n);
    } catch (const std::invalid_argument&) {
      // A spec this build cannot read: the scheduler reports it; the page shows no next time.
    }
    items.push_back(json::object{
        {"name", t.name},
        {"schedule", t.spec},
        {"paused", t.paused},
        {"next_ms", next},
        {"last_ms", t.last_occurrence ? json::value(unix_ms(*t.last_occurrence)) : json::value(nullptr)},
        {"type", t.envelope.type()}});
  }
  co_return items;
}

}  // namespace

asio::awaitable<json::value> topic_detail(api_context& ctx, const http::request&, const query_map& query) {
  const auto topic = query_topic(query, "topic");
  const auto summary = co_await admin::async_summarise_topic(ctx.c, topic, ctx.config.key_prefix);
  std::vector<std::string> topics{topic};
  for (std::uint32_t p = 0; p < summary.partitions; ++p) topics.push_back(streams::partition_topic(topic, p));
  const streams::topic_keys keys(topic, ctx.config.key_prefix);
  std::optional<std::string> first_id;
  std::optional<std::string> last_id;
  const auto bounds = co_await sd::send_commands(
      ctx.c, [&](resp::request& req) { sd::build_stream_bounds(req, keys.stream()); },
      [&](std::span<const resp::value> replies) {
        return sd::decode_stream_bounds(replies, first_id, last_id);
      });
  if (!bounds) sd::throw_failure(bounds);
  auto groups = co_await groups_of(ctx, topics);
  auto delayed = co_await delayed_json(ctx, topic, summary.delayed);
  auto recurring = co_await recurring_json(ctx, topic);
  json::array partition_topics;
  for (std::size_t i = 1; i < topics.size(); ++i) partition_topics.push_back(json::value(topics[i]));
  co_return json::object{{"topic", topic},
                         {"partitions", summary.partitions},
                         {"partition_topics", std::move(partition_topics)},
                         {"length", summary.length},
                         {"first_id", first_id ? json::value(*first_id) : json::value(nullptr)},
                         {"last_id", last_id ? json::value(*last_id) : json::value(nullptr)},
                         {"entries_added", or_null(summary.entries_added)},
                         {"lag", or_null(summary.lag)},
                         {"pending", summary.pending},
                         {"dead_letters", summary.dead_letters},
                         {"groups", std::move(groups)},
                         {"delayed", std::move(delayed)},
                         {"recurring", std::move(recurring)}};
}

}  // namespace streamq::dashboard::detail

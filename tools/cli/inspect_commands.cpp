// The read-only commands: see inspect_commands.hpp. Every request is built and decoded in
// lib/streams/commands/; this file only chooses, sends and prints.
#include "inspect_commands.hpp"

#include "cli_state.hpp"
#include "output.hpp"
#include "runner.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/names.hpp>

#include "commands/admin_requests.hpp"
#include "commands/consumer_requests.hpp"
#include "commands/delivery_requests.hpp"
#include "commands/replay_requests.hpp"
#include "commands/sampling_requests.hpp"
#include "commands/send_command.hpp"

#include <boost/system/system_error.hpp>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <span>
#include <vector>

namespace streamq::cli {

namespace asio = boost::asio;
namespace sd = streams::detail;

namespace {

command_error topic_not_found(const std::string& topic) {
  return {exit_not_found, "topic " + json_string(topic) + " does not exist"};
}

command_error group_not_found(const std::string& group, const std::string& topic) {
  return {exit_not_found, "consumer group " + json_string(group) + " does not exist on topic " +
                              json_string(topic)};
}

// XLEN and XINFO GROUPS of the topic's stream. XINFO GROUPS refuses a key that does not
// exist; an existing stream emptied by trimming has XLEN 0 and still answers.
asio::awaitable<sd::stream_state> read_stream_state(client& c, const streams::topic_keys& keys) {
  const std::vector<std::string> streams{keys.stream()};
  std::vector<sd::stream_state> states;
  const auto sent = co_await sd::send_commands(
      c, [&](resp::request& req) { sd::build_stream_states(req, streams); },
      [&](std::span<const resp::value> replies) {
        return sd::decode_stream_states(replies, 1, states);
      });
  if (!sent) sd::throw_failure(sent);
  auto& state = states.front();
  if (!state.length_result) sd::throw_failure({{}, state.length_result});
  if (!state.groups_result) {
    if (state.length == 0) throw topic_not_found(keys.topic());
    sd::throw_failure({{}, state.groups_result});
  }
  co_return std::move(state);
}

// A group command was refused: NOGROUP (the group is missing) or ERR (the stream is): say
// which, or rethrow what the server said.
asio::awaitable<void> explain_refusal(client& c, const streams::topic_keys& keys,
                                      const std::string& group, const sd::send_result& sent) {
  if (!sent.transport && (sent.reply.ec == resp::server_errc::nogroup ||
                          sent.reply.ec == resp::server_errc::generic)) {
    co_await read_stream_state(c, keys);  // throws for a missing topic
    if (sent.reply.ec == resp::server_errc::nogroup) throw group_not_found(group, keys.topic());
  }
  sd::throw_failure(sent);
}

std::string group_json(const sd::group_info& g) {
  return json_object()
      .add("name", json_string(g.name))
      .add("consumers", json_number(g.consumers))
      .add("pending", json_number(g.pending))
      .add("last_delivered_id", json_string(g.last_delivered_id))
      .add("lag", json_number(g.lag))
      .str();
}

std::string or_dash(const std::optional<std::uint64_t>& v) {
  return v ? std::to_string(*v) : "-";
}

}  // namespace

asio::awaitable<void> require_topic(client& c, const streams::topic_keys& keys) {
  co_await read_stream_state(c, keys);
}

asio::awaitable<void> require_group(client& c, const streams::topic_keys& keys,
                                    const std::string& group) {
  const auto state = co_await read_stream_state(c, keys);
  for (const auto& g : state.groups)
    if (g.name == group) co_return;
  throw group_not_found(group, keys.topic());
}

asio::awaitable<void> show_groups(client& c, output_options out, std::string topic) {
  const streams::topic_keys keys(topic, out.key_prefix);
  const auto state = co_await read_stream_state(c, keys);
  if (out.json) {
    std::vector<std::string> groups;
    for (const auto& g : state.groups) groups.push_back(group_json(g));
    std::printf("%s\n", json_object()
                            .add("topic", json_string(topic))
                            .add("groups", json_array(groups))
                            .str()
                            .c_str());
    co_return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& g : state.groups)
    rows.push_back({g.name, std::to_string(g.consumers), std::to_string(g.pending),
                    or_dash(g.lag), g.last_delivered_id});
  print_table({"GROUP", "CONSUMERS", "PENDING", "LAG", "LAST-DELIVERED"}, rows);
}

asio::awaitable<void> show_consumers(client& c, output_options out, std::string topic,
                                     std::string group) {
  const streams::topic_keys keys(topic, out.key_prefix);
  streams::validate_name(streams::name_kind::group, group);
  std::vector<sd::consumer_info> consumers;
  const auto sent = co_await sd::send_command(
      c, [&](resp::request& req) { sd::build_consumer_info(req, keys.stream(), group); },
      [&](const resp::value& v) { return sd::decode_consumer_info(v, consumers); });
  if (!sent) co_await explain_refusal(c, keys, group, sent);
  if (out.json) {
    std::vector<std::string> items;
    for (const auto& e : consumers)
      items.push_back(json_object()
                          .add("name", json_string(e.name))
                          .add("pending", json_number(e.pending))
                          .add("idle_ms", json_number(e.idle_ms))
                          .add("inactive_ms", json_number(e.inactive_ms))
                          .str());
    std::printf("%s\n", json_object()
                            .add("topic", json_string(topic))
                            .add("group", json_string(group))
                            .add("consumers", json_array(items))
                            .str()
                            .c_str());
    co_return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : consumers)
    rows.push_back({e.name, std::to_string(e.pending), std::to_string(e.idle_ms),
                    or_dash(e.inactive_ms)});
  print_table({"CONSUMER", "PENDING", "IDLE-MS", "INACTIVE-MS"}, rows);
}

asio::awaitable<void> show_topic_info(client& c, output_options out, std::string topic) {
  const streams::topic_keys keys(topic, out.key_prefix);
  const auto state = co_await read_stream_state(c, keys);
  std::optional<std::string> first_id;
  std::optional<std::string> last_id;
  const auto bounds = co_await sd::send_commands(
      c, [&](resp::request& req) { sd::build_stream_bounds(req, keys.stream()); },
      [&](std::span<const resp::value> replies) {
        return sd::decode_stream_bounds(replies, first_id, last_id);
      });
  if (!bounds) sd::throw_failure(bounds);
  // One sample per group adds its oldest pending entry and its dead-letter count.
  std::vector<sd::topic_sample_reply> samples(state.groups.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& name = state.groups[i].name;
    const auto sent = co_await sd::send_commands(
        c, [&](resp::request& req) { sd::build_topic_sample(req, keys, name); },
        [&](std::span<const resp::value> replies) {
          return sd::decode_topic_sample(replies, name, samples[i]);
        });
    if (!sent) sd::throw_failure(sent);
  }
  std::vector<std::string> group_objects;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < state.groups.size(); ++i) {
    const auto& g = state.groups[i];
    const auto& s = samples[i];
    const std::string oldest = s.oldest_pending_id.value_or("");
    group_objects.push_back(json_object()
                                .add("name", json_string(g.name))
                                .add("consumers", json_number(g.consumers))
                                .add("pending", json_number(g.pending))
                                .add("lag", json_number(g.lag))
                                .add("last_delivered_id", json_string(g.last_delivered_id))
                                .add("oldest_pending_id",
                                     s.oldest_pending_id ? json_string(oldest) : "null")
                                .add("dead_letters", json_number(s.dead_letters))
                                .str());
    rows.push_back({g.name, std::to_string(g.consumers), std::to_string(g.pending), or_dash(g.lag),
                    oldest.empty() ? "-" : oldest, std::to_string(s.dead_letters)});
  }
  if (out.json) {
    std::printf("%s\n", json_object()
                            .add("topic", json_string(topic))
                            .add("stream", json_string(keys.stream()))
                            .add("length", json_number(state.length))
                            .add("first_id", first_id ? json_string(*first_id) : "null")
                            .add("last_id", last_id ? json_string(*last_id) : "null")
                            .add("groups", json_array(group_objects))
                            .str()
                            .c_str());
    co_return;
  }
  std::printf("topic   %s\nstream  %s\nlength  %llu\nfirst   %s\nlast    %s\n\n", topic.c_str(),
              keys.stream().c_str(), static_cast<unsigned long long>(state.length),
              first_id.value_or("-").c_str(), last_id.value_or("-").c_str());
  print_table({"GROUP", "CONSUMERS", "PENDING", "LAG", "OLDEST-PENDING", "DEAD-LETTERS"}, rows);
}

asio::awaitable<void> show_pending(client& c, output_options out, pending_query query) {
  const streams::topic_keys keys(query.topic, out.key_prefix);
  streams::validate_name(streams::name_kind::group, query.group);
  const std::string retry_key;
  const std::string dead_key;
  const sd::group_ref ref{&keys, &query.group, &query.consumer, &retry_key, &dead_key, nullptr};
  const std::string start = "-";
  std::vector<sd::pending_row> rows;
  const auto sent = co_await sd::send_command(
      c,
      [&](resp::request& req) {
        sd::build_pending_entries(req, ref, std::chrono::milliseconds(0), start, query.count,
                                  query.consumer);
      },
      [&](const resp::value& v) { return sd::decode_pending_entries(v, rows); });
  if (!sent) co_await explain_refusal(c, keys, query.group, sent);
  if (out.json) {
    std::vector<std::string> entries;
    for (const auto& r : rows)
      entries.push_back(json_object()
                            .add("id", json_string(r.id))
                            .add("consumer", json_string(r.owner))
                            .add("idle_ms", std::to_string(r.idle_ms))
                            .add("deliveries", json_number(r.deliveries))
                            .str());
    std::printf("%s\n", json_object()
                            .add("topic", json_string(query.topic))
                            .add("group", json_string(query.group))
                            .add("entries", json_array(entries))
                            .str()
                            .c_str());
    co_return;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows)
    table.push_back({r.id, r.owner, std::to_string(r.idle_ms), std::to_string(r.deliveries)});
  print_table({"ID", "CONSUMER", "IDLE-MS", "DELIVERIES"}, table);
}

}  // namespace streamq::cli

namespace streamq::cli {

void add_inspect_commands(CLI::App& app, cli_state& state) {
  struct names {
    std::string topic;
    std::string group;
    pending_query pending;
  };
  const auto n = std::make_shared<names>();

  auto* groups = app.add_subcommand("groups", "List a topic's consumer groups: consumers, "
                                              "pending entries, lag, last delivered ID");
  groups->add_option("TOPIC", n->topic, "The topic")->required();
  groups->callback([&state, n] {
    state.body = [&state, n](client& c) { return show_groups(c, state.out, n->topic); };
  });

  auto* consumers = app.add_subcommand(
      "consumers", "A consumer group's consumers: pending entries, idle and inactive times");
  consumers->add_option("TOPIC", n->topic, "The topic")->required();
  consumers->add_option("GROUP", n->group, "The consumer group")->required();
  consumers->callback([&state, n] {
    state.body = [&state, n](client& c) {
      return show_consumers(c, state.out, n->topic, n->group);
    };
  });

  auto* topic_cmd = app.add_subcommand("topic", "Commands about one topic");
  topic_cmd->require_subcommand(1);
  topic_cmd->fallthrough();
  auto* topic_info = topic_cmd->add_subcommand(
      "info", "A topic's length, first and last entry IDs, and per group: "
              "consumers, pending, lag, oldest pending entry, dead letters");
  topic_info->add_option("TOPIC", n->topic, "The topic")->required();
  topic_info->callback([&state, n] {
    state.body = [&state, n](client& c) { return show_topic_info(c, state.out, n->topic); };
  });

  auto* pending_cmd = app.add_subcommand(
      "pending", "A consumer group's pending entries: ID, consumer, idle time, delivery count");
  pending_cmd->add_option("TOPIC", n->pending.topic, "The topic")->required();
  pending_cmd->add_option("GROUP", n->pending.group, "The consumer group")->required();
  pending_cmd->add_option("--count", n->pending.count, "Entries at most, oldest first")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  pending_cmd->add_option("--consumer", n->pending.consumer, "Only this consumer's entries");
  pending_cmd->callback([&state, n] {
    state.body = [&state, n](client& c) { return show_pending(c, state.out, n->pending); };
  });
}

}  // namespace streamq::cli

// `streamq topics [TOPIC]`: every topic of the deployment (or one), each with its length,
// groups, lag, pending entries and the age of the oldest, dead letters and delayed tasks
// (admin::list_topics, admin::summarise_topic).
#include "cli_state.hpp"
#include "output.hpp"

#include <streamq/admin/topics.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <cstdio>
#include <memory>

namespace streamq::cli {

namespace asio = boost::asio;

namespace {

std::string summary_json(const admin::topic_summary& t) {
  return json_object()
      .add("topic", json_string(t.topic))
      .add("partitions", json_number(t.partitions))
      .add("length", json_number(t.length))
      .add("entries_added", json_number(t.entries_added))
      .add("groups", json_number(t.groups))
      .add("lag", json_number(t.lag))
      .add("lag_is_lower_bound", t.lag_is_lower_bound ? "true" : "false")
      .add("pending", json_number(t.pending))
      .add("oldest_pending_age_ms", json_number(t.oldest_pending_age_ms))
      .add("dead_letters", json_number(t.dead_letters))
      .add("delayed", json_number(t.delayed))
      .str();
}

std::string number_or_dash(const std::optional<std::uint64_t>& v, bool lower_bound) {
  if (!v) return "-";
  return (lower_bound ? ">=" : "") + std::to_string(*v);
}

asio::awaitable<void> show_topics(client& c, const cli_state& state, std::string topic) {
  std::vector<admin::topic_summary> topics;
  if (topic.empty()) {
    topics = co_await admin::async_list_topics(c, state.out.key_prefix);
  } else {
    auto [ec, summary] = co_await admin::async_summarise_topic(c, topic, state.out.key_prefix,
                                                               asio::as_tuple(asio::use_awaitable));
    if (ec == admin::errc::topic_not_found)
      throw command_error(exit_not_found, "topic " + json_string(topic) + " does not exist");
    if (ec) throw boost::system::system_error(ec);
    topics.push_back(std::move(summary));
  }
  if (state.out.json) {
    std::vector<std::string> items;
    for (const auto& t : topics) items.push_back(summary_json(t));
    std::printf("%s\n", json_object().add("topics", json_array(items)).str().c_str());
    co_return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : topics)
    rows.push_back({t.topic, t.partitions == 0 ? "-" : std::to_string(t.partitions),
                    std::to_string(t.length), std::to_string(t.groups),
                    number_or_dash(t.lag, t.lag_is_lower_bound), std::to_string(t.pending),
                    number_or_dash(t.oldest_pending_age_ms, false), std::to_string(t.dead_letters),
                    std::to_string(t.delayed)});
  print_table({"TOPIC", "PARTITIONS", "LENGTH", "GROUPS", "LAG", "PENDING", "OLDEST-PENDING-MS",
               "DEAD-LETTERS", "DELAYED"},
              rows);
}

}  // namespace

void add_topics_command(CLI::App& app, cli_state& state) {
  const auto topic = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "topics",
      "Every topic (or TOPIC alone): length, groups, lag, pending entries and the "
      "age of the oldest, dead letters, delayed tasks");
  cmd->add_option("TOPIC", *topic, "Only this topic");
  cmd->callback([&state, topic] {
    state.body = [&state, topic](client& c) { return show_topics(c, state, *topic); };
  });
}

}  // namespace streamq::cli

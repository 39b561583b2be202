// `streamq delayed ...` and `streamq recurring ...`: see schedule_commands.hpp.
#include "schedule_commands.hpp"

#include "output.hpp"
#include "payloads.hpp"
#include "terminal.hpp"

#include <streamq/streams/scheduler.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

namespace streamq::cli {

namespace asio = boost::asio;

namespace {

// A scheduler that is never run: only its list, cancel, pause and resume calls are used.
streams::scheduler_config inspect_only(const cli_state& state) {
  streams::scheduler_config config;
  config.key_prefix = state.out.key_prefix;
  return config;
}

std::string time_or_dash(const std::optional<std::chrono::system_clock::time_point>& t) {
  return t ? utc_time_text(*t) : "-";
}

}  // namespace

asio::awaitable<void> show_delayed(client& c, const cli_state& state, std::string topic,
                                   std::size_t count) {
  const auto renderer = make_renderer(state.payloads);
  const streams::topic_keys keys(topic, state.out.key_prefix);
  streams::scheduler s(c, inspect_only(state));
  const auto tasks = co_await s.list_scheduled(topic, count);
  // A topic with tasks waiting exists even before its first message.
  if (tasks.empty()) co_await require_topic(c, keys);
  const auto waiting = co_await s.scheduled_count(topic);
  if (state.out.json) {
    std::vector<std::string> items;
    for (const auto& t : tasks)
      items.push_back(json_object()
                          .add("id", json_string(t.id))
                          .add("due_ms", unix_ms_json(t.due))
                          .add("envelope", admin::envelope_json(t.envelope, &renderer))
                          .str());
    std::printf("%s\n", json_object()
                            .add("topic", json_string(topic))
                            .add("waiting", json_number(waiting))
                            .add("tasks", json_array(items))
                            .str()
                            .c_str());
    co_return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : tasks)
    rows.push_back({t.id, utc_time_text(t.due), t.envelope.type(), t.envelope.message_id(),
                    payload_text(t.envelope, renderer)});
  print_table({"ID", "DUE", "TYPE", "MESSAGE-ID", "PAYLOAD"}, rows);
  if (waiting > tasks.size())
    std::printf("(%zu of %llu shown; --count to see more)\n", tasks.size(),
                static_cast<unsigned long long>(waiting));
}

asio::awaitable<void> cancel_delayed(client& c, const cli_state& state, std::string topic,
                                     std::string id) {
  const streams::topic_keys keys(topic, state.out.key_prefix);
  confirm(state.yes, "Cancel delayed task " + id + " of " + topic + "?",
          "cancel delayed task " + id + " of " + topic);
  streams::scheduler s(c, inspect_only(state));
  if (!co_await s.cancel_scheduled(topic, id)) {
    if (co_await s.scheduled_count(topic) == 0) co_await require_topic(c, keys);
    throw command_error(exit_not_found, "delayed task " + json_string(id) + " of topic " +
                                            json_string(topic) +
                                            " does not exist (or was already due)");
  }
  if (state.out.json)
    std::printf("%s\n", json_object()
                            .add("topic", json_string(topic))
                            .add("id", json_string(id))
                            .add("cancelled", "true")
                            .str()
                            .c_str());
  else
    std::printf("cancelled delayed task %s of %s\n", id.c_str(), topic.c_str());
}

asio::awaitable<void> show_recurring(client& c, const cli_state& state, std::string topic) {
  const auto renderer = make_renderer(state.payloads);
  const streams::topic_keys keys(topic, state.out.key_prefix);
  streams::scheduler s(c, inspect_only(state));
  const auto tasks = co_await s.list_recurring(topic);
  if (tasks.empty()) co_await require_topic(c, keys);
  const auto missed = [](streams::missed_policy p) {
    return p == streams::missed_policy::skip ? "skip" : "run_once";
  };
  if (state.out.json) {
    std::vector<std::string> items;
    for (const auto& t : tasks)
      items.push_back(json_object()
                          .add("name", json_string(t.name))
                          .add("spec", json_string(t.spec))
                          .add("on_missed", json_string(missed(t.on_missed)))
                          .add("paused", t.paused ? "true" : "false")
                          .add("last_occurrence_ms",
                               t.last_occurrence ? unix_ms_json(*t.last_occurrence) : "null")
                          .add("envelope", admin::envelope_json(t.envelope, &renderer))
                          .str());
    std::printf("%s\n", json_object()
                            .add("topic", json_string(topic))
                            .add("tasks", json_array(items))
                            .str()
                            .c_str());
    co_return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : tasks)
    rows.push_back({t.name, t.spec, t.paused ? "paused" : "active", missed(t.on_missed),
                    time_or_dash(t.last_occurrence), t.envelope.type(),
                    payload_text(t.envelope, renderer)});
  print_table({"NAME", "SCHEDULE", "STATE", "ON-MISSED", "LAST-OCCURRENCE", "TYPE", "PAYLOAD"},
              rows);
}

asio::awaitable<void> set_recurring_paused(client& c, const cli_state& state, std::string topic,
                                           std::string name, bool pause) {
  const streams::topic_keys keys(topic, state.out.key_prefix);
  streams::scheduler s(c, inspect_only(state));
  bool found = false;
  if (pause)
    found = co_await s.pause_recurring(topic, name);
  else
    found = co_await s.resume_recurring(topic, name);
  if (!found) {
    if ((co_await s.list_recurring(topic)).empty()) co_await require_topic(c, keys);
    throw command_error(exit_not_found, "recurring task " + json_string(name) + " of topic " +
                                            json_string(topic) + " does not exist");
  }
  if (state.out.json)
    std::printf("%s\n", json_object()
                            .add("topic", json_string(topic))
                            .add("name", json_string(name))
                            .add("paused", pause ? "true" : "false")
                            .str()
                            .c_str());
  else
    std::printf("%s recurring task %s of %s\n", pause ? "paused" : "resumed", name.c_str(),
                topic.c_str());
}

void add_schedule_commands(CLI::App& app, cli_state& state) {
  struct options {
    std::string topic;
    std::string id;
    std::size_t count = 100;
  };
  const auto o = std::make_shared<options>();

  auto* delayed = app.add_subcommand("delayed",
                                     "A topic's delayed tasks (scheduler::publish_at, "
                                     "publish_in) that are not yet due");
  delayed->require_subcommand(1);
  delayed->fallthrough();
  auto* list = delayed->add_subcommand("list",
                                       "Delayed tasks, earliest first: ID, due time, "
                                       "type, message ID, payload");
  list->add_option("TOPIC", o->topic, "The topic")->required();
  list->add_option("--count", o->count, "Tasks at most")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  list->callback([&state, o] {
    state.body = [&state, o](client& c) { return show_delayed(c, state, o->topic, o->count); };
  });
  auto* cancel = delayed->add_subcommand(
      "cancel", "Remove a delayed task before it is due. Asks first unless --yes");
  cancel->add_option("TOPIC", o->topic, "The topic")->required();
  cancel->add_option("ID", o->id, "The task ID (delayed list)")->required();
  cancel->callback([&state, o] {
    state.body = [&state, o](client& c) { return cancel_delayed(c, state, o->topic, o->id); };
  });

  auto* recurring = app.add_subcommand("recurring", "A topic's recurring tasks (cron or interval)");
  recurring->require_subcommand(1);
  recurring->fallthrough();
  auto* rlist = recurring->add_subcommand(
      "list", "Recurring tasks: name, schedule, paused or active, last occurrence, payload");
  rlist->add_option("TOPIC", o->topic, "The topic")->required();
  rlist->callback([&state, o] {
    state.body = [&state, o](client& c) { return show_recurring(c, state, o->topic); };
  });
  for (const bool pause : {true, false}) {
    auto* cmd = recurring->add_subcommand(
        pause ? "pause" : "resume",
        pause ? "Stop firing a recurring task until resumed (missed occurrences then follow its "
                "on_missed policy)"
              : "Fire a paused recurring task again");
    cmd->add_option("TOPIC", o->topic, "The topic")->required();
    cmd->add_option("NAME", o->id, "The task's name (recurring list)")->required();
    cmd->callback([&state, o, pause] {
      state.body = [&state, o, pause](client& c) {
        return set_recurring_paused(c, state, o->topic, o->id, pause);
      };
    });
  }
}

}  // namespace streamq::cli

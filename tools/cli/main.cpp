// streamq: the administration command (docs/cli.md). Parses the command line with CLI11,
// then runs the chosen command's coroutine with run_command (runner.hpp).
#include "inspect_commands.hpp"
#include "replay_command.hpp"
#include "runner.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <optional>
#include <string>

namespace cli = streamq::cli;

namespace {

std::string default_url() {
  const char* env = std::getenv("STREAMQ_REDIS_URL");
  return env != nullptr && *env != '\0' ? env : "redis://127.0.0.1:6379";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Inspect and operate streamq topics, consumer groups and dead letters on a Redis "
               "server.\nExit codes: 0 ok, 1 runtime error (the server refused, a timeout), 2 "
               "usage error, 3 cannot connect or authenticate, 4 topic or group not found.",
               "streamq"};
  app.require_subcommand(1);
  // Global options may follow the command too ("streamq groups T --json").
  app.fallthrough();

  cli::run_options run;
  run.url = default_url();
  long timeout_ms = 10000;
  cli::output_options out;
  // No default shown: the URL may hold a password, and --help must never print it.
  app.add_option("--redis", run.url,
                 "Server URL, redis://[user[:password]@]host[:port][/db] (also rediss://, "
                 "unix://). Default: $STREAMQ_REDIS_URL, else redis://127.0.0.1:6379");
  app.add_flag("--json", out.json, "Print one JSON object (keys in docs/cli.md)");
  app.add_option("--timeout-ms", timeout_ms, "Deadline of the whole command, connecting included")
      ->check(CLI::Range(1L, 3600L * 1000L))
      ->capture_default_str();
  app.add_option("--key-prefix", out.key_prefix, "Key prefix of the topics (consumer_config::key_prefix)")
      ->capture_default_str();

  std::optional<cli::command_body> body;

  std::string topic;
  auto* groups = app.add_subcommand("groups", "List a topic's consumer groups: consumers, "
                                              "pending entries, lag, last delivered ID");
  groups->add_option("TOPIC", topic, "The topic")->required();
  groups->callback([&] {
    body = [&](streamq::client& c) { return cli::show_groups(c, out, topic); };
  });

  std::string group;
  auto* consumers = app.add_subcommand(
      "consumers", "A consumer group's consumers: pending entries, idle and inactive times");
  consumers->add_option("TOPIC", topic, "The topic")->required();
  consumers->add_option("GROUP", group, "The consumer group")->required();
  consumers->callback([&] {
    body = [&](streamq::client& c) { return cli::show_consumers(c, out, topic, group); };
  });

  auto* topic_cmd = app.add_subcommand("topic", "Commands about one topic");
  topic_cmd->require_subcommand(1);
  topic_cmd->fallthrough();
  auto* topic_info = topic_cmd->add_subcommand(
      "info", "A topic's length, first and last entry IDs, and per group: "
              "consumers, pending, lag, oldest pending entry, dead letters");
  topic_info->add_option("TOPIC", topic, "The topic")->required();
  topic_info->callback([&] {
    body = [&](streamq::client& c) { return cli::show_topic_info(c, out, topic); };
  });

  cli::pending_query pending;
  auto* pending_cmd = app.add_subcommand(
      "pending", "A consumer group's pending entries: ID, consumer, idle time, delivery count");
  pending_cmd->add_option("TOPIC", pending.topic, "The topic")->required();
  pending_cmd->add_option("GROUP", pending.group, "The consumer group")->required();
  pending_cmd->add_option("--count", pending.count, "Entries at most, oldest first")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  pending_cmd->add_option("--consumer", pending.consumer, "Only this consumer's entries");
  pending_cmd->callback([&] {
    body = [&](streamq::client& c) { return cli::show_pending(c, out, pending); };
  });

  cli::dead_letter_query dead;
  auto* dead_cmd = app.add_subcommand("dead-letters", "A consumer group's dead letters");
  dead_cmd->require_subcommand(1);
  dead_cmd->fallthrough();
  auto* dead_list = dead_cmd->add_subcommand(
      "list", "Dead letters, oldest first: ID, original entry ID, type, attempts, last error");
  dead_list->add_option("TOPIC", dead.topic, "The topic")->required();
  dead_list->add_option("GROUP", dead.group, "The consumer group")->required();
  dead_list->add_option("--count", dead.count, "Entries at most")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  dead_list->add_option("--after", dead.after, "List those after this dead-letter ID (to page)")
      ->capture_default_str();
  dead_list->callback([&] {
    body = [&](streamq::client& c) { return cli::show_dead_letters(c, out, dead); };
  });

  cli::replay_request replay;
  auto* replay_cmd = app.add_subcommand(
      "replay", "Replay a topic's history into another topic, or count it (--dry-run). Live "
                "consumer groups are not touched.");
  replay_cmd->add_option("TOPIC", replay.topic, "The topic (\"T#N\": one partition)")->required();
  auto* from = replay_cmd->add_option("--from", replay.from_id, "Start at this entry ID (ms-seq or ms)");
  auto* from_time = replay_cmd->add_option(
      "--from-time", replay.from_time, "Start at this time, ISO 8601 UTC (2026-12-03T10:00:00Z)");
  auto* after = replay_cmd->add_option(
      "--after", replay.after, "Resume after a previous run's last position (ID or STREAM@ID)");
  from->excludes(from_time)->excludes(after);
  from_time->excludes(after);
  auto* to = replay_cmd->add_option("--to", replay.to_id, "End at this entry ID, inclusive");
  replay_cmd->add_option("--to-time", replay.to_time, "End at this time, ISO 8601 UTC")->excludes(to);
  replay_cmd->add_option("--type", replay.types, "Only envelopes of this type (repeatable)");
  auto* into = replay_cmd->add_option("--into-topic", replay.into_topic,
                                      "Republish into this topic (idempotently: a rerun adds "
                                      "each entry once)");
  auto* dry = replay_cmd->add_flag("--dry-run", replay.dry_run, "Count what would be replayed");
  into->excludes(dry);
  replay_cmd->add_option("--rate", replay.rate, "Messages per second at most (0: unlimited)")
      ->check(CLI::NonNegativeNumber);
  replay_cmd->add_option("--limit", replay.limit, "Stop after this many messages (0: no limit)");
  replay_cmd->callback([&] {
    if (!replay.dry_run && replay.into_topic.empty())
      throw CLI::ValidationError("replay", "give --into-topic TOPIC or --dry-run");
    body = [&](streamq::client& c) { return cli::run_replay(c, out, replay); };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help (exit 0) or the error; every usage error is exit code 2.
    return app.exit(e) == 0 ? cli::exit_ok : cli::exit_usage_error;
  }
  run.timeout = std::chrono::milliseconds(timeout_ms);
  return cli::run_command(run, *body);
}

// `streamq replay`: see replay_command.hpp.
#include "replay_command.hpp"

#include "cli_state.hpp"
#include "output.hpp"
#include "runner.hpp"
#include "terminal.hpp"

#include <streamq/streams/replay.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>

namespace streamq::cli {

namespace asio = boost::asio;
namespace ss = streams;

std::optional<std::chrono::system_clock::time_point> parse_utc_time(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return std::nullopt;
  std::string rest = text.substr(static_cast<std::size_t>(consumed));
  long millis = 0;
  if (!rest.empty() && rest.front() == '.') {
    std::size_t digits = 1;
    std::string fraction;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9')
      fraction += rest[digits++];
    if (fraction.empty()) return std::nullopt;
    fraction = (fraction + "00").substr(0, 3);
    millis = std::stol(fraction);
    rest = rest.substr(digits);
  }
  if (rest == "Z") rest.clear();
  if (!rest.empty() || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t seconds = ::timegm(&tm);
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

namespace {

std::chrono::system_clock::time_point time_option(const std::string& text, const char* flag) {
  const auto t = parse_utc_time(text);
  if (!t)
    throw command_error(exit_usage_error, std::string(flag) + ": not an ISO 8601 UTC time (" +
                                              "expected e.g. 2026-12-03T10:00:00Z): " + text);
  return *t;
}

// "ID" (the topic's own stream) or "STREAM@ID" (a partition, "T#N@ID").
ss::replay_position after_option(const std::string& topic, const std::string& text) {
  ss::replay_position p{topic, 0, text};
  if (const auto at = text.find('@'); at != std::string::npos) {
    p.topic = text.substr(0, at);
    p.id = text.substr(at + 1);
    if (const auto hash = p.topic.find('#'); hash != std::string::npos)
      p.partition = static_cast<std::uint32_t>(std::stoul(p.topic.substr(hash + 1)));
  }
  return p;
}

std::string position_text(const ss::replay_position& p, const std::string& topic) {
  return p.topic == topic ? p.id : p.topic + "@" + p.id;
}

const char* stop_name(ss::replay_stop stop) {
  switch (stop) {
    case ss::replay_stop::completed: return "completed";
    case ss::replay_stop::limit_reached: return "limit_reached";
    case ss::replay_stop::cancelled: return "cancelled";
    case ss::replay_stop::failed: return "failed";
  }
  return "failed";
}

// The replay of run_replay with a progress bar (see replay_command.hpp): a dry run counts what
// the replay will deliver, then the replay's progress reports move the bar.
asio::awaitable<ss::replay_result> replay_with_bar(client& c, ss::replay_options o,
                                                   ss::replay_target target) {
  auto counting = o;
  counting.dry_run = true;
  const auto counted = co_await ss::replay(c, counting, target);
  if (counted.stop == ss::replay_stop::failed || counted.stop == ss::replay_stop::cancelled)
    co_return counted;
  // One stream and no end given: end where the count did, so that what producers add meanwhile
  // neither extends the replay nor outruns the bar.
  if (o.to_id.empty() && !o.to_time && counted.streams.size() == 1 &&
      !counted.streams.front().end_id.empty())
    o.to_id = counted.streams.front().end_id;
  const std::uint64_t limit = o.max_messages;
  progress_bar bar(true, "replay", limit == 0 ? counted.matched : std::min(limit, counted.matched));
  o.on_progress = [&bar](const ss::replay_result& so_far) { bar.update(so_far.matched); };
  auto r = co_await ss::replay(c, std::move(o), std::move(target));
  bar.update(r.matched);
  bar.finish();
  co_return r;
}

}  // namespace

asio::awaitable<void> run_replay(client& c, output_options out, replay_request request) {
  ss::replay_options o;
  o.topic = request.topic;
  o.from_id = request.from_id;
  if (!request.from_time.empty()) o.from_time = time_option(request.from_time, "--from-time");
  if (!request.after.empty()) o.after = after_option(request.topic, request.after);
  o.to_id = request.to_id;
  if (!request.to_time.empty()) o.to_time = time_option(request.to_time, "--to-time");
  o.filter.types = request.types;
  for (const auto& h : request.headers) {
    const auto eq = h.find('=');
    if (eq == std::string::npos || eq == 0)
      throw command_error(exit_usage_error, "--header: expected NAME=VALUE: " + h);
    o.filter.headers[h.substr(0, eq)] = h.substr(eq + 1);
  }
  o.filter.partition_key = request.key;
  o.max_per_second = request.rate;
  o.max_messages = request.limit;
  o.dry_run = request.dry_run;
  o.key_prefix = out.key_prefix;
  // The dry run needs a target; it delivers to none.
  auto target = request.dry_run                ? ss::replay_target::into_topic(request.topic)
                : !request.into_group.empty() ? ss::replay_target::into_group(request.into_group)
                                               : ss::replay_target::into_topic(request.into_topic);
  // A group target only creates the group (its consumers then read the history): no bar.
  const bool with_bar = !request.dry_run && request.into_group.empty() &&
                        progress_wanted(out.json, stdout_is_terminal());
  ss::replay_result r;
  if (with_bar)
    r = co_await replay_with_bar(c, std::move(o), std::move(target));
  else
    r = co_await ss::replay(c, std::move(o), std::move(target));
  const std::string last = r.last ? position_text(*r.last, request.topic) : std::string();
  std::vector<std::string> groups_created;
  for (const auto& t : r.groups_created) groups_created.push_back(json_string(t));
  if (out.json) {
    std::printf("%s\n", json_object()
                            .add("topic", json_string(request.topic))
                            .add("dry_run", request.dry_run ? "true" : "false")
                            .add("stop", json_string(stop_name(r.stop)))
                            .add("read", json_number(r.read))
                            .add("matched", json_number(r.matched))
                            .add("delivered", json_number(r.delivered))
                            .add("filtered", json_number(r.filtered))
                            .add("undecodable", json_number(r.undecodable))
                            .add("duplicates", json_number(r.duplicates))
                            .add("bytes", json_number(r.bytes))
                            .add("trimmed_before", r.trimmed_before ? "true" : "false")
                            .add("last", r.last ? json_string(last) : "null")
                            .add("groups_created", json_array(groups_created))
                            .add("error", r.error ? json_string(r.diagnostic.empty()
                                                                    ? r.error.message()
                                                                    : r.diagnostic)
                                                  : "null")
                            .str()
                            .c_str());
  } else {
    std::printf("%s%s: read %llu, matched %llu, delivered %llu, filtered %llu, undecodable %llu, "
                "duplicates %llu, bytes %llu\n",
                request.dry_run ? "dry run " : "", stop_name(r.stop),
                static_cast<unsigned long long>(r.read), static_cast<unsigned long long>(r.matched),
                static_cast<unsigned long long>(r.delivered),
                static_cast<unsigned long long>(r.filtered),
                static_cast<unsigned long long>(r.undecodable),
                static_cast<unsigned long long>(r.duplicates),
                static_cast<unsigned long long>(r.bytes));
    if (r.trimmed_before)
      std::printf("warning: entries before the start were trimmed or never existed\n");
    if (r.last) std::printf("last position: %s (resume with --after %s)\n", last.c_str(), last.c_str());
    for (const auto& t : r.groups_created)
      std::printf("group %s created on %s\n", request.into_group.c_str(), t.c_str());
  }
  if (r.stop == ss::replay_stop::failed)
    throw command_error(exit_runtime_error,
                        "replay failed: " + (r.diagnostic.empty() ? r.error.message() : r.diagnostic));
}

}  // namespace streamq::cli

namespace streamq::cli {

void add_replay_command(CLI::App& app, cli_state& state) {
  const auto replay = std::make_shared<replay_request>();
  auto* cmd = app.add_subcommand(
      "replay", "Replay a topic's history into another topic, or count it (--dry-run). Live "
                "consumer groups are not touched.");
  cmd->add_option("TOPIC", replay->topic, "The topic (\"T#N\": one partition)")->required();
  auto* from = cmd->add_option("--from", replay->from_id, "Start at this entry ID (ms-seq or ms)");
  auto* from_time = cmd->add_option(
      "--from-time", replay->from_time, "Start at this time, ISO 8601 UTC (2026-12-03T10:00:00Z)");
  auto* after = cmd->add_option(
      "--after", replay->after, "Resume after a previous run's last position (ID or STREAM@ID)");
  from->excludes(from_time)->excludes(after);
  from_time->excludes(after);
  auto* to = cmd->add_option("--to", replay->to_id, "End at this entry ID, inclusive");
  cmd->add_option("--to-time", replay->to_time, "End at this time, ISO 8601 UTC")->excludes(to);
  cmd->add_option("--type", replay->types, "Only envelopes of this type (repeatable)");
  cmd->add_option("--header", replay->headers,
                  "Only envelopes with this header value, NAME=VALUE (repeatable: all must hold)");
  cmd->add_option("--key", replay->key, "Only envelopes with this partition key");
  auto* into = cmd->add_option("--into-topic", replay->into_topic,
                               "Republish into this topic (idempotently: a rerun adds each "
                               "entry once)");
  auto* into_group = cmd->add_option(
      "--into-group", replay->into_group,
      "Create this new consumer group at the start, so its consumers read the history (refused "
      "when it exists; the filters do not apply to a group)");
  auto* dry = cmd->add_flag("--dry-run", replay->dry_run, "Count what would be replayed");
  into->excludes(dry)->excludes(into_group);
  into_group->excludes(dry);
  cmd->add_option("--rate", replay->rate, "Messages per second at most (0: unlimited)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--limit", replay->limit, "Stop after this many messages (0: no limit)");
  cmd->callback([&state, replay] {
    if (!replay->dry_run && replay->into_topic.empty() && replay->into_group.empty())
      throw CLI::ValidationError("replay", "give --into-topic TOPIC, --into-group GROUP or --dry-run");
    state.body = [&state, replay](client& c) { return run_replay(c, state.out, *replay); };
  });
}

}  // namespace streamq::cli

// `streamq trim`: see trim_command.hpp.
#include "trim_command.hpp"

#include "output.hpp"
#include "terminal.hpp"

#include <streamq/streams/maintenance.hpp>

#include "commands/admin_command_requests.hpp"
#include "commands/replay_requests.hpp"
#include "commands/send_command.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <limits>
#include <memory>

namespace streamq::cli {

namespace asio = boost::asio;
namespace sd = streams::detail;

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  using namespace std::chrono;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data() || n == 0) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::uint64_t unit_ms = 0;
  if (unit == "ms")
    unit_ms = 1;
  else if (unit == "s")
    unit_ms = duration_cast<milliseconds>(seconds(1)).count();
  else if (unit == "m")
    unit_ms = duration_cast<milliseconds>(minutes(1)).count();
  else if (unit == "h")
    unit_ms = duration_cast<milliseconds>(hours(1)).count();
  else if (unit == "d")
    unit_ms = duration_cast<milliseconds>(days(1)).count();
  else
    return std::nullopt;
  if (n > static_cast<std::uint64_t>(std::numeric_limits<milliseconds::rep>::max()) / unit_ms)
    return std::nullopt;
  return milliseconds(static_cast<milliseconds::rep>(n * unit_ms));
}

namespace {

// Entries of `stream` with IDs below `cut` (what XTRIM MINID <cut> removes), counted a page at
// a time so the server is never blocked by one long scan.
asio::awaitable<std::uint64_t> count_below(client& c, const std::string& stream,
                                           const std::string& cut) {
  if (cut.empty()) co_return 0;
  constexpr std::size_t page_size = 1000;
  std::uint64_t n = 0;
  std::string start = "-";
  const std::string end = "(" + cut;
  for (;;) {
    std::vector<sd::stream_entry> page;
    const auto sent = co_await sd::send_command(
        c, [&](resp::request& req) { sd::build_replay_page(req, stream, start, end, page_size); },
        [&](const resp::value& v) { return sd::decode_replay_page(v, page); });
    if (!sent) sd::throw_failure(sent);
    n += page.size();
    if (page.size() < page_size) co_return n;
    start = "(" + page.back().id;
  }
}

std::string or_null(const std::string& s) {
  return s.empty() ? "null" : json_string(s);
}

}  // namespace

asio::awaitable<void> run_trim(client& c, const cli_state& state, trim_request request) {
  streams::retention_policy policy;
  policy.max_length = request.max_length;
  policy.trim_unacknowledged = request.trim_unacknowledged;
  if (!request.max_age.empty()) {
    const auto age = parse_duration(request.max_age);
    if (!age)
      throw command_error(exit_usage_error,
                          "--max-age: not a duration (e.g. 90s, 15m, "
                          "24h, 7d): " +
                              request.max_age);
    policy.max_age = *age;
  }
  if (policy.max_length == 0 && policy.max_age.count() == 0)
    throw command_error(exit_usage_error, "give --max-len N, --max-age DURATION, or both");
  const streams::topic_keys keys(request.topic, state.out.key_prefix);
  co_await require_topic(c, keys);

  sd::trim_plan plan;
  const auto sent = co_await sd::send_script(
      c,
      [&](resp::request& req, bool by_source) {
        sd::build_trim_plan(req, by_source, keys, policy.max_length, policy.max_age,
                            policy.trim_unacknowledged);
      },
      [&](const resp::value& v) { return sd::decode_trim_plan(v, plan); });
  if (!sent) sd::throw_failure(sent);
  const auto beyond = co_await count_below(c, keys.stream(), plan.wanted_cut);
  const auto removable = co_await count_below(c, keys.stream(), plan.safe_cut);

  if (request.dry_run) {
    if (state.out.json) {
      std::printf("%s\n", json_object()
                              .add("topic", json_string(request.topic))
                              .add("dry_run", "true")
                              .add("reason", or_null(plan.reason))
                              .add("beyond_policy", json_number(beyond))
                              .add("would_remove", json_number(removable))
                              .add("spared", json_number(beyond - removable))
                              .add("policy_cut", or_null(plan.wanted_cut))
                              .add("safe_cut", or_null(plan.safe_cut))
                              .add("held_back_by", or_null(plan.held_by))
                              .str()
                              .c_str());
      co_return;
    }
    std::printf("dry run: trimming %s would remove %llu entries", request.topic.c_str(),
                static_cast<unsigned long long>(removable));
    if (!plan.reason.empty())
      std::printf(" (%llu beyond %s, below %s)", static_cast<unsigned long long>(beyond),
                  plan.reason == "max_length" ? "--max-len" : "--max-age", plan.wanted_cut.c_str());
    std::printf("\n");
    if (beyond > removable)
      std::printf(
          "%llu entries spared: group %s still needs entries from %s (pending or not "
          "yet read); --trim-unacknowledged removes them too\n",
          static_cast<unsigned long long>(beyond - removable), plan.held_by.c_str(),
          plan.safe_cut.c_str());
    co_return;
  }
  if (removable > 0)
    confirm(state.yes, "Trim " + std::to_string(removable) + " entries from " + request.topic + "?",
            "trim " + std::to_string(removable) + " entries from " + request.topic);
  const auto removed = co_await streams::trim_topic(c, keys, policy);
  if (state.out.json) {
    std::printf("%s\n", json_object()
                            .add("topic", json_string(request.topic))
                            .add("dry_run", "false")
                            .add("removed", json_number(removed))
                            .str()
                            .c_str());
    co_return;
  }
  std::printf("trimmed %llu entries from %s\n", static_cast<unsigned long long>(removed),
              request.topic.c_str());
}

void add_trim_command(CLI::App& app, cli_state& state) {
  const auto r = std::make_shared<trim_request>();
  auto* cmd = app.add_subcommand(
      "trim",
      "Trim a topic's stream by length or age, never past what a consumer group still "
      "needs (unless --trim-unacknowledged). --dry-run reports what would go and why; "
      "a real trim asks first unless --yes");
  cmd->add_option("TOPIC", r->topic, "The topic")->required();
  cmd->add_option("--max-len", r->max_length, "Keep this many newest entries");
  cmd->add_option("--max-age", r->max_age, "Remove entries older than this (90s, 15m, 24h, 7d)");
  cmd->add_flag("--trim-unacknowledged", r->trim_unacknowledged,
                "Also remove entries a group has not acknowledged or read");
  cmd->add_flag("--dry-run", r->dry_run, "Report what a trim would remove; change nothing");
  cmd->callback(
      [&state, r] { state.body = [&state, r](client& c) { return run_trim(c, state, *r); }; });
}

}  // namespace streamq::cli

#pragma once
// `streamq replay`: streams::replay() into another topic, or a dry run that only counts.

#include "inspect_commands.hpp"  // output_options

#include <streamq/client.hpp>
#include <streamq/streams/replay.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace streamq::cli {

struct replay_request {
  std::string topic;
  std::string from_id;
  std::string from_time;  // ISO 8601 UTC: 2026-12-03T10:00:00Z (fraction of seconds allowed)
  std::string after;      // a previous run's "last": "ID", or "STREAM@ID" for a partition
  std::string to_id;
  std::string to_time;
  std::vector<std::string> types;
  std::vector<std::string> headers;  // "NAME=VALUE": the header has exactly this value
  std::optional<std::string> key;    // the envelope's partition key equals this
  std::string into_topic;
  std::string into_group;  // a new consumer group positioned at the start
  bool dry_run = false;
  double rate = 0;  // messages per second at most; 0: unlimited
  std::uint64_t limit = 0;
};

// "2026-12-03T10:00:00Z", "2026-12-03T10:00:00.250Z" or without the Z (UTC either way);
// nullopt when `text` is not one of these.
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> parse_utc_time(
    const std::string& text);

// With a progress bar (stdout a terminal, no --json; not for --dry-run, which only counts), it
// counts first with a dry run, then replays with the end fixed where the count found it (one
// stream), the bar moved by the replay's progress reports (replay_options::on_progress).
boost::asio::awaitable<void> run_replay(client& c, output_options out, replay_request request);

}  // namespace streamq::cli

#pragma once
// `streamq trim TOPIC`: trim_topic() (maintenance.hpp) for operators, and --dry-run, which
// reports what that trim would remove and why, computed by the trim's own script in plan mode
// (commands/admin_command_requests.hpp), so the two never disagree.

#include "cli_state.hpp"

#include <streamq/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streamq::cli {

struct trim_request {
  std::string topic;
  std::uint64_t max_length = 0;  // 0: no cap
  std::string max_age;           // a duration (parse_duration); empty: none
  bool trim_unacknowledged = false;
  bool dry_run = false;
};

// "250ms", "90s", "15m", "24h", "7d": a positive whole number and a unit; nullopt for anything
// else (no unit, a sign, a fraction, overflow).
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// A real trim asks first unless --yes.
boost::asio::awaitable<void> run_trim(client& c, const cli_state& state, trim_request request);

}  // namespace streamq::cli

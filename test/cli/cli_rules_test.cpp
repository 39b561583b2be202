// The streamq command's pure parts: what a failure means (exit code and message), the
// --from-time/--to-time and --max-age parsers, the JSON writer, the confirmation rule, the
// progress bar, the dead-letter selection rules.
#include "dead_letter_commands.hpp"
#include "output.hpp"
#include "replay_command.hpp"
#include "runner.hpp"
#include "terminal.hpp"
#include "trim_command.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>

#include <boost/asio/error.hpp>
#include <doctest/doctest.h>

#include <chrono>

namespace cli = streamq::cli;
using boost::system::error_code;

namespace {
const std::string where = "redis://u:***@h:1";
constexpr auto connecting = cli::connection_phase::connecting;
constexpr auto connected = cli::connection_phase::connected;
}

TEST_CASE("classify_failure: bad credentials cannot authenticate (3)") {
  for (const auto e : {streamq::resp::server_errc::wrongpass, streamq::resp::server_errc::noauth}) {
    const auto r = cli::classify_failure(error_code(make_error_code(e)), where, connecting);
    CHECK(r.code == cli::exit_unreachable);
    CHECK(r.message == "authentication failed for " + where);
  }
}

TEST_CASE("classify_failure: an ACL denial is a runtime error (1) that says so") {
  const auto r = cli::classify_failure(
      error_code(make_error_code(streamq::resp::server_errc::noperm)), where, connected);
  CHECK(r.code == cli::exit_runtime_error);
  CHECK(r.message == "permission denied by the server's ACL for " + where);
}

TEST_CASE("classify_failure: socket errors and the connect deadline cannot connect (3)") {
  const error_code refused = boost::asio::error::connection_refused;
  const error_code no_host = boost::asio::error::host_not_found;
  const error_code slow = streamq::redis::client_errc::connect_timeout;
  for (const auto& ec : {refused, no_host, slow}) {
    const auto r = cli::classify_failure(ec, where, connecting);
    CHECK(r.code == cli::exit_unreachable);
    CHECK(r.message == "cannot connect to " + where + ": " + ec.message());
  }
}

TEST_CASE("classify_failure: a connection lost mid-command is a runtime error (1) that says so") {
  const error_code eof = boost::asio::error::eof;
  const error_code reset = boost::asio::error::connection_reset;
  const error_code unknown = streamq::redis::client_errc::outcome_unknown;
  for (const auto& ec : {eof, reset, unknown}) {
    CAPTURE(ec.message());
    const auto r = cli::classify_failure(ec, where, connected);
    CHECK(r.code == cli::exit_runtime_error);
    CHECK(r.message == "connection to " + where + " lost: " + ec.message());
  }
  // The same socket errors before the first handshake: the server cannot be reached.
  CHECK(cli::classify_failure(eof, where, connecting).code == cli::exit_unreachable);
  // Bad credentials stay 3 whatever the phase.
  CHECK(cli::classify_failure(error_code(make_error_code(streamq::resp::server_errc::wrongpass)),
                              where, connected)
            .code == cli::exit_unreachable);
}

TEST_CASE("classify_failure: a command deadline and other refusals are runtime errors (1)") {
  const auto timeout =
      cli::classify_failure(streamq::redis::client_errc::timeout, where, connected);
  CHECK(timeout.code == cli::exit_runtime_error);
  CHECK(timeout.message == "timed out waiting for " + where);
  const error_code oom(make_error_code(streamq::resp::server_errc::oom));
  const auto refused = cli::classify_failure(oom, where, connected);
  CHECK(refused.code == cli::exit_runtime_error);
  CHECK(refused.message == oom.message());
}

TEST_CASE("parse_utc_time: ISO 8601 UTC with or without Z and fractions") {
  using namespace std::chrono;
  const auto base = sys_days{year{2026} / 12 / 3} + hours(10) + minutes(4) + seconds(5);
  CHECK(cli::parse_utc_time("2026-12-03T10:04:05Z") == base);
  CHECK(cli::parse_utc_time("2026-12-03T10:04:05") == base);
  CHECK(cli::parse_utc_time("2026-12-03T10:04:05.5Z") == base + milliseconds(500));
  CHECK(cli::parse_utc_time("2026-12-03T10:04:05.123789Z") == base + milliseconds(123));
}

TEST_CASE("parse_utc_time: anything else is refused") {
  for (const char* bad : {"", "yesterday", "2026-12-03", "2026-12-03 10:04:05",
                          "2026-13-03T10:04:05Z", "2026-12-03T24:00:00Z",
                          "2026-12-03T10:04:05+01:00", "2026-12-03T10:04:05.Z",
                          "2026-12-03T10:04:05Zjunk"}) {
    CAPTURE(bad);
    CHECK_FALSE(cli::parse_utc_time(bad).has_value());
  }
}

TEST_CASE("json output: strings escaped, absent numbers null, keys in order") {
  CHECK(cli::json_string("a\"b\\c\nd\x01") == "\"a\\\"b\\\\c\\nd\\u0001\"");
  CHECK(cli::json_number(std::nullopt) == "null");
  CHECK(cli::json_number(42) == "42");
  CHECK(cli::json_object().str() == "{}");
  CHECK(cli::json_object().add("a", "1").add("b", cli::json_string("x")).str() ==
        "{\"a\":1,\"b\":\"x\"}");
  CHECK(cli::json_array({}) == "[]");
  CHECK(cli::json_array({"1", "null"}) == "[1,null]");
}

TEST_CASE("utc_time_text: milliseconds, UTC, read back by parse_utc_time") {
  using namespace std::chrono;
  const auto t = sys_days{year{2026} / 12 / 3} + hours(10) + minutes(4) + seconds(5) +
                 milliseconds(250);
  CHECK(cli::utc_time_text(t) == "2026-12-03T10:04:05.250Z");
  CHECK(cli::parse_utc_time(cli::utc_time_text(t)) == t);
  CHECK(cli::unix_ms_json(system_clock::time_point(milliseconds(1700000000123))) ==
        "1700000000123");
}

TEST_CASE("confirmation: --yes proceeds, a terminal is asked, a pipe is refused") {
  CHECK(cli::confirmation_for(true, false) == cli::confirmation::proceed);
  CHECK(cli::confirmation_for(true, true) == cli::confirmation::proceed);
  CHECK(cli::confirmation_for(false, true) == cli::confirmation::ask);
  CHECK(cli::confirmation_for(false, false) == cli::confirmation::refuse);
  for (const char* yes : {"y", "Y", "yes", " YES\n", "Yes"}) {
    CAPTURE(yes);
    CHECK(cli::is_yes(yes));
  }
  for (const char* no : {"", "n", "no", "ye", "yes please", "\n"}) {
    CAPTURE(no);
    CHECK_FALSE(cli::is_yes(no));
  }
}

TEST_CASE("progress: drawn for people only, never with --json or into a pipe") {
  CHECK(cli::progress_wanted(false, true));
  CHECK_FALSE(cli::progress_wanted(true, true));
  CHECK_FALSE(cli::progress_wanted(false, false));
  CHECK_FALSE(cli::progress_wanted(true, false));
}

TEST_CASE("render_progress: a bar filled in proportion, the count and the percentage") {
  // "requeue [" + 10 + "]  5/20  25%": 9 + 10 + 1 + 11 = 31 characters.
  CHECK(cli::render_progress("requeue", 5, 20, 31) == "requeue [##........]  5/20  25%");
  CHECK(cli::render_progress("requeue", 0, 20, 31) == "requeue [...........]  0/20  0%");
  CHECK(cli::render_progress("requeue", 20, 20, 32) == "requeue [#########]  20/20  100%");
  // More done than the total (letters added meanwhile) shows as complete.
  CHECK(cli::render_progress("purge", 30, 20, 30) == cli::render_progress("purge", 20, 20, 30));
  // Nothing to do is complete at once.
  CHECK(cli::render_progress("purge", 0, 0, 24) == "purge [#####]  0/0  100%");
}

TEST_CASE("render_progress: narrow widths drop the bar, never exceed the width") {
  CHECK(cli::render_progress("requeue", 5, 20, 20) == "requeue  5/20  25%");
  for (std::size_t width = 0; width < 40; ++width) {
    CAPTURE(width);
    CHECK(cli::render_progress("requeue", 7, 300, width).size() <= width);
  }
  // Without a total: the label and the count.
  CHECK(cli::render_progress("purge", 42, std::nullopt, 80) == "purge 42");
}

TEST_CASE("parse_duration: a whole number and a unit") {
  using namespace std::chrono;
  CHECK(cli::parse_duration("250ms") == milliseconds(250));
  CHECK(cli::parse_duration("90s") == seconds(90));
  CHECK(cli::parse_duration("15m") == minutes(15));
  CHECK(cli::parse_duration("24h") == hours(24));
  CHECK(cli::parse_duration("7d") == days(7));
  for (const char* bad : {"", "10", "s", "-5s", "1.5h", "0s", "5 s", "5sec",
                          "99999999999999999999d", "9223372036854775807d"}) {
    CAPTURE(bad);
    CHECK_FALSE(cli::parse_duration(bad).has_value());
  }
}

TEST_CASE("check_selection: exactly one of IDs, a range, --all - IDs well formed") {
  cli::dead_letter_selection s;
  s.topic = "orders";
  s.group = "billing";
  const auto code = [](const cli::dead_letter_selection& sel) {
    try {
      cli::check_selection(sel);
      return cli::exit_ok;
    } catch (const cli::command_error& e) {
      return static_cast<cli::exit_code>(e.code());
    }
  };
  CHECK(code(s) == cli::exit_usage_error);  // nothing chosen
  auto ids = s;
  ids.ids = {"1700000000000-0", "1700000000001"};
  CHECK(code(ids) == cli::exit_ok);
  auto range = s;
  range.from = "-";
  range.to = "1700000000000-5";
  CHECK(code(range) == cli::exit_ok);
  auto all = s;
  all.all = true;
  CHECK(code(all) == cli::exit_ok);
  auto both = ids;
  both.all = true;
  CHECK(code(both) == cli::exit_usage_error);
  auto bad = s;
  bad.ids = {"17-0", "not-an-id"};
  CHECK(code(bad) == cli::exit_usage_error);
  auto bad_range = s;
  bad_range.from = "yesterday";
  CHECK(code(bad_range) == cli::exit_usage_error);
}


// The streamq command's pure parts: what a failure means (exit code and message), the
// --from-time/--to-time parser, and the JSON writer.
#include "output.hpp"
#include "replay_command.hpp"
#include "runner.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>

#include <boost/asio/error.hpp>
#include <doctest/doctest.h>

#include <chrono>

namespace cli = streamq::cli;
using boost::system::error_code;

namespace {
const std::string where = "redis://u:***@h:1";
}

TEST_CASE("classify_failure: bad credentials cannot authenticate (3)") {
  for (const auto e : {streamq::resp::server_errc::wrongpass, streamq::resp::server_errc::noauth}) {
    const auto r = cli::classify_failure(error_code(make_error_code(e)), where);
    CHECK(r.code == cli::exit_unreachable);
    CHECK(r.message == "authentication failed for " + where);
  }
}

TEST_CASE("classify_failure: an ACL denial is a runtime error (1) that says so") {
  const auto r = cli::classify_failure(
      error_code(make_error_code(streamq::resp::server_errc::noperm)), where);
  CHECK(r.code == cli::exit_runtime_error);
  CHECK(r.message == "permission denied by the server's ACL for " + where);
}

TEST_CASE("classify_failure: socket errors and the connect deadline cannot connect (3)") {
  const error_code refused = boost::asio::error::connection_refused;
  const error_code no_host = boost::asio::error::host_not_found;
  const error_code slow = streamq::redis::client_errc::connect_timeout;
  for (const auto& ec : {refused, no_host, slow}) {
    const auto r = cli::classify_failure(ec, where);
    CHECK(r.code == cli::exit_unreachable);
    CHECK(r.message == "cannot connect to " + where + ": " + ec.message());
  }
}

TEST_CASE("classify_failure: a command deadline and other refusals are runtime errors (1)") {
  const auto timeout = cli::classify_failure(streamq::redis::client_errc::timeout, where);
  CHECK(timeout.code == cli::exit_runtime_error);
  CHECK(timeout.message == "timed out waiting for " + where);
  const error_code oom(make_error_code(streamq::resp::server_errc::oom));
  const auto refused = cli::classify_failure(oom, where);
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

// The rule by which the scheduler and the trimmer report failures they do not throw
// (lib/streams/support/failure_log.hpp): first of a run, each change of code, then at a bounded rate;
// every failure in the last error; the end of a run once.
#include "../../lib/streams/support/failure_log.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using streamq::log_record;
using streamq::logger;
using streamq::redis::client_errc;
using streamq::resp::server_errc;
using streamq::streams::detail::error_throttle;
using streamq::streams::detail::failure_log;

namespace {
const error_throttle::clock::time_point t0{};

struct captured {
  std::string level, event, message, topic, code, failures;
};

logger capturing(std::vector<captured>& out) {
  return logger([&out](const log_record& r) {
    captured c;
    c.level = to_string(r.level);
    c.event = r.event;
    c.message = r.message;
    for (const auto& f : r.fields) {
      if (f.name == "topic") c.topic = f.value;
      if (f.name == "code") c.code = f.value;
      if (f.name == "failures") c.failures = f.value;
    }
    out.push_back(c);
  });
}
}  // namespace

TEST_CASE("error_throttle: the first failure, a changed code and one per interval are reported") {
  error_throttle throttle(1000ms);
  CHECK_FALSE(throttle.failing());
  CHECK(throttle.failed(server_errc::noperm, t0) == 1);
  CHECK(throttle.failing());
  // the same error again within the interval: held back
  CHECK(throttle.failed(server_errc::noperm, t0 + 100ms) == 0);
  CHECK(throttle.failed(server_errc::noperm, t0 + 999ms) == 0);
  // the interval has passed: reported, standing for itself and the two held back
  CHECK(throttle.failed(server_errc::noperm, t0 + 1000ms) == 3);
  CHECK(throttle.failed(server_errc::noperm, t0 + 1500ms) == 0);
  // another code is news at once, whatever the interval
  CHECK(throttle.failed(server_errc::wrongtype, t0 + 1600ms) == 2);
  CHECK(throttle.failed(server_errc::wrongtype, t0 + 1700ms) == 0);
  // a success ends the run and says how many failures it had
  CHECK(throttle.succeeded() == 7);
  CHECK_FALSE(throttle.failing());
  CHECK(throttle.succeeded() == 0);  // nothing to report twice
  // a new run is reported at once, even with the code of the last report
  CHECK(throttle.failed(server_errc::wrongtype, t0 + 1800ms) == 1);
}

TEST_CASE("failure_log: every failure is the last error, the log hears of it at a bounded rate") {
  std::vector<captured> records;
  failure_log log("scheduler", capturing(records), std::chrono::hours(1));
  CHECK_FALSE(log.last());
  CHECK_FALSE(log.failing());

  CHECK(log.failed("poll_failed", "orders", server_errc::noperm, "NOPERM no permissions") == 1);
  for (int i = 0; i < 50; ++i)
    CHECK(log.failed("poll_failed", "orders", server_errc::noperm, "NOPERM again") == 0);
  REQUIRE(records.size() == 1);
  CHECK(records[0].level == "error");  // NOPERM needs a person
  CHECK(records[0].event == "poll_failed");
  CHECK(records[0].message == "NOPERM no permissions");
  CHECK(records[0].topic == "orders");
  CHECK(records[0].code == streamq::streams::detail::code_string(server_errc::noperm));
  CHECK(records[0].failures == "1");
  CHECK(log.failing());
  CHECK(log.last().code == server_errc::noperm);
  CHECK(log.last().text == "NOPERM again");  // the latest, though not logged
  CHECK(log.last().topic == "orders");

  // topics are throttled apart: another topic's failure is reported at once
  CHECK(log.failed("poll_failed", "emails", client_errc::not_connected, "lost") == 1);
  REQUIRE(records.size() == 2);
  CHECK(records[1].level == "warning");  // connection trouble heals by itself
  CHECK(log.last().topic == "emails");

  CHECK(log.succeeded("poll_recovered", "orders") == 51);
  REQUIRE(records.size() == 3);
  CHECK(records[2].level == "info");
  CHECK(records[2].event == "poll_recovered");
  CHECK(records[2].failures == "51");
  CHECK(log.failing());  // "emails" still fails
  CHECK(log.succeeded("poll_recovered", "emails") == 1);
  CHECK_FALSE(log.failing());
  CHECK(log.succeeded("poll_recovered", "emails") == 0);
  CHECK(records.size() == 4);
  CHECK(log.last().code == client_errc::not_connected);  // kept after recovery
}

TEST_CASE("failure_log: an event hook that throws is logged, not propagated") {
  std::vector<captured> records;
  const failure_log log("trimmer", capturing(records), 1000ms);
  const std::function<void(const int&)> hook = [](const int&) {
    throw std::runtime_error("hook failed");
  };
  log.notify(hook, 7);
  REQUIRE(records.size() == 1);
  CHECK(records[0].event == "on_event_threw");
  CHECK(records[0].message == "hook failed");
  const std::function<void(const int&)> none;
  log.notify(none, 7);  // no hook: nothing happens
  CHECK(records.size() == 1);
}

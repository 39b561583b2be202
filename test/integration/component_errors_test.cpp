// Failures the scheduler and the trimmer do not throw reach their event hook, their logger and
// health(), at a bounded rate while they persist, and their end is reported too. The failure
// here is real: an ACL user that may not touch one topic's keys (NOPERM from the server).
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/log.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/retention.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <algorithm>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::log_level;
using streamq::log_record;
using streamq::logger;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::resp::server_errc;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::scheduler_event;
using streamq::streams::topic_keys;
using streamq::streams::topic_trimmer;
using streamq::streams::trimmer_config;
using streamq::streams::trimmer_event;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::wait_until;

namespace {

struct record {
  std::string level, event, topic, code, failures;
};

logger capture(std::vector<record>& out) {
  return logger(
      [&out](const log_record& r) {
        record copy;
        copy.level = to_string(r.level);
        copy.event = r.event;
        for (const auto& f : r.fields) {
          if (f.name == "topic") copy.topic = f.value;
          if (f.name == "code") copy.code = f.value;
          if (f.name == "failures") copy.failures = f.value;
        }
        out.push_back(copy);
      },
      log_level::debug);
}

std::size_t log_count(const std::vector<record>& records, std::string_view event) {
  return std::count_if(records.begin(), records.end(),
                       [&](const record& r) { return r.event == event; });
}

template <class Event, class Kind>
std::size_t event_count(const std::vector<Event>& events, Kind what) {
  return std::count_if(events.begin(), events.end(),
                       [&](const Event& e) { return e.what == what; });
}

// A user with every command on the keys of `allowed` only.
std::string limited_user(const redis_server& server, const std::string& allowed) {
  const auto reply = server.command({"ACL", "SETUSER", "limited", "on", ">Sq-NoLeak-pw", "+@all",
                                     "~streamq:{" + allowed + "}:*"});
  REQUIRE(reply == "+OK\r\n");
  return "redis://limited:Sq-NoLeak-pw@127.0.0.1:" + std::to_string(server.port());
}

void grant(const redis_server& server, const std::string& topic) {
  REQUIRE(server.command({"ACL", "SETUSER", "limited", "~streamq:{" + topic + "}:*"}) == "+OK\r\n");
}

Order order(const std::string& id) {
  Order o;
  o.set_id(id);
  return o;
}

}  // namespace

TEST_CASE("a scheduler refused one topic's keys reports it once, serves the other, recovers") {
  redis_server server;
  const auto allowed = streamq::test::unique_topic();
  const auto denied = allowed + "-denied";
  std::vector<record> records;
  std::vector<scheduler_event> events;
  streamq::test::run_with_client(
      limited_user(server, allowed), [&](client& c) -> asio::awaitable<void> {
        scheduler_config config;
        config.topics = {allowed, denied};
        config.max_sleep = 50ms;
        config.retry_delay = 20ms;
        config.error_report_interval = std::chrono::hours(1);  // one report while it lasts
        config.log = capture(records);
        config.on_event = [&](const scheduler_event& e) { events.push_back(e); };
        scheduler s(c, config);
        const auto before = std::chrono::system_clock::now();
        co_await s.publish_in(allowed, order("due"), 0ms);
        auto scenario = [&]() -> asio::awaitable<void> {
          co_await wait_until([&] { return s.stats().moved == 1 && s.stats().poll_errors >= 5; });
          const auto h = s.health();
          CHECK(h.running);
          CHECK(h.failing);
          CHECK_FALSE(h.healthy());
          CHECK(h.last_error.code == server_errc::noperm);
          CHECK(h.last_error.topic == denied);
          CHECK(h.last_error.text.find("NOPERM") != std::string::npos);
          CHECK(h.last_error.at >= before);
          // reported once, though it failed every poll
          CHECK(event_count(events, scheduler_event::kind::poll_failed) == 1);
          REQUIRE(log_count(records, "poll_failed") == 1);
          const auto& logged = *std::find_if(records.begin(), records.end(), [](const record& r) {
            return r.event == "poll_failed";
          });
          CHECK(logged.level == "error");
          CHECK(logged.topic == denied);
          CHECK_FALSE(logged.code.empty());
          CHECK(logged.failures == "1");
          CHECK(events.front().topic == denied);
          CHECK(events.front().error == server_errc::noperm);

          grant(server, denied);
          co_await wait_until(
              [&] { return event_count(events, scheduler_event::kind::poll_recovered) == 1; });
          CHECK_FALSE(s.health().failing);
          CHECK(s.health().healthy());
          CHECK(s.health().last_error.code == server_errc::noperm);  // kept after recovery
          CHECK(log_count(records, "poll_recovered") == 1);
          const auto recovered = std::find_if(events.begin(), events.end(), [](const auto& e) {
            return e.what == scheduler_event::kind::poll_recovered;
          });
          CHECK(recovered->topic == denied);
          CHECK(recovered->failures >= 5);
        };
        std::exception_ptr failure;
        co_await streamq::run_until(s.run(), streamq::test::capture_failure(scenario(), failure));
        if (failure) std::rethrow_exception(failure);
      });
}

TEST_CASE("a trimmer refused one topic's keys reports it at a bounded rate and recovers") {
  redis_server server;
  const auto allowed = streamq::test::unique_topic();
  const auto denied = allowed + "-denied";
  std::vector<record> records;
  std::vector<trimmer_event> events;
  streamq::test::run_with_client(
      limited_user(server, allowed), [&](client& c) -> asio::awaitable<void> {
        request add;
        for (int i = 0; i < 20; ++i)
          add.push("XADD", key{topic_keys(allowed).stream()}, "*", "v", "1", "e", "x");
        streamq::resp::generic_response added;
        co_await c.async_exec(add, added);
        trimmer_config config;
        config.topics.push_back({denied, {.max_length = 5}});
        config.topics.push_back({allowed, {.max_length = 5}});
        config.interval = 20ms;
        config.error_report_interval = 200ms;
        config.log = capture(records);
        config.on_event = [&](const trimmer_event& e) { events.push_back(e); };
        topic_trimmer trimmer(c, config);
        auto scenario = [&]() -> asio::awaitable<void> {
          co_await wait_until(
              [&] { return event_count(events, trimmer_event::kind::trim_failed) >= 2; });
          const auto st = trimmer.stats();
          CHECK(st.entries_trimmed == 15);  // an error reply does not stop the round
          CHECK(st.topics[0].errors == st.errors);
          const auto reported = event_count(events, trimmer_event::kind::trim_failed);
          CHECK(reported < st.errors);  // bounded: not one report per failure
          CHECK(log_count(records, "trim_failed") == reported);
          std::uint64_t covered = 0;
          for (const auto& e : events) covered += e.failures;
          CHECK(covered <= st.errors);
          CHECK(covered > reported);  // later reports stand for the failures held back
          const auto h = trimmer.health();
          CHECK(h.failing);
          CHECK(h.last_error.code == server_errc::noperm);
          CHECK(h.last_error.topic == denied);
          CHECK(events.front().topic == denied);

          grant(server, denied);
          co_await wait_until(
              [&] { return event_count(events, trimmer_event::kind::trim_recovered) == 1; });
          CHECK_FALSE(trimmer.health().failing);
          CHECK(log_count(records, "trim_recovered") == 1);
        };
        std::exception_ptr failure;
        co_await streamq::run_until(trimmer.run(),
                                    streamq::test::capture_failure(scenario(), failure));
        if (failure) std::rethrow_exception(failure);
      });
}

TEST_CASE("a recurring task the scheduler cannot read is reported once, not skipped silently") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  std::vector<record> records;
  std::vector<scheduler_event> events;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    const auto envelope =
        streamq::streams::make_envelope(order("x"), streamq::streams::envelope_options{});
    request req;
    // a spec this build does not know, and a message that is no envelope
    req.push("HSET", key{topic_keys(topic).cron()}, "alien|spec", "lunar:every full moon",
             "alien|env", envelope.SerializeAsString(), "garbled|spec", "every:1000ms@0",
             "garbled|env", "\xff\xff");
    response<std::int64_t> set;
    co_await c.async_exec(req, set);
    REQUIRE(set.get<0>().has_value());
    scheduler_config config;
    config.topics = {topic};
    config.max_sleep = 20ms;
    config.log = capture(records);
    config.on_event = [&](const scheduler_event& e) { events.push_back(e); };
    scheduler s(c, config);
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return s.stats().polls >= 10; });
    };
    std::exception_ptr failure;
    co_await streamq::run_until(s.run(), streamq::test::capture_failure(scenario(), failure));
    if (failure) std::rethrow_exception(failure);
    CHECK(event_count(events, scheduler_event::kind::recurring_task_unreadable) == 2);
    CHECK(log_count(records, "recurring_task_unreadable") == 2);
    for (const auto& e : events) CHECK(e.topic == topic);
    CHECK(s.stats().poll_errors == 0);
  });
}

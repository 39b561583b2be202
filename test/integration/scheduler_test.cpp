// Delayed tasks, recurring tasks and idempotent publishing against a real redis-server (one
// process; the multi-process cases are in scheduler_process_test.cpp).
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::envelope_options;
using streamq::streams::missed_policy;
using streamq::streams::publisher;
using streamq::streams::publisher_config;
using streamq::streams::schedule;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::wait_until;

using streamq::test::read_topic;
using streamq::test::topic_length;
using streamq::test::unix_ms;

namespace {

Order order(const std::string& id) {
  Order o;
  o.set_id(id);
  return o;
}

// Runs `scenario` while `s` runs, then stops `s`.
asio::awaitable<void> while_scheduling(scheduler& s,
                                       std::function<asio::awaitable<void>()> scenario) {
  std::exception_ptr failure;
  co_await (s.run() || streamq::test::capture_failure(scenario(), failure));
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

TEST_CASE("a delayed task is moved when due and not before, cancelled tasks never are") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler_config config;
    config.topics.push_back(topic);
    scheduler s(c, config);
    const auto due = std::chrono::system_clock::now() + 300ms;
    const auto kept = co_await s.publish_at(topic, order("kept"), due);
    const auto dropped = co_await s.publish_at(topic, order("dropped"), due);
    const auto later = co_await s.publish_in(topic, order("later"), std::chrono::hours(1));
    CHECK(co_await s.scheduled_count(topic) == 3);
    auto listed = co_await s.list_scheduled(topic, 10);
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].id == kept);
    CHECK(listed[1].id == dropped);
    CHECK(listed[2].id == later);
    CHECK(listed[2].due > listed[0].due);
    CHECK(co_await s.cancel_scheduled(topic, dropped));
    CHECK_FALSE(co_await s.cancel_scheduled(topic, dropped));  // already gone
    co_await while_scheduling(s, [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return s.stats().moved == 1; });
      co_await sleep_for(400ms);  // the cancelled one was due too: it must not appear
    });
    const auto entries = co_await read_topic(c, topic);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].order.id() == "kept");
    CHECK(entries[0].added_ms >= unix_ms(due));
    std::printf("delayed task lateness: %lld ms\n",
                static_cast<long long>(entries[0].added_ms - unix_ms(due)));
    CHECK_FALSE(co_await s.cancel_scheduled(topic, kept));  // moved: too late to cancel
    listed = co_await s.list_scheduled(topic, 10);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].id == later);
    CHECK(s.stats().cancelled == 1);
  });
}

TEST_CASE("tasks due at the same time are delivered in the order they were scheduled") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler_config config;
    config.topics.push_back(topic);
    config.batch = 64;  // several polls, each continuing where the last stopped
    scheduler s(c, config);
    const auto due = std::chrono::system_clock::now() + 200ms;
    for (int i = 0; i < 300; ++i) co_await s.publish_at(topic, order(std::to_string(i)), due);
    co_await while_scheduling(s, [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return s.stats().moved == 300; });
    });
    const auto entries = co_await read_topic(c, topic);
    REQUIRE(entries.size() == 300);
    for (int i = 0; i < 300; ++i) CHECK(entries[i].order.id() == std::to_string(i));
  });
}

TEST_CASE("a sooner task scheduled by this process wakes a sleeping poller") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler_config config;
    config.topics.push_back(topic);
    config.max_sleep = 30s;  // without the wake-up, the task would wait this long
    scheduler s(c, config);
    co_await while_scheduling(s, [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return s.stats().polls >= 1; });
      co_await sleep_for(100ms);  // the poller is asleep now, with nothing to wait for
      const auto due = std::chrono::system_clock::now() + 100ms;
      co_await s.publish_at(topic, order("soon"), due);
      co_await wait_until([&] { return s.stats().moved == 1; }, 5s);
      const auto entries = co_await read_topic(c, topic);
      REQUIRE(entries.size() == 1);
      CHECK(entries[0].added_ms >= unix_ms(due));
      std::printf("woken poller lateness: %lld ms\n",
                  static_cast<long long>(entries[0].added_ms - unix_ms(due)));
    });
  });
}

TEST_CASE("50 concurrent publishes with one idempotency key add one entry, the window expires") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher_config config;
    config.dedup_window = 1500ms;
    publisher pub(c, config);
    envelope_options options;
    options.idempotency_key = "order-42";
    std::vector<std::string> ids;
    std::size_t done = 0;
    for (int i = 0; i < 50; ++i)
      asio::co_spawn(
          c.get_executor(),
          [&]() -> asio::awaitable<void> {
            ids.push_back(co_await pub.publish(topic, order("42"), options));
          },
          [&](std::exception_ptr e) {
            if (!e) ++done;
          });
    co_await wait_until([&] { return done == 50; });
    CHECK(co_await topic_length(c, topic) == 1);
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 1);
    CHECK(pub.stats().published == 1);
    CHECK(pub.stats().duplicates == 49);
    request req;
    req.push("HGET", key{topic_keys(topic).meta()}, "duplicates_suppressed");
    response<std::string> suppressed;
    co_await c.async_exec(req, suppressed);
    CHECK(suppressed.get<0>().value() == "49");

    co_await sleep_for(1600ms);  // the window has passed: the key is free again
    const auto again = co_await pub.publish(topic, order("42"), options);
    CHECK(again != ids.front());
    CHECK(co_await topic_length(c, topic) == 2);
  });
}

TEST_CASE("content mode suppresses identical messages and lets different ones through") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    envelope_options options;
    options.dedup_by_content = true;
    const auto first = co_await pub.publish(topic, order("a"), options);
    const auto same = co_await pub.publish(topic, order("a"), options);
    const auto other = co_await pub.publish(topic, order("b"), options);
    CHECK(first == same);
    CHECK(other != first);
    CHECK(co_await topic_length(c, topic) == 2);
    CHECK(pub.stats().duplicates == 1);
    // The key depends on the type too: the same bytes as another type are another message.
    CHECK(streamq::streams::content_idempotency_key("a.A", "x") !=
          streamq::streams::content_idempotency_key("a.B", "x"));

    // A batch is deduplicated as well, against earlier publishes and within itself.
    std::vector<streamq::v1::Envelope> batch;
    batch.push_back(streamq::streams::make_envelope(order("a"), options));
    batch.push_back(streamq::streams::make_envelope(order("c"), options));
    batch.push_back(streamq::streams::make_envelope(order("c"), options));
    const auto ids = co_await pub.publish_batch(topic, batch);
    REQUIRE(ids.size() == 3);
    CHECK(ids[0] == first);
    CHECK(ids[1] == ids[2]);
    CHECK(co_await topic_length(c, topic) == 3);
  });
}

TEST_CASE("a scheduled task with an idempotency key is scheduled once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler s(c, scheduler_config{});
    envelope_options options;
    options.idempotency_key = "reminder-7";
    const auto a = co_await s.publish_in(topic, order("7"), 1h, options);
    const auto b = co_await s.publish_in(topic, order("7"), 2h, options);
    CHECK(a == b);
    CHECK(co_await s.scheduled_count(topic) == 1);
    CHECK(s.stats().duplicates == 1);
  });
}

TEST_CASE("a recurring task run by three schedulers fires once per occurrence") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler_config config;
    config.topics.push_back(topic);
    scheduler a(c, config), b(c, config), d(c, config);
    const schedule every(streamq::streams::interval_schedule(
        300ms,
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now())));
    // Every process registers it at start-up: the same schedule keeps its history.
    co_await a.upsert_recurring(topic, "tick", every, order("tick"), missed_policy::skip);
    co_await b.upsert_recurring(topic, "tick", every, order("tick"), missed_policy::skip);
    co_await d.upsert_recurring(topic, "tick", every, order("tick"), missed_policy::skip);
    std::exception_ptr failure;
    co_await (a.run() || b.run() || d.run() ||
              streamq::test::capture_failure(sleep_for(2100ms), failure));
    const auto entries = co_await read_topic(c, topic);
    std::set<std::string> occurrences;
    for (const auto& e : entries) occurrences.insert(e.envelope.headers().at("streamq-occurrence"));
    CHECK(occurrences.size() == entries.size());  // no occurrence twice
    CHECK(entries.size() >= 6);
    CHECK(entries.size() <= 7);
    for (std::size_t i = 1; i < entries.size(); ++i)  // none skipped
      CHECK(entries[i].envelope.created_at_unix_ms() -
                entries[i - 1].envelope.created_at_unix_ms() ==
            300);
    // Every counted fire is an entry. A fire in flight when the run is cancelled is given up
    // by its scheduler (run() returns promptly) though its script may have run: it lands
    // uncounted, at most one per scheduler.
    const auto fired =
        a.stats().recurring_fired + b.stats().recurring_fired + d.stats().recurring_fired;
    CHECK(fired <= entries.size());
    CHECK(fired + 3 >= entries.size());
  });
}

TEST_CASE("missed occurrences: skip drops them, run_once fires one catch-up") {
  redis_server server;
  for (const auto policy : {missed_policy::skip, missed_policy::run_once}) {
    CAPTURE(static_cast<int>(policy));
    const auto topic = streamq::test::unique_topic();
    streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
      scheduler_config config;
      config.topics.push_back(topic);
      config.misfire_grace = 100ms;
      const schedule every(streamq::streams::interval_schedule(
          200ms, std::chrono::time_point_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now())));
      {
        scheduler s(c, config);
        co_await s.upsert_recurring(topic, "tick", every, order("tick"), policy);
        std::exception_ptr failure;
        co_await (s.run() || streamq::test::capture_failure(sleep_for(500ms), failure));
      }
      const auto before = (co_await read_topic(c, topic)).size();
      CHECK(before >= 2);
      co_await sleep_for(1000ms);  // nothing runs: about five occurrences pass
      scheduler s(c, config);
      std::exception_ptr failure;
      co_await (s.run() || streamq::test::capture_failure(sleep_for(50ms), failure));
      const auto entries = co_await read_topic(c, topic);
      std::size_t late = 0;
      for (std::size_t i = before; i < entries.size(); ++i)
        if (entries[i].added_ms - entries[i].envelope.created_at_unix_ms() > 100) ++late;
      CHECK(late == (policy == missed_policy::run_once ? 1U : 0U));
      if (policy == missed_policy::skip) CHECK(s.stats().recurring_skipped == 1);
    });
  }
}

TEST_CASE("recurring tasks can be listed, paused, resumed and removed") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler_config config;
    config.topics.push_back(topic);
    scheduler s(c, config);
    const auto nightly = schedule::parse("cron:0 2 * * *@Europe/Berlin");
    co_await s.upsert_recurring(topic, "nightly", nightly, order("n"), missed_policy::run_once);
    const schedule fast(streamq::streams::interval_schedule(
        100ms,
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now())));
    co_await s.upsert_recurring(topic, "fast", fast, order("f"), missed_policy::skip);
    auto tasks = co_await s.list_recurring(topic);
    REQUIRE(tasks.size() == 2);
    CHECK(tasks[0].name == "fast");
    CHECK(tasks[1].name == "nightly");
    CHECK(tasks[1].spec == nightly.spec());
    CHECK(tasks[1].on_missed == missed_policy::run_once);
    CHECK(tasks[1].last_occurrence.has_value());

    CHECK(co_await s.pause_recurring(topic, "fast"));
    CHECK_FALSE(co_await s.pause_recurring(topic, "nope"));
    std::exception_ptr failure;
    co_await (s.run() || streamq::test::capture_failure(sleep_for(400ms), failure));
    CHECK(co_await topic_length(c, topic) == 0);  // paused: nothing fired
    CHECK(co_await s.resume_recurring(topic, "fast"));
    co_await (s.run() || streamq::test::capture_failure(sleep_for(450ms), failure));
    const auto fired = co_await topic_length(c, topic);
    CHECK(fired >= 3);
    CHECK(co_await s.remove_recurring(topic, "fast"));
    co_await (s.run() || streamq::test::capture_failure(sleep_for(300ms), failure));
    CHECK(co_await topic_length(c, topic) == fired);
    tasks = co_await s.list_recurring(topic);
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].name == "nightly");
  });
}

TEST_CASE("scheduler configuration is validated, naming the field") {
  redis_server server;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    auto message_of = [&](scheduler_config config) -> std::string {
      try {
        scheduler s(c, std::move(config));
      } catch (const std::invalid_argument& e) {
        return e.what();
      }
      return "";
    };
    scheduler_config bad_topic;
    bad_topic.topics.push_back("a b");
    CHECK(message_of(bad_topic).find("topics") != std::string::npos);
    scheduler_config zero_sleep;
    zero_sleep.max_sleep = 0ms;
    CHECK(message_of(zero_sleep).find("max_sleep") != std::string::npos);
    scheduler_config zero_batch;
    zero_batch.batch = 0;
    CHECK(message_of(zero_batch).find("batch") != std::string::npos);
    co_return;
  });
}

TEST_CASE("scheduler durations beyond max_duration are refused, naming the field") {
  using ms = std::chrono::milliseconds;
  const std::vector<std::pair<std::string, ms scheduler_config::*>> fields{
      {"max_sleep", &scheduler_config::max_sleep},
      {"misfire_grace", &scheduler_config::misfire_grace},
      {"dedup_window", &scheduler_config::dedup_window},
      {"retry_delay", &scheduler_config::retry_delay},
      {"error_report_interval", &scheduler_config::error_report_interval}};
  for (const auto& [name, field] : fields) {
    scheduler_config config;
    config.*field = scheduler_config::max_duration;
    CHECK_NOTHROW(config.validate());
    // Near milliseconds::max(), a deadline computed from it would overflow.
    for (const ms bad : {scheduler_config::max_duration + ms(1), ms::max()}) {
      config.*field = bad;
      CHECK_THROWS_WITH_AS(config.validate(),
                           doctest::Contains(("scheduler_config." + name).c_str()),
                           std::invalid_argument);
    }
  }
  scheduler_config zero_interval;
  zero_interval.error_report_interval = ms(0);
  CHECK_THROWS_AS(zero_interval.validate(), std::invalid_argument);
}

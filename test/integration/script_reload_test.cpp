// Every operation that runs a Lua script by SHA keeps working when the server forgets its
// scripts (SCRIPT FLUSH, a restart, a failover to a replica that never saw them): the NOSCRIPT
// reply is answered by sending the source once, and nothing runs twice.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <map>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::consumer;
using streamq::streams::envelope_options;
using streamq::streams::message_context;
using streamq::streams::missed_policy;
using streamq::streams::publisher;
using streamq::streams::schedule;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::test::info_number;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::wait_until;

namespace {
Order order(const std::string& id) {
  Order o;
  o.set_id(id);
  return o;
}

asio::awaitable<void> flush_scripts(client& c) {
  request req;
  req.push("SCRIPT", "FLUSH");
  response<std::string> ok;
  co_await c.async_exec(req, ok);
  REQUIRE(ok.get<0>().value() == "OK");
}

}  // namespace

TEST_CASE("after SCRIPT FLUSH every scripted operation works again, each exactly once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    scheduler_config sc;
    sc.topics.push_back(topic);
    scheduler s(c, sc);
    consumer cons(c, {.group = "g", .block = 100ms});
    std::map<std::string, int> runs;
    streamq::streams::subscription_options once;
    once.once = true;
    cons.subscribe<Order>(
        topic,
        [&](const Order& o, message_context&) -> asio::awaitable<void> {
          ++runs[o.id()];
          co_return;
        },
        once);
    const schedule hourly(streamq::streams::interval_schedule(
        1h, std::chrono::time_point_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now() + 1h)));

    // Round 0 loads every script (the fresh server answers NOSCRIPT first); round 1 runs after
    // the server forgot them all.
    for (int round = 0; round < 2; ++round) {
      if (round == 1) {
        CHECK(co_await info_number(c, "memory", "number_of_cached_scripts") > 0);
        co_await flush_scripts(c);
        REQUIRE(co_await info_number(c, "memory", "number_of_cached_scripts") == 0);
      }
      const std::string r = std::to_string(round);
      // Deduplicated publish: the second is suppressed and returns the first's ID.
      envelope_options keyed;
      keyed.idempotency_key = "key-" + r;
      const auto first = co_await pub.publish(topic, order("keyed-" + r), keyed);
      const auto second = co_await pub.publish(topic, order("keyed-" + r), keyed);
      CHECK(first == second);
      // Delayed tasks: schedule, list, cancel; one due at once is moved by the poller.
      const auto later = co_await s.publish_in(topic, order("later-" + r), 1h);
      const auto listed = co_await s.list_scheduled(topic, 10);
      REQUIRE(listed.size() == 1);
      CHECK(listed[0].id == later);
      CHECK(co_await s.cancel_scheduled(topic, later));
      co_await s.publish_in(topic, order("due-" + r), 0ms);
      // Recurring tasks: register, pause.
      co_await s.upsert_recurring(topic, "hourly-" + r, hourly, order("tick"), missed_policy::skip);
      CHECK(co_await s.pause_recurring(topic, "hourly-" + r));
      // Consuming with `once` acknowledges through a script too. The poller moves "due-".
      if (round == 1) co_await flush_scripts(c);  // again, so the poll and ack meet NOSCRIPT
      co_await (s.run() || cons.run() || wait_until([&] {
                  return runs["keyed-" + r] == 1 && runs["due-" + r] == 1 &&
                         cons.stats().acked == 2u * (static_cast<unsigned>(round) + 1);
                }));
      MESSAGE("round " << round << ": acked " << cons.stats().acked << ", moved "
                       << s.stats().moved);
    }
    CHECK(runs.size() == 4);
    for (const auto& [id, n] : runs) CHECK_MESSAGE(n == 1, id);
    CHECK(co_await streamq::test::pending_count(c, topic, "g") == 0);
    CHECK(s.stats().duplicates == 0);
    const auto recurring = co_await s.list_recurring(topic);
    CHECK(recurring.size() == 2);
  });
}

// How consumer::run() stops: a read already sent when the stop comes is finished, not dropped,
// and the stop is bounded even when the server does not answer.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <map>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::consumer;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::test::info_number;
using streamq::test::Order;
using streamq::test::pending_count;
using streamq::test::redis_server;
using streamq::test::sleep_for;

namespace {
// Until the consumer's XREADGROUP waits in the server (INFO's blocked_clients), at most 1 s.
asio::awaitable<void> wait_for_blocked_read(client& c) {
  for (int i = 0; i < 500; ++i) {
    if (co_await info_number(c, "clients", "blocked_clients") >= 1) co_return;
    co_await sleep_for(2ms);
  }
}

Order order(int i) {
  Order o;
  o.set_id("order-" + std::to_string(i));
  return o;
}
}  // namespace

TEST_CASE("stopping while a read is in flight handles what it returns, nothing is left pending") {
  redis_server server;
  // Repeated: whether the read's reply is already parsed when the stop comes varies per round.
  for (int round = 0; round < 20; ++round) {
    const auto topic = streamq::test::unique_topic();
    streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
      publisher pub(c);
      consumer cons(c, {.group = "g", .concurrency = 4, .block = 300ms, .shutdown_grace = 5s});
      std::map<std::string, int> handled;
      cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
        co_await sleep_for(20ms);
        ++handled[o.id()];
      });
      std::exception_ptr failure;
      auto scenario = [&]() -> asio::awaitable<void> {
        // The consumer's XREADGROUP is blocked in the server...
        co_await wait_for_blocked_read(c);
        REQUIRE(co_await info_number(c, "clients", "blocked_clients") == 1);
        // ...when an entry arrives: the server hands it to that read (into the consumer's PEL)
        // before it answers the XADD. Stopping now races the read's reply.
        co_await pub.publish(topic, order(round));
      };
      const auto asked = std::chrono::steady_clock::now();
      co_await (cons.run() || streamq::test::capture_failure(scenario(), failure));
      const auto took = std::chrono::steady_clock::now() - asked;
      if (failure) std::rethrow_exception(failure);
      CHECK(handled.size() == 1);
      CHECK(handled["order-" + std::to_string(round)] == 1);
      CHECK(cons.stats().acked == 1);
      CHECK(co_await pending_count(c, topic, "g") == 0);
      CHECK(took < 10s);
    });
  }
}

TEST_CASE("an idle consumer stops within its BLOCK time, without waiting for the grace period") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    consumer cons(c, {.group = "g", .block = 300ms, .shutdown_grace = 30s});
    cons.subscribe<Order>(
        topic, [](const Order&, message_context&) -> asio::awaitable<void> { co_return; });
    std::chrono::steady_clock::time_point asked;
    auto stop_later = [&]() -> asio::awaitable<void> {
      co_await wait_for_blocked_read(c);
      asked = std::chrono::steady_clock::now();
    };
    co_await (cons.run() || stop_later());
    const auto took = std::chrono::steady_clock::now() - asked;
    MESSAGE("stop took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                         << " ms");
    // BLOCK is 300 ms; the grace period (30 s) is only for running handlers.
    CHECK(took < 5s);
    CHECK_FALSE(cons.health().running);
  });
}

TEST_CASE("stopping against a hung server is bounded by BLOCK plus a margin, and loses nothing") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  bool resumed = false;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, {.group = "g", .block = 200ms, .shutdown_grace = 2s});
    int handled = 0;
    cons.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      ++handled;
      co_return;
    });
    std::chrono::steady_clock::time_point asked;
    auto hang_then_stop = [&]() -> asio::awaitable<void> {
      co_await wait_for_blocked_read(c);
      server.pause();  // every reply, the pending read's included, now never comes
      asked = std::chrono::steady_clock::now();
    };
    co_await (cons.run() || hang_then_stop());
    const auto took = std::chrono::steady_clock::now() - asked;
    server.resume();
    resumed = true;
    MESSAGE("stop against a hung server took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    // The read gets BLOCK (200 ms) plus a one-second margin, then is cut off.
    CHECK(took >= 200ms);
    CHECK(took < 10s);
    CHECK(handled == 0);
    // The server works on; what is published now waits for the next consumer, unclaimed.
    co_await pub.publish(topic, order(1));
    CHECK(co_await pending_count(c, topic, "g") == 0);
    consumer next(c, {.group = "g", .block = 100ms});
    next.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      ++handled;
      co_return;
    });
    co_await (next.run() || streamq::test::wait_until([&] { return handled == 1; }));
    CHECK(handled == 1);
  });
  if (!resumed) server.resume();
}

TEST_CASE("a consumer runs again after a stop, and after a start that failed") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const std::string stream = streamq::streams::topic_keys(topic).stream();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, {.group = "g", .block = 100ms});
    std::map<std::string, int> handled;
    cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
      ++handled[o.id()];
      co_return;
    });
    // The topic's stream key holds a string: creating the group fails, run() throws.
    request set;
    set.push("SET", key{stream}, "not a stream");
    streamq::resp::ignore_response ignored;
    co_await c.async_exec(set, ignored);
    bool refused = false;
    try {
      co_await cons.run();
    } catch (const boost::system::system_error& e) {
      refused = e.code() == streamq::resp::server_errc::wrongtype;
    }
    CHECK(refused);
    CHECK_FALSE(cons.health().running);
    request del;
    del.push("DEL", key{stream});
    co_await c.async_exec(del, ignored);
    // Two runs, each stopped once it handled what was published before it.
    for (int run = 0; run < 2; ++run) {
      co_await pub.publish(topic, order(run));
      co_await (cons.run() ||
                streamq::test::wait_until([&] { return handled.size() == run + 1u; }));
      CHECK_FALSE(cons.health().running);
    }
    CHECK(handled.size() == 2);
    CHECK(handled["order-0"] == 1);
    CHECK(handled["order-1"] == 1);
    CHECK(cons.stats().acked == 2);
  });
}

TEST_CASE("stopping under load at any moment acknowledges everything that was handled") {
  redis_server server;
  // Each round stops at another point of the read, handle and acknowledge cycle.
  for (int round = 0; round < 12; ++round) {
    const auto topic = streamq::test::unique_topic();
    streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
      publisher pub(c);
      for (int i = 0; i < 300; ++i) co_await pub.publish(topic, order(i));
      consumer cons(c, {.group = "g", .concurrency = 16, .max_batch = 8, .block = 200ms});
      std::map<std::string, int> handled;
      cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
        co_await sleep_for(std::chrono::microseconds(100 * (round % 4)));
        ++handled[o.id()];
      });
      const std::size_t stop_after = 20 + 17 * static_cast<std::size_t>(round);
      co_await (cons.run() ||
                streamq::test::wait_until([&] { return handled.size() >= stop_after; }));
      // Whatever ran was acknowledged before run() returned; nothing else was taken.
      CHECK(co_await pending_count(c, topic, "g") == 0);
      CHECK(cons.stats().acked == handled.size());
      for (const auto& [id, n] : handled) CHECK_MESSAGE(n == 1, id);
      // The rest is still there for the next run.
      CHECK(cons.stats().delivered == handled.size());
    });
  }
}

// durable_publisher beyond replication itself (replication_test.cpp): idempotency keys, a
// caller that stops waiting, what it refuses before sending, and its producer ID.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stderr_capture.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::streams::durability_config;
using streamq::streams::durable_publisher;
using streamq::streams::envelope_options;
using streamq::streams::errc;
using streamq::streams::topic_keys;
using streamq::test::keyed;
using streamq::test::order_with_id;
using streamq::test::redis_server;
using streamq::test::sleep_for;

namespace {

// A master and one replica in sync: WAIT 1 confirms.
struct master_and_replica {
  redis_server master;
  redis_server replica;

  master_and_replica() : replica(replica_of(master.port())) {
    for (int i = 0; i < 1000; ++i) {
      if (replica.command({"INFO", "replication"}).find("master_link_status:up") !=
          std::string::npos)
        return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the replica did not sync: " << replica.log_tail());
  }
  static redis_server::options replica_of(std::uint16_t port) {
    redis_server::options o;
    o.extra_args = {"--replicaof", "127.0.0.1", std::to_string(port)};
    return o;
  }
};

// The code a durable publish failed with; clear if it succeeded.
asio::awaitable<boost::system::error_code> code_of(
    std::function<asio::awaitable<std::string>()> call) {
  try {
    co_await call();
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
  co_return boost::system::error_code{};
}

// Runs `scenario` while `pub` runs; rethrows what the scenario threw.
asio::awaitable<void> while_running(durable_publisher& pub,
                                    std::function<asio::awaitable<void>()> scenario) {
  std::exception_ptr failure;
  co_await (pub.run() || streamq::test::capture_failure(scenario(), failure));
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

TEST_CASE("a durable publish retried with its idempotency key lands once, with the first ID") {
  master_and_replica pair;
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config config;
    config.timeout = 2000ms;  // generous: a loaded machine may take a while to replicate
    durable_publisher pub(c, config);
    co_await while_running(pub, [&]() -> asio::awaitable<void> {
      // The server does not know the script yet: the NOSCRIPT reply costs one more round trip.
      const auto first = co_await pub.publish(topic, order_with_id("a"), keyed("k1"));
      CHECK(pub.stats().round_trips == 2);
      CHECK(co_await pub.publish(topic, order_with_id("a"), keyed("k1")) == first);
      CHECK(pub.stats().duplicates == 1);
      CHECK(pub.stats().confirmed == 2);
      // Two publishes of one key in one group: one entry, one ID for both.
      const auto [x, y] = co_await (pub.publish(topic, order_with_id("b"), keyed("k2")) &&
                                    pub.publish(topic, order_with_id("b"), keyed("k2")));
      CHECK(x == y);
      // The case the errors advise a key for: not confirmed in time, retried once the replica
      // is back. The retry adds nothing, and is confirmed with the entry it found.
      pair.replica.pause();
      CHECK(co_await code_of([&] { return pub.publish(topic, order_with_id("c"), keyed("k3")); }) ==
            errc::replication_timeout);
      pair.replica.resume();
      const auto entries_before = co_await streamq::test::read_topic(c, topic);
      REQUIRE(entries_before.size() == 3);
      CHECK(co_await pub.publish(topic, order_with_id("c"), keyed("k3")) == entries_before[2].id);
      // A plain publisher shares the keys.
      streamq::streams::publisher plain(c);
      CHECK(co_await plain.publish(topic, order_with_id("a"), keyed("k1")) == first);
      // The script flushed (a restarted server): sent again by source, still deduplicated.
      CHECK(pair.master.command({"SCRIPT", "FLUSH"}) == "+OK\r\n");
      CHECK(co_await pub.publish(topic, order_with_id("c"), keyed("k3")) == entries_before[2].id);
      const auto entries = co_await streamq::test::read_topic(c, topic);
      CHECK(entries.size() == 3);
      CHECK(pair.replica.command({"XLEN", keys.stream()}) == ":3\r\n");
      CHECK(pub.stats().duplicates == 4);
      CHECK(pub.stats().unconfirmed == 1);
      for (const auto& e : entries) CHECK(e.envelope.producer_id() == pub.producer_id());
    });
  });
}

TEST_CASE("a durable publish whose caller gives up: unsent ones never go, sent ones say so") {
  redis_server server;  // no replica: every WAIT 1 runs to its timeout
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config config;
    config.timeout = 1000ms;
    durable_publisher pub(c, config);
    co_await while_running(pub, [&]() -> asio::awaitable<void> {
      boost::system::error_code sent_code;
      boost::system::error_code queued_code;
      auto publish_into = [&](boost::system::error_code& out,
                              std::string id) -> asio::awaitable<void> {
        out = co_await code_of([&] { return pub.publish(topic, order_with_id(id)); });
      };
      // Sent at once, then waiting in WAIT when the caller leaves.
      auto started = std::chrono::steady_clock::now();
      co_await (publish_into(sent_code, "sent") || sleep_for(100ms));
      CHECK(sent_code == errc::publish_indeterminate);
      CHECK(std::chrono::steady_clock::now() - started < 500ms);
      // Queued behind that round trip, and given up before it could go.
      co_await (publish_into(queued_code, "queued") || sleep_for(100ms));
      CHECK(queued_code == asio::error::operation_aborted);
      // A deadline is a cancellation too (this one was queued as well).
      started = std::chrono::steady_clock::now();
      CHECK_THROWS_AS(
          co_await streamq::with_deadline(pub.publish(topic, order_with_id("late")), 100ms),
          boost::system::system_error);
      CHECK(std::chrono::steady_clock::now() - started < 500ms);
      // A caller already cancelled when it calls publish (one that does not throw on
      // cancellation, as a graceful shutdown path may): nothing is queued, no wait.
      boost::system::error_code early_code;
      auto cancelled_caller = [&]() -> asio::awaitable<void> {
        co_await asio::this_coro::throw_if_cancelled(false);
        asio::steady_timer parked(co_await asio::this_coro::executor, 10s);
        co_await parked.async_wait(asio::as_tuple(asio::use_awaitable));  // cut short by ||
        early_code = co_await code_of([&] { return pub.publish(topic, order_with_id("never")); });
      };
      started = std::chrono::steady_clock::now();
      co_await (cancelled_caller() || sleep_for(50ms));
      CHECK(early_code == asio::error::operation_aborted);
      CHECK(std::chrono::steady_clock::now() - started < 500ms);
      CHECK(pub.stats().cancelled == 4);
      // The round trips end as WAIT times out; the publisher is as usable as before, and only
      // what was sent is in the stream.
      CHECK(co_await code_of([&] { return pub.publish(topic, order_with_id("after")); }) ==
            errc::replication_timeout);
      std::vector<std::string> ids;
      for (const auto& e : co_await streamq::test::read_topic(c, topic))
        ids.push_back(e.order.id());
      CHECK(ids == std::vector<std::string>{"sent", "after"});
      CHECK(pub.stats().round_trips == 2);
    });
  });
}

TEST_CASE("a durable publish refuses strings that are not UTF-8 and numbers under its own ID") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::stderr_capture err;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config config;
    config.timeout = 50ms;  // no replica: entries are written, WAIT times out at once
    durable_publisher pub(c, config);
    durable_publisher other(c, config);
    config.producer_id = "orders-service";
    durable_publisher named(c, config);
    CHECK(pub.producer_id() != other.producer_id());
    CHECK(named.producer_id() == "orders-service");
    co_await while_running(pub, [&]() -> asio::awaitable<void> {
      envelope_options header;
      header.headers = {{"k\xff", "v"}};
      try {
        co_await pub.publish(topic, order_with_id("bad"), header);
        FAIL("published");
      } catch (const boost::system::system_error& e) {
        CHECK(e.code() == errc::invalid_utf8);
        CHECK(std::string(e.what()).find("headers key \"k\\xff\"") != std::string::npos);
      }
      CHECK(pub.stats().round_trips == 0);
      CHECK(pub.stats().failed == 1);
      for (int i = 0; i < 2; ++i)
        CHECK(co_await code_of([&] { return pub.publish(topic, order_with_id("good")); }) ==
              errc::replication_timeout);
      const auto entries = co_await streamq::test::read_topic(c, topic);
      REQUIRE(entries.size() == 2);
      for (std::size_t i = 0; i < 2; ++i) {
        CHECK(entries[i].envelope.producer_id() == pub.producer_id());
        CHECK(entries[i].envelope.sequence() == i + 1);  // the refusal took no number
      }
    });
  });
  CHECK(err.text() == "");
  durability_config bad;
  bad.producer_id = std::string(129, 'p');
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("producer_id"), std::invalid_argument);
}

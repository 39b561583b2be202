// The client through a fault-injecting TCP proxy (test/support/fault_proxy.hpp): byte slicing,
// replies cut after N bytes, latency, resets and half-open connections. Tests that move
// messages keep a loss ledger (test/support/ledger.hpp) and print its LEDGER line.
#include "support/async_test.hpp"
#include "support/fault_proxy.hpp"
#include "support/ledger.hpp"
#include "support/proxy_scenarios.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/redis/connection.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::resp::key;
using streamq::resp::request;
using streamq::test::check_ledger;
using streamq::test::drain_into;
using streamq::test::fast_consumer_config;
using streamq::test::fault_proxy;
using streamq::test::ledger;
using streamq::test::poll_until;
using streamq::test::proxied_config;
using streamq::test::proxy_toxics;
using streamq::test::publish_one;
using streamq::test::redis_server;
using streamq::test::run_all;
using streamq::test::run_alongside;
using streamq::test::run_with_config;
using streamq::test::sleep_for;
using streamq::test::subscribe_ledger;
using streamq::test::test_name;
using streamq::test::wait_connected;
using direction = fault_proxy::direction;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------------------
// A mixed workload whose transcript must not depend on how the bytes were split.

asio::awaitable<std::string> mixed_workload(streamq::client& c, const std::string& prefix,
                                            const std::string& topic) {
  std::string transcript;
  const std::string big(20000, 'x');
  std::string patterned;
  for (int i = 0; i < 3000; ++i) patterned += std::to_string(i * 7919 % 1000) + ",";
  {
    request req;
    req.push("SET", key{prefix + "s"}, "hello\r\nworld");
    req.push("GET", key{prefix + "s"});
    req.push("SET", key{prefix + "big"}, big);
    req.push("GET", key{prefix + "big"});
    req.push("SET", key{prefix + "pat"}, patterned);
    req.push("GET", key{prefix + "pat"});
    req.push("GET", key{prefix + "missing"});
    req.push("XADD", key{prefix + "x"}, "1-1", "f", "v1", "g", "w1");
    req.push("XADD", key{prefix + "x"}, "1-2", "f", "v2");
    req.push("XRANGE", key{prefix + "x"}, "-", "+");
    req.push("HSET", key{prefix + "h"}, "a", "1", "b", "2", "c", "three");
    req.push("HGETALL", key{prefix + "h"});
    req.push("INCRBY", key{prefix + "s"}, "1");  // a server error reply
    req.push("RPUSH", key{prefix + "l"}, "x", "y", "z");
    req.push("LRANGE", key{prefix + "l"}, "0", "-1");
    streamq::resp::generic_response reply;
    co_await streamq::with_deadline(c.async_exec(req, reply), 10s);
    for (const auto& v : reply.values()) transcript += streamq::resp::to_string(v) + "\n";
  }
  // Pipelined INCRs from concurrent callers, completed in order.
  std::vector<std::string> incrs(40);
  co_await run_all(
      incrs.size(),
      [&](std::size_t i) -> asio::awaitable<void> {
        request req;
        req.push("INCR", key{prefix + "n"});
        streamq::resp::response<std::int64_t> reply;
        co_await streamq::with_deadline(c.async_exec(req, reply), 10s);
        incrs[i] = std::to_string(reply.get<0>().value());
      },
      10s);
  for (const auto& s : incrs) transcript += s + " ";
  transcript += "\n";
  // A publish/consume round.
  streamq::streams::publisher pub(c);
  auto consumer_config = fast_consumer_config();
  streamq::streams::consumer consumer(c, consumer_config);
  std::vector<std::string> handled;
  consumer.subscribe<streamq::test::Order>(
      topic,
      [&](const streamq::test::Order& order,
          streamq::streams::message_context&) -> asio::awaitable<void> {
        handled.push_back(order.id() + ":" + std::to_string(order.amount_cents()) + ":" +
                          std::to_string(order.items_size()));
        co_return;
      });
  constexpr int messages = 30;
  auto produce = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < messages; ++i) {
      streamq::test::Order order;
      order.set_id("order-" + std::to_string(i));
      order.set_amount_cents(i * 100);
      for (int k = 0; k < i % 4; ++k)
        order.add_items(std::string(static_cast<std::size_t>(i), 'i'));
      co_await pub.publish(topic, order);
    }
    const bool all = co_await poll_until([&] { return handled.size() >= messages; }, 10s);
    CHECK(all);
  };
  std::exception_ptr failure;
  co_await (consumer.run() || streamq::test::capture_failure(produce(), failure));
  if (failure) std::rethrow_exception(failure);
  std::sort(handled.begin(), handled.end());
  for (const auto& h : handled) transcript += h + "\n";
  co_return transcript;
}

}  // namespace

TEST_CASE("proxy: a reply sliced into 1-7 byte pieces in both directions parses identically") {
  redis_server server;
  fault_proxy proxy(server.port());
  const auto config = proxied_config(proxy);
  std::string plain;
  std::string sliced;
  run_with_config(config, [&](streamq::client& c) -> asio::awaitable<void> {
    plain = co_await mixed_workload(c, streamq::test::unique_key_prefix("plain"),
                                    streamq::test::unique_topic());
  });
  proxy_toxics slicing;
  slicing.slice = true;
  slicing.slice_max = 7;
  slicing.slice_delay = 20us;
  proxy.set(direction::upstream, slicing);
  proxy.set(direction::downstream, slicing);
  const auto before = proxy.forwarded(direction::downstream);
  run_with_config(config, [&](streamq::client& c) -> asio::awaitable<void> {
    sliced = co_await mixed_workload(c, streamq::test::unique_key_prefix("sliced"),
                                     streamq::test::unique_topic());
  });
  MESSAGE("sliced run moved " << proxy.forwarded(direction::downstream) - before
                              << " bytes downstream");
  CHECK(plain.find("hello\r\nworld") != std::string::npos);
  CHECK(plain.find("order-29:2900:1") != std::string::npos);
  CHECK(plain == sliced);
}

TEST_CASE("proxy: latency with jitter loses nothing") {
  redis_server server;
  fault_proxy proxy(server.port());
  ledger book(test_name());
  const auto topic = streamq::test::unique_topic();
  proxy_toxics slow;
  slow.latency = 3ms;
  slow.jitter = 2ms;
  proxy.set(direction::upstream, slow);
  proxy.set(direction::downstream, slow);
  constexpr std::size_t publishes = 300;
  run_with_config(proxied_config(proxy), [&](streamq::client& c) -> asio::awaitable<void> {
    streamq::streams::publisher pub(c);
    streamq::streams::consumer consumer(c, fast_consumer_config());
    subscribe_ledger(consumer, topic, book);
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await run_all(
          10,
          [&](std::size_t) -> asio::awaitable<void> {
            for (std::size_t i = 0; i < publishes / 10; ++i) co_await publish_one(pub, topic, book);
          },
          20s);
      co_await poll_until([&] { return book.outstanding() == 0; }, 15s);
    };
    auto watchdog = [&]() -> asio::awaitable<void> {
      // Quiet unless the run is slow: then says where it stands (it once hung on a loaded VM).
      co_await sleep_for(10s);
      for (int i = 0;; ++i) {
        co_await sleep_for(2s);
        const auto st = consumer.stats();
        std::cerr << "latency test still running: t=+" << i << " outstanding=" << book.outstanding()
                  << " handled=" << book.handled_count()
                  << " up=" << proxy.forwarded(direction::upstream)
                  << " down=" << proxy.forwarded(direction::downstream)
                  << " live=" << proxy.live_connections()
                  << " state=" << static_cast<int>(c.shared_connection().state())
                  << " delivered=" << st.delivered << " acked=" << st.acked
                  << " inflight=" << st.in_flight << " pub=" << pub.stats().published
                  << " conn_req=" << c.shared_connection().stats().requests << std::endl;
      }
    };
    auto watched = [&]() -> asio::awaitable<void> { co_await (scenario() || watchdog()); };
    co_await run_alongside(consumer, watched());
    proxy.clear();
    co_await drain_into(c, topic, "g", book);
  });
  const auto r = book.print();
  check_ledger(r, publishes);
  CHECK(r.ok == publishes);  // latency alone fails nothing
  CHECK(r.duplicated == 0);
}

TEST_CASE("proxy: connection resets mid-publish and mid-consume lose nothing confirmed") {
  redis_server server;
  fault_proxy proxy(server.port());
  ledger book(test_name());
  const auto topic = streamq::test::unique_topic();
  constexpr std::size_t publishes = 600;
  constexpr int resets = 5;
  std::uint64_t accepted_before = 0;
  run_with_config(proxied_config(proxy), [&](streamq::client& c) -> asio::awaitable<void> {
    streamq::streams::publisher pub(c);
    streamq::streams::consumer consumer(c, fast_consumer_config());
    subscribe_ledger(consumer, topic, book);
    auto faults = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < resets; ++i) {
        co_await sleep_for(120ms);
        book.fault_injected();
        proxy.disconnect_all(true);
      }
    };
    auto load = [&]() -> asio::awaitable<void> {
      co_await run_all(
          8,
          [&](std::size_t) -> asio::awaitable<void> {
            for (std::size_t i = 0; i < publishes / 8; ++i) {
              co_await publish_one(pub, topic, book);
              co_await sleep_for(1ms);
            }
          },
          30s);
    };
    auto scenario = [&]() -> asio::awaitable<void> {
      accepted_before = proxy.accepted();
      co_await (load() && faults());
      co_await poll_until([&] { return book.outstanding() == 0; }, 15s);
    };
    co_await run_alongside(consumer, scenario());
    co_await drain_into(c, topic, "g", book);
  });
  MESSAGE("connections accepted during the run: " << proxy.accepted() - accepted_before);
  const auto r = book.print();
  check_ledger(r, publishes);
  CHECK(r.recovered <= r.indeterminate);
}

TEST_CASE("proxy: a black-holed (half-open) connection is detected by the health check") {
  redis_server server;
  fault_proxy proxy(server.port());
  ledger book(test_name());
  const auto topic = streamq::test::unique_topic();
  const auto config = proxied_config(proxy);
  constexpr std::size_t publishes = 300;
  run_with_config(config, [&](streamq::client& c) -> asio::awaitable<void> {
    streamq::streams::publisher pub(c);
    streamq::streams::consumer consumer(c, fast_consumer_config());
    subscribe_ledger(consumer, topic, book);
    auto& conn = c.shared_connection();
    auto faults = [&]() -> asio::awaitable<void> {
      co_await sleep_for(300ms);
      const auto losses = conn.stats().connection_losses;
      proxy_toxics hole;
      hole.black_hole = true;
      book.fault_injected();
      const auto started = std::chrono::steady_clock::now();
      proxy.set(direction::upstream, hole);
      proxy.set(direction::downstream, hole);
      // The limit is the health check's own deadline (interval + timeout) with slack for a
      // loaded machine; the measured figure is printed.
      const bool detected = co_await poll_until(
          [&] { return conn.stats().connection_losses > losses; },
          std::chrono::duration_cast<std::chrono::milliseconds>(
              3 * (config.health_check_interval + config.health_check_timeout)));
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      CHECK_MESSAGE(detected, "health check did not notice the black hole");
      MESSAGE("half-open detected after " << took.count() << " ms (health check "
                                          << config.health_check_interval.count() << "+"
                                          << config.health_check_timeout.count() << " ms)");
      co_await sleep_for(500ms);  // reconnects into the black hole fail meanwhile
      book.fault_injected();
      proxy.clear();
    };
    auto load = [&]() -> asio::awaitable<void> {
      co_await run_all(
          4,
          [&](std::size_t) -> asio::awaitable<void> {
            for (std::size_t i = 0; i < publishes / 4; ++i) {
              co_await publish_one(pub, topic, book);
              co_await sleep_for(5ms);
            }
          },
          30s);
    };
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await (load() && faults());
      co_await poll_until([&] { return book.outstanding() == 0; }, 15s);
      CHECK(conn.state() == streamq::redis::connection_state::connected);
    };
    co_await run_alongside(consumer, scenario());
    co_await drain_into(c, topic, "g", book);
  });
  const auto r = book.print();
  check_ledger(r, publishes);
}

// Regression: the consumer's blocking XREADGROUP runs on a dedicated connection without health
// checks (a PING would queue behind the BLOCK). Before its reads had a deadline (BLOCK plus a
// margin, then drop_session()), a half-open one stalled consumption forever (lost=99 of 199).
TEST_CASE("proxy: connections left half-open for good are replaced and consuming resumes") {
  redis_server server;
  fault_proxy proxy(server.port());
  ledger book(test_name());
  const auto topic = streamq::test::unique_topic();
  const auto config = proxied_config(proxy);
  constexpr std::size_t publishes = 200;
  run_with_config(config, [&](streamq::client& c) -> asio::awaitable<void> {
    streamq::streams::publisher pub(c);
    streamq::streams::consumer consumer(c, fast_consumer_config());
    subscribe_ledger(consumer, topic, book);
    auto scenario = [&]() -> asio::awaitable<void> {
      for (std::size_t i = 0; i < publishes / 2; ++i) co_await publish_one(pub, topic, book);
      co_await poll_until([&] { return book.outstanding() == 0; }, 10s);
      // Every live connection (shared and the consumer's blocking one) goes silent for good,
      // as behind a NAT that forgot them; new connections work.
      book.fault_injected();
      proxy.stall_existing();
      for (std::size_t i = 0; i < publishes / 2; ++i) co_await publish_one(pub, topic, book);
      co_await poll_until([&] { return book.outstanding() == 0; }, 8s);
    };
    co_await run_alongside(consumer, scenario());
    co_await drain_into(c, topic, "g", book);
  });
  const auto r = book.print();
  check_ledger(r, publishes);
}

// Regression: connection_impl::run() used to reset the parser and read buffer
// only in end_session(), i.e. after an established session. A handshake that fails after part
// of its reply arrived (here: HELLO's reply cut after 3 bytes) leaves those bytes behind, and
// every later handshake parses them first: connect_timeout or "RESP: invalid length" forever.

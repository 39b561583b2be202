// The client through a fault-injecting TCP proxy (test/support/fault_proxy.hpp): byte slicing,
// replies cut after N bytes, latency, resets and half-open connections. Tests that move
// messages keep a loss ledger (test/support/ledger.hpp) and print its LEDGER line.
#include "support/async_test.hpp"
#include "support/fault_proxy.hpp"
#include "support/ledger.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/deadline.hpp>
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
using streamq::test::drain_into;
using streamq::test::fault_proxy;
using streamq::test::ledger;
using streamq::test::proxy_toxics;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using direction = fault_proxy::direction;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A connection through the proxy, tuned to notice failures and come back quickly.
streamq::redis::connection_config proxied_config(const fault_proxy& proxy) {
  auto config = streamq::redis::parse_url(proxy.url());
  config.connect_timeout = 500ms;
  config.reconnect.initial_delay = 10ms;
  config.reconnect.max_delay = 100ms;
  config.health_check_interval = 100ms;
  config.health_check_timeout = 300ms;
  return config;
}

streamq::streams::consumer_config fast_consumer_config() {
  streamq::streams::consumer_config config;
  config.group = "g";
  config.name = "c1";
  config.block = 200ms;
  config.claim_idle = 400ms;
  config.claim_interval = 100ms;
  config.retry.base = 10ms;
  config.retry.cap = 100ms;
  config.shutdown_grace = 1s;
  return config;
}

// run_with_client with a configuration instead of a URL.
void run_with_config(const streamq::redis::connection_config& config,
                     const std::function<asio::awaitable<void>(streamq::client&)>& body,
                     std::chrono::seconds limit = 60s) {
  streamq::test::run_coroutine(
      [&]() -> asio::awaitable<void> {
        streamq::client c(co_await asio::this_coro::executor, config);
        std::exception_ptr failure;
        co_await (c.async_run(use_tuple) || streamq::test::capture_failure(body(c), failure));
        if (failure) std::rethrow_exception(failure);
      },
      limit);
}

// Waits until the connection is connected (true) or `limit` passes (false).
asio::awaitable<bool> wait_connected(const streamq::redis::connection& conn,
                                     std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (conn.state() != streamq::redis::connection_state::connected) {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    co_await sleep_for(2ms);
  }
  co_return true;
}

// Polls `done` until it holds or `limit` passes; unlike wait_until it does not fail the test,
// so the ledger is still printed.
asio::awaitable<bool> poll_until(std::function<bool()> done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    co_await sleep_for(10ms);
  }
  co_return true;
}

// Starts `n` coroutines made by `make(i)` on the current executor; the returned counter
// reaches n when all have finished (exceptions are counted in `failures`).
struct spawn_group {
  std::size_t finished = 0;
  std::size_t failures = 0;
};
asio::awaitable<void> run_all(std::size_t n,
                              const std::function<asio::awaitable<void>(std::size_t)>& make,
                              std::chrono::milliseconds limit) {
  auto group = std::make_shared<spawn_group>();
  const auto ex = co_await asio::this_coro::executor;
  for (std::size_t i = 0; i < n; ++i)
    asio::co_spawn(ex, make(i), [group](const std::exception_ptr& e) {
      ++group->finished;
      if (e) ++group->failures;
    });
  const bool all = co_await poll_until([&] { return group->finished == n; }, limit);
  REQUIRE_MESSAGE(all, "spawned coroutines did not finish");
  CHECK(group->failures == 0);
}

// Publishes one Order "seq-<n>" and records how it ended.
asio::awaitable<void> publish_one(streamq::streams::publisher& pub, const std::string& topic,
                                  ledger& book) {
  const auto seq = book.next_sequence();
  streamq::test::Order order;
  order.set_id(ledger::label(seq));
  order.set_amount_cents(static_cast<std::int64_t>(seq));
  try {
    co_await pub.publish(topic, order);
    book.record_publish(seq, ledger::outcome::ok);
  } catch (const boost::system::system_error& e) {
    book.record_publish(seq, e.code() == streamq::streams::errc::publish_indeterminate
                                 ? ledger::outcome::indeterminate
                                 : ledger::outcome::failed);
  }
}

// A consumer whose handler records every run in `book`.
void subscribe_ledger(streamq::streams::consumer& consumer, const std::string& topic,
                      ledger& book) {
  consumer.subscribe<streamq::test::Order>(
      topic,
      [&book](const streamq::test::Order& order,
              streamq::streams::message_context&) -> asio::awaitable<void> {
        if (const auto seq = ledger::parse_label(order.id()))
          book.record_handled(*seq);
        else
          book.record_foreign_entry();
        co_return;
      });
}

std::string test_name() {
  return doctest::getContextOptions()->currentTest->m_name;
}

// Runs `scenario` while `consumer` runs; the consumer is stopped when the scenario ends. A
// consumer that ends by itself (it should not: connection trouble is waited out) fails the test
// naming the consumer.
asio::awaitable<void> run_alongside(streamq::streams::consumer& consumer,
                                    asio::awaitable<void> scenario) {
  std::exception_ptr consumer_failure;
  std::exception_ptr scenario_failure;
  bool scenario_done = false;
  auto scenario_then_mark = [&]() -> asio::awaitable<void> {
    co_await streamq::test::capture_failure(std::move(scenario), scenario_failure);
    scenario_done = true;
  };
  co_await (streamq::test::capture_failure(consumer.run(), consumer_failure) ||
            scenario_then_mark());
  if (consumer_failure) {
    try {
      std::rethrow_exception(consumer_failure);
    } catch (const std::exception& e) {
      FAIL_CHECK("consumer.run() threw: " << std::string(e.what()));
    }
  }
  CHECK_MESSAGE(scenario_done, "consumer.run() ended before the scenario did");
  if (scenario_failure) std::rethrow_exception(scenario_failure);
}

// The standard ledger assertions: nothing confirmed is lost, nothing appears from nowhere.
void check_ledger(const streamq::test::ledger_report& r, std::uint64_t expected_publishes) {
  CHECK(r.ok + r.failed + r.indeterminate == expected_publishes);
  CHECK(r.ok > 0);
  CHECK(r.lost == 0);
  CHECK(r.unexpected == 0);
  MESSAGE("failed=" << r.failed << " indeterminate=" << r.indeterminate
                    << " dead_lettered=" << r.dead_lettered << " handled=" << r.handled);
}

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

// The cut-sweep pipeline: read-only commands whose replies never change.
struct sweep_command {
  std::string name;
  std::vector<std::string> args;
};
std::vector<sweep_command> sweep_commands(const std::string& prefix) {
  std::vector<sweep_command> commands;
  commands.push_back({"PING", {}});
  commands.push_back({"GET", {prefix + "str"}});
  commands.push_back({"HGETALL", {prefix + "h"}});
  commands.push_back({"XRANGE", {prefix + "x", "-", "+"}});
  commands.push_back({"LRANGE", {prefix + "l", "0", "-1"}});
  commands.push_back({"GET", {prefix + "missing"}});
  commands.push_back({"STRLEN", {prefix + "str"}});
  commands.push_back({"INCRBY", {prefix + "str", "1"}});  // error reply
  return commands;
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

TEST_CASE("proxy: replies cut after N bytes, swept over N, never surface a partial value") {
  redis_server server;
  fault_proxy proxy(server.port());
  auto config = proxied_config(proxy);
  config.health_check_interval = 0ms;  // no PINGs in the measured byte stream
  const auto prefix = streamq::test::unique_key_prefix(test_name());
  server.command({"SET", prefix + "str", "a value\r\nwith CRLF"});
  server.command({"HSET", prefix + "h", "a", "1", "b", "two"});
  server.command({"XADD", prefix + "x", "1-1", "f", "v1"});
  server.command({"XADD", prefix + "x", "1-2", "f", "v2", "g", "w2"});
  server.command({"RPUSH", prefix + "l", "x", "yy", "zzz"});
  const auto commands = sweep_commands(prefix);

  struct outcome {
    streamq::redis::error_code ec;
    std::string text;
  };
  // Issues every command as its own concurrent request (they share one write) and waits for all.
  auto issue_all = [&](streamq::redis::connection& conn) -> asio::awaitable<std::vector<outcome>> {
    std::vector<outcome> outcomes(commands.size());
    co_await run_all(
        commands.size(),
        [&](std::size_t i) -> asio::awaitable<void> {
          request req;
          req.push(commands[i].name, commands[i].args);
          streamq::resp::response<streamq::resp::value> reply;
          auto [ec] = co_await streamq::with_deadline(conn.async_exec(req, reply, use_tuple), 5s);
          outcomes[i].ec = ec;
          if (!ec) {
            const auto& r = reply.get<0>();
            outcomes[i].text =
                r.has_value() ? streamq::resp::to_string(r.value()) : "error:" + r.diagnostic();
          }
        },
        10s);
    co_return outcomes;
  };

  streamq::test::run_with_connection(
      config,
      [&](streamq::redis::connection& conn) -> asio::awaitable<void> {
        REQUIRE(co_await wait_connected(conn, 5000ms));
        const auto start = proxy.forwarded(direction::downstream);
        const auto expected = co_await issue_all(conn);
        const auto total = proxy.forwarded(direction::downstream) - start;
        for (const auto& o : expected) REQUIRE_MESSAGE(!o.ec, o.ec.message());
        MESSAGE("pipeline of " << commands.size() << " replies is " << total << " bytes");
        std::size_t failures = 0;
        std::size_t partial_successes = 0;
        for (std::size_t n = 0; n <= total; ++n) {
          REQUIRE(co_await wait_connected(conn, 5000ms));
          proxy_toxics cut;
          cut.cut_after = n;
          proxy.set_existing(direction::downstream, cut);
          const auto got = co_await issue_all(conn);
          proxy.clear();
          bool failed_before = false;
          for (std::size_t i = 0; i < got.size(); ++i) {
            if (!got[i].ec) {
              // Completed: exactly the uncut value, and never after an earlier one failed.
              CHECK_MESSAGE(got[i].text == expected[i].text, "N=" << n << " request " << i);
              CHECK_MESSAGE(!failed_before, "N=" << n << " request " << i);
              if (n < total) ++partial_successes;
            } else {
              failed_before = true;
              ++failures;
              // A typed connection error, never a value or a parse error.
              CHECK_MESSAGE((got[i].ec == streamq::redis::client_errc::outcome_unknown ||
                             got[i].ec == streamq::redis::client_errc::not_connected),
                            "N=" << n << " request " << i << ": " << got[i].ec.message());
            }
          }
          if (n < total) CHECK_MESSAGE(failed_before, "N=" << n << ": the last reply was cut");
          if (n == total) CHECK_MESSAGE(!failed_before, "N=total: every reply was complete");
          // The connection comes back and works.
          request ping;
          ping.push("ECHO", "after-" + std::to_string(n));
          streamq::resp::response<std::string> echo;
          auto [ec] = co_await streamq::with_deadline(conn.async_exec(ping, echo, use_tuple), 5s);
          REQUIRE_MESSAGE(
              !ec, "N=" << n << ": " << ec.message() << "; state=" << static_cast<int>(conn.state())
                        << " connects=" << conn.stats().connects << " last_error="
                        << conn.last_error().message() << " live=" << proxy.live_connections());
          CHECK(echo.get<0>().value() == "after-" + std::to_string(n));
        }
        MESSAGE("swept N=0.." << total << ": " << failures << " requests failed typed, "
                              << partial_successes
                              << " completed before the cut; reconnects=" << conn.stats().connects);
      },
      60s);
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
TEST_CASE("proxy: a handshake cut mid-reply does not poison the next connection") {
  redis_server server;
  fault_proxy proxy(server.port());
  auto config = proxied_config(proxy);
  config.health_check_interval = 0ms;
  streamq::test::run_with_connection(
      config,
      [&](streamq::redis::connection& conn) -> asio::awaitable<void> {
        REQUIRE(co_await wait_connected(conn, 5000ms));
        proxy_toxics cut;
        cut.cut_after = 3;  // every new connection's HELLO reply is cut after 3 bytes
        proxy.set(direction::downstream, cut);
        proxy.disconnect_all(true);
        co_await sleep_for(300ms);
        proxy.clear();
        request ping;
        ping.push("ECHO", "back");
        streamq::resp::response<std::string> echo;
        auto [ec] = co_await streamq::with_deadline(conn.async_exec(ping, echo, use_tuple), 5s);
        CHECK_MESSAGE(!ec, ec.message() << "; last_error=" << conn.last_error().message());
      },
      30s);
}

TEST_CASE("proxy: requests cut after N bytes, swept over N, never run partly or twice") {
  redis_server server;
  fault_proxy proxy(server.port());
  auto config = proxied_config(proxy);
  config.health_check_interval = 0ms;  // no PINGs in the measured byte stream
  const auto prefix = streamq::test::unique_key_prefix(test_name());
  constexpr std::size_t count = 8;
  // Eight INCRs of their own counters, pipelined in one write. Each counter ends at 0 or 1:
  // a request that completed ran once; one cut mid-way ran completely or not at all; none
  // was sent again after the reconnect.
  auto issue_all =
      [&](streamq::redis::connection& conn,
          const std::string& round) -> asio::awaitable<std::vector<streamq::redis::error_code>> {
    std::vector<streamq::redis::error_code> outcomes(count);
    co_await run_all(
        count,
        [&](std::size_t i) -> asio::awaitable<void> {
          request req;
          req.push("INCR", prefix + round + ":" + std::to_string(i));
          streamq::resp::response<std::int64_t> reply;
          auto [ec] = co_await streamq::with_deadline(conn.async_exec(req, reply, use_tuple), 5s);
          outcomes[i] = ec;
          if (!ec) CHECK(reply.get<0>().value() == 1);
        },
        10s);
    co_return outcomes;
  };
  streamq::test::run_with_connection(
      config,
      [&](streamq::redis::connection& conn) -> asio::awaitable<void> {
        REQUIRE(co_await wait_connected(conn, 5000ms));
        const auto start = proxy.forwarded(direction::upstream);
        for (const auto& ec : co_await issue_all(conn, "uncut")) REQUIRE_FALSE(ec);
        const auto total = proxy.forwarded(direction::upstream) - start;
        std::size_t failures = 0;
        for (std::size_t n = 0; n <= total; ++n) {
          REQUIRE(co_await wait_connected(conn, 5000ms));
          const auto round = "n" + std::to_string(n);
          proxy_toxics cut;
          cut.cut_after = n;
          proxy.set_existing(direction::upstream, cut);
          const auto got = co_await issue_all(conn, round);
          proxy.clear();
          for (std::size_t i = 0; i < count; ++i) {
            const auto value = server.command({"GET", prefix + round + ":" + std::to_string(i)});
            const bool ran = value == "$1\r\n1\r\n";
            CHECK_MESSAGE((ran || value == "$-1\r\n"),
                          "N=" << n << " request " << i << ": " << value);
            if (!got[i]) {
              CHECK_MESSAGE(ran, "N=" << n << " request " << i << " completed but did not run");
            } else {
              ++failures;
              CHECK_MESSAGE((got[i] == streamq::redis::client_errc::outcome_unknown ||
                             got[i] == streamq::redis::client_errc::not_connected),
                            "N=" << n << " request " << i << ": " << got[i].message());
              if (got[i] == streamq::redis::client_errc::not_connected) CHECK_FALSE(ran);
            }
          }
        }
        MESSAGE("swept N=0.." << total << " request bytes: " << failures
                              << " requests failed typed; none ran partly or twice");
      },
      90s);
}

// The client through the fault proxy with connections cut or reset after exactly N bytes,
// swept over N: a reply cut anywhere never surfaces as a value, a request cut anywhere never
// runs partly or twice, and a publish reset anywhere and retried with its idempotency key
// lands exactly once.
#include "support/async_test.hpp"
#include "support/fault_proxy.hpp"
#include "support/ledger.hpp"
#include "support/proxy_scenarios.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/redis/connection.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::resp::key;
using streamq::resp::request;
using streamq::test::fault_proxy;
using streamq::test::ledger;
using streamq::test::proxied_config;
using streamq::test::proxy_toxics;
using streamq::test::redis_server;
using streamq::test::run_all;
using streamq::test::sleep_for;
using streamq::test::test_name;
using streamq::test::wait_connected;
using direction = fault_proxy::direction;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

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

// How one idempotent publish went: the ID it finally got, and what its attempts ran into.
struct retried_publish {
  std::string id;
  int indeterminate = 0;  // written, reply lost: the retry must not add a second entry
  int not_sent = 0;       // failed before it was written
};

// Publishes Order `name` with idempotency key `name`, retrying (same key) after any
// connection failure until it is confirmed. A server error reply is rethrown.
asio::awaitable<retried_publish> publish_until_confirmed(streamq::client& c,
                                                         streamq::streams::publisher& pub,
                                                         const std::string& topic,
                                                         const std::string& name) {
  streamq::test::Order order;
  order.set_id(name);
  streamq::streams::envelope_options options;
  options.idempotency_key = name;
  retried_publish outcome;
  for (int attempt = 0; attempt < 50; ++attempt) {
    try {
      outcome.id = co_await pub.publish(topic, order, options);
      co_return outcome;
    } catch (const boost::system::system_error& e) {
      if (std::error_code(e.code()).category() == streamq::resp::server_category())
        throw;  // a server error reply: not a fault of this test
      if (e.code() == streamq::streams::errc::publish_indeterminate)
        ++outcome.indeterminate;
      else
        ++outcome.not_sent;
    }
    co_await wait_connected(c.shared_connection(), 5000ms);
  }
  FAIL("publish " << name << " never confirmed");
  co_return outcome;
}
}  // namespace

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

TEST_CASE("proxy: publishes reset after N bytes, swept over N, and retried land exactly once") {
  redis_server server;
  fault_proxy proxy(server.port());
  auto config = proxied_config(proxy);
  config.health_check_interval = 0ms;  // no PINGs in the measured byte stream
  const auto topic = streamq::test::unique_topic();
  constexpr std::size_t batch = 4;                 // publishes pipelined together in each round
  std::map<std::string, retried_publish> results;  // by ledger label
  ledger book(test_name());
  streamq::test::run_with_config(
      config,
      [&](streamq::client& c) -> asio::awaitable<void> {
        streamq::streams::publisher pub(c);
        auto round = [&]() -> asio::awaitable<void> {
          co_await run_all(
              batch,
              [&](std::size_t) -> asio::awaitable<void> {
                const auto seq = book.next_sequence();
                const auto label = ledger::label(seq);
                results[label] = co_await publish_until_confirmed(c, pub, topic, label);
                book.record_publish(seq, ledger::outcome::ok);
              },
              30s);
        };
        co_await round();  // loads the dedup script: later rounds send EVALSHA only
        for (int side = 0; side < 2; ++side) {  // (no braced list in a coroutine: GCC 12)
          const auto d = side == 0 ? direction::upstream : direction::downstream;
          const std::string dir = d == direction::upstream ? "up" : "down";
          REQUIRE(co_await wait_connected(c.shared_connection(), 5000ms));
          const auto start = proxy.forwarded(d);
          co_await round();
          const auto total = proxy.forwarded(d) - start;
          const std::size_t step = std::max<std::size_t>(1, total / 150);
          for (std::size_t n = 0; n <= total; n += step) {
            REQUIRE(co_await wait_connected(c.shared_connection(), 5000ms));
            proxy_toxics reset;
            reset.reset_after = n;
            proxy.set_existing(d, reset);  // this connection only: the reconnect is clean
            co_await round();
            proxy.clear();
          }
          MESSAGE(dir << "stream: swept N=0.." << total << " bytes in steps of " << step);
        }
      },
      120s);
  // Every publish is in the stream exactly once, under the ID its publisher was given.
  int indeterminate = 0;
  int not_sent = 0;
  streamq::test::run_with_client(server.url(), [&](streamq::client& c) -> asio::awaitable<void> {
    std::map<std::string, std::vector<std::string>> found;
    for (const auto& e : co_await streamq::test::read_topic(c, topic)) {
      found[e.order.id()].push_back(e.id);
      if (const auto seq = ledger::parse_label(e.order.id())) {
        book.record_stream_entry(*seq);
        book.record_handled(*seq);  // present is what counts here: nothing consumes
      } else {
        book.record_foreign_entry();
      }
    }
    for (const auto& [label, published] : results) {
      indeterminate += published.indeterminate;
      not_sent += published.not_sent;
      const auto& ids = found[label];
      CHECK_MESSAGE(ids.size() == 1, label << " is in the stream " << ids.size() << " times");
      if (ids.size() == 1) CHECK_MESSAGE(ids[0] == published.id, label);
    }
  });
  MESSAGE(results.size() << " publishes: " << indeterminate << " attempts indeterminate and "
                         << not_sent << " not sent, each retried; every one landed once");
  CHECK(indeterminate > 0);  // the sweep did hit publishes after they were written
  const auto r = book.print();
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  CHECK(r.unexpected == 0);
}

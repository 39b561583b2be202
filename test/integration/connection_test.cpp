// The shared connection against a real redis-server: pipelining, cancellation, pushes,
// back-pressure, blocking-command routing.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/redis/connection.hpp>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::redis::client_errc;
using streamq::redis::connection;
using streamq::resp::request;
using streamq::resp::response;
using streamq::test::redis_server;
using streamq::test::run_with_connection;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string prefix() {
  return streamq::test::unique_key_prefix(doctest::getContextOptions()->currentTest->m_name);
}

// Spawns `n` copies of `make(i)` and waits for all of them.
asio::awaitable<void> run_all(int n, std::function<asio::awaitable<void>(int)> make) {
  auto ex = co_await asio::this_coro::executor;
  int remaining = n;
  std::exception_ptr failure;
  asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
  for (int i = 0; i < n; ++i)
    asio::co_spawn(ex, make(i), [&](std::exception_ptr e) {
      if (e && !failure) failure = e;
      if (--remaining == 0) all_done.cancel();
    });
  co_await all_done.async_wait(use_tuple);
  if (failure) std::rethrow_exception(failure);
}
}  // namespace

TEST_CASE("exec returns typed replies and keeps server errors per reply") {
  redis_server server;
  const auto key = prefix() + "k";
  run_with_connection(
      streamq::redis::parse_url(server.url()), [&](connection& conn) -> asio::awaitable<void> {
        request req;
        req.push("SET", streamq::resp::key{key}, "41");
        req.push("INCR", streamq::resp::key{key});
        req.push("HGET", streamq::resp::key{key}, "f");  // WRONGTYPE
        req.push("GET", streamq::resp::key{key + "missing"});
        response<std::string, std::int64_t, std::string, std::optional<std::string>> resp;
        co_await conn.async_exec(req, resp);
        CHECK(resp.get<0>().value() == "OK");
        CHECK(resp.get<1>().value() == 42);
        CHECK(resp.get<2>().error() == streamq::resp::server_errc::wrongtype);
        CHECK(resp.get<2>().diagnostic().find("WRONGTYPE") == 0);
        CHECK_FALSE(resp.get<3>().value().has_value());
        CHECK(conn.state() == streamq::redis::connection_state::connected);
      });
}

TEST_CASE("thousands of concurrent requests share one connection and few writes") {
  redis_server server;
  const auto key = prefix() + "counter";
  constexpr int callers = 5000;
  run_with_connection(streamq::redis::parse_url(server.url()),
                      [&](connection& conn) -> asio::awaitable<void> {
                        std::vector<std::int64_t> seen(callers, 0);
                        co_await run_all(callers, [&](int i) -> asio::awaitable<void> {
                          request req;
                          req.push("INCR", streamq::resp::key{key});
                          response<std::int64_t> resp;
                          co_await conn.async_exec(req, resp);
                          seen[static_cast<std::size_t>(i)] = resp.get<0>().value();
                        });
                        // every caller got its own reply: the values are a permutation
                        // of 1..callers
                        std::sort(seen.begin(), seen.end());
                        for (int i = 0; i < callers; ++i)
                          REQUIRE(seen[static_cast<std::size_t>(i)] == i + 1);
                        const auto stats = conn.stats();
                        MESSAGE("requests=" << stats.requests << " writes=" << stats.writes);
                        CHECK(stats.requests >= callers);
                        CHECK(stats.writes < callers / 4);  // pipelined: many requests per write
                      });
}

TEST_CASE("a request may carry a MULTI/EXEC transaction") {
  redis_server server;
  const auto key = prefix() + "tx";
  run_with_connection(
      streamq::redis::parse_url(server.url()), [&](connection& conn) -> asio::awaitable<void> {
        request req;
        req.push("MULTI");
        req.push("INCR", streamq::resp::key{key});
        req.push("INCRBY", streamq::resp::key{key}, 10);
        req.push("EXEC");
        response<std::string, std::string, std::string, std::vector<std::int64_t>> resp;
        co_await conn.async_exec(req, resp);
        CHECK(resp.get<1>().value() == "QUEUED");
        CHECK(resp.get<3>().value() == std::vector<std::int64_t>{1, 11});
      });
}

TEST_CASE("a request cancelled before it is written is withdrawn and never runs") {
  redis_server server;
  const auto key = prefix() + "never";
  asio::io_context io;
  connection conn(io.get_executor(), streamq::redis::parse_url(server.url()));
  bool done = false;
  // run() is not started yet: the request stays queued, unwritten, until its deadline
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        request req;
        req.push("INCR", streamq::resp::key{key});
        response<std::int64_t> resp;
        auto [ec] = co_await streamq::with_deadline(conn.async_exec(req, resp, use_tuple), 50ms);
        CHECK(ec == client_errc::timeout);
        // now run, and make sure nothing was sent
        conn.async_run([](streamq::redis::error_code) {});
        request get;
        get.push("GET", streamq::resp::key{key});
        response<std::optional<std::string>> got;
        co_await conn.async_exec(get, got);
        CHECK_FALSE(got.get<0>().value().has_value());
        conn.cancel();
        done = true;
      },
      asio::detached);
  io.run_for(10s);
  CHECK(done);
}

TEST_CASE(
    "a request cancelled after it is written completes at once, its reply is dropped in step") {
  redis_server server;
  const auto key = prefix() + "after";
  run_with_connection(
      streamq::redis::parse_url(server.url()), [&](connection& conn) -> asio::awaitable<void> {
        request slow;
        slow.push("DEBUG", "SLEEP", "0.3");
        slow.push("INCR", streamq::resp::key{key});
        response<std::string, std::int64_t> slow_resp;
        const auto started = std::chrono::steady_clock::now();
        auto [ec] =
            co_await streamq::with_deadline(conn.async_exec(slow, slow_resp, use_tuple), 50ms);
        CHECK(ec == client_errc::timeout);
        CHECK(std::chrono::steady_clock::now() - started < 250ms);
        // the abandoned reply must not be handed to the next request
        request get;
        get.push("GET", streamq::resp::key{key});
        response<std::string> got;
        co_await conn.async_exec(get, got);
        CHECK(got.get<0>().value() == "1");  // it ran: written requests may take effect
      });
}

TEST_CASE("RESP3 push messages go to the push handler, not to a caller") {
  redis_server server;
  const auto channel = prefix() + "chan";
  run_with_connection(
      streamq::redis::parse_url(server.url()), [&](connection& conn) -> asio::awaitable<void> {
        std::vector<streamq::resp::value> pushes;
        conn.set_push_handler([&](const streamq::resp::value& v) { pushes.push_back(v); });
        request sub;
        sub.push("SUBSCRIBE", channel);
        CHECK(sub.reply_count() == 0);
        streamq::resp::ignore_response ignored;
        co_await conn.async_exec(sub, ignored);
        // a normal request interleaved with pushes still gets its own reply
        for (int i = 0; i < 50 && pushes.empty(); ++i) co_await streamq::test::sleep_for(10ms);
        server.command({"PUBLISH", channel, "hello"});
        request ping;
        ping.push("PING", "still-in-step");
        response<std::string> pong;
        for (int i = 0; i < 100 && pushes.size() < 2; ++i) {
          co_await conn.async_exec(ping, pong);
          CHECK(pong.get<0>().value() == "still-in-step");
          co_await streamq::test::sleep_for(10ms);
        }
        REQUIRE(pushes.size() >= 2);
        CHECK(pushes[0].elements.at(0).text == "subscribe");
        CHECK(pushes[1].data_type == streamq::resp::type::push);
        CHECK(pushes[1].elements.at(0).text == "message");
        CHECK(pushes[1].elements.at(2).text == "hello");
        CHECK(conn.stats().pushes >= 2);
      });
}

TEST_CASE("when the queue is full callers suspend, the bound holds") {
  redis_server server;
  auto config = streamq::redis::parse_url(server.url());
  config.max_pending_requests = 8;
  const auto key = prefix() + "bp";
  run_with_connection(config, [&](connection& conn) -> asio::awaitable<void> {
    co_await run_all(2000, [&](int) -> asio::awaitable<void> {
      request req;
      req.push("INCR", streamq::resp::key{key});
      response<std::int64_t> resp;
      co_await conn.async_exec(req, resp);
      CHECK(resp.get<0>().has_value());
    });
    CHECK(conn.stats().peak_pending <= 8);
    request get;
    get.push("GET", streamq::resp::key{key});
    response<std::int64_t> got;
    co_await conn.async_exec(get, got);
    CHECK(got.get<0>().value() == 2000);
  });
}

TEST_CASE("blocking commands are refused on the shared connection and run on a dedicated one") {
  redis_server server;
  const auto list = prefix() + "list";
  streamq::test::run_coroutine([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    streamq::client client(co_await asio::this_coro::executor, server.url());
    auto dedicated = client.make_dedicated_connection();
    request blpop;
    blpop.push("BLPOP", streamq::resp::key{list}, 1);
    response<std::optional<std::vector<std::string>>> popped;

    auto body = [&]() -> asio::awaitable<void> {
      auto [ec] = co_await client.async_exec(blpop, popped, use_tuple);
      CHECK(ec == client_errc::blocking_command_on_shared_connection);
      // the shared connection stays usable while the dedicated one blocks
      auto pusher = [&]() -> asio::awaitable<void> {
        co_await streamq::test::sleep_for(100ms);
        request push;
        push.push("RPUSH", streamq::resp::key{list}, "v");
        response<std::int64_t> pushed;
        co_await client.async_exec(push, pushed);
      };
      co_await (dedicated->async_exec(blpop, popped) && pusher());
      CHECK(popped.get<0>().value().value() == std::vector<std::string>{list, "v"});
    };
    // both owner loops end when the body does
    co_await (client.async_run(use_tuple) || dedicated->async_run(use_tuple) || body());
  });
}

TEST_CASE("stats().in_flight counts a request until its reply, and drops to 0 after") {
  redis_server server;
  const auto list = prefix() + "inflight";
  streamq::test::run_coroutine([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    streamq::client client(co_await asio::this_coro::executor, server.url());
    auto dedicated = client.make_dedicated_connection();
    request blpop;
    blpop.push("BLPOP", streamq::resp::key{list}, 5);
    response<std::optional<std::vector<std::string>>> popped;
    auto body = [&]() -> asio::awaitable<void> {
      auto watcher = [&]() -> asio::awaitable<void> {
        // The BLPOP is written and blocks in the server: one request in flight.
        for (int i = 0; i < 200 && dedicated->stats().in_flight == 0; ++i)
          co_await streamq::test::sleep_for(5ms);
        CHECK(dedicated->stats().in_flight == 1);
        request push;
        push.push("RPUSH", streamq::resp::key{list}, "v");
        response<std::int64_t> pushed;
        co_await client.async_exec(push, pushed);
      };
      co_await (dedicated->async_exec(blpop, popped) && watcher());
      CHECK(popped.get<0>().value().value() == std::vector<std::string>{list, "v"});
      CHECK(dedicated->stats().in_flight == 0);
      CHECK(client.shared_connection().stats().in_flight == 0);
    };
    co_await (client.async_run(use_tuple) || dedicated->async_run(use_tuple) || body());
  });
}

TEST_CASE("XREAD with BLOCK counts as blocking") {
  request xread;
  xread.push("XREAD", "COUNT", 1, "BLOCK", 10, "STREAMS", "s", "$");
  CHECK(xread.has_blocking_command());
  request plain;
  plain.push("XREAD", "COUNT", 1, "STREAMS", "s", "$");
  CHECK_FALSE(plain.has_blocking_command());
}

TEST_CASE("requests may be issued from other threads") {
  redis_server server;
  const auto key = prefix() + "threads";
  asio::io_context io;
  connection conn(io.get_executor(), streamq::redis::parse_url(server.url()));
  auto run_done = conn.async_run(asio::use_future);
  std::thread loop([&] {
    auto guard = asio::make_work_guard(io);
    io.run_for(30s);
  });
  constexpr int threads = 4;
  constexpr int per_thread = 200;
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        request req;
        req.push("INCR", streamq::resp::key{key});
        response<std::int64_t> resp;
        conn.async_exec(req, resp, asio::use_future).get();
        REQUIRE(resp.get<0>().has_value());
      }
    });
  for (auto& c : callers) c.join();
  request get;
  get.push("GET", streamq::resp::key{key});
  response<std::int64_t> got;
  conn.async_exec(get, got, asio::use_future).get();
  CHECK(got.get<0>().value() == threads * per_thread);
  conn.cancel();
  CHECK_THROWS(run_done.get());  // run() reports shut_down, as an exception through the future
  io.stop();
  loop.join();
}

TEST_CASE("the client knows its server's name and version from the handshake") {
  redis_server server;
  // What the fixture started: `redis-server` (name "redis") or `valkey-server` ("valkey"),
  // by STREAMQ_REDIS_SERVER.
  const char* program = std::getenv("STREAMQ_REDIS_SERVER");
  const bool valkey = program != nullptr && std::string(program).find("valkey") != std::string::npos;
  streamq::test::run_with_client(server.url(), [&](streamq::client& c) -> asio::awaitable<void> {
    CHECK_FALSE(c.server().known());  // no session yet: run() has not connected
    request ping;
    ping.push("PING");
    response<std::string> pong;
    co_await c.async_exec(ping, pong);
    const auto info = c.server();
    CHECK(info.name == (valkey ? "valkey" : "redis"));
    CHECK(info.at_least(7, 0));
    // The version HELLO reported is the one INFO reports.
    request version;
    version.push("INFO", "server");
    response<std::string> text;
    co_await c.async_exec(version, text);
    const std::string field = (valkey ? "valkey_version:" : "redis_version:") + info.version;
    CHECK(text.get<0>().value().find(field) != std::string::npos);
  });
  // With RESP2 no HELLO is sent: the server stays unknown.
  streamq::test::run_with_client(server.url() + "?resp=2",
                                 [&](streamq::client& c) -> asio::awaitable<void> {
                                   request ping;
                                   ping.push("PING");
                                   response<std::string> pong;
                                   co_await c.async_exec(ping, pong);
                                   CHECK_FALSE(c.server().known());
                                 });
}

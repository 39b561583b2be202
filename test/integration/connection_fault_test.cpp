// The connection under faults from a real server: killed clients, restarts, a hung server.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/redis/connection.hpp>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::redis::client_errc;
using streamq::redis::connection;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::test::redis_server;
using streamq::test::run_with_connection;
using streamq::test::sleep_for;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string prefix() {
  return streamq::test::unique_key_prefix(doctest::getContextOptions()->currentTest->m_name);
}

// A connection tuned to notice failures quickly.
streamq::redis::connection_config fast_config(const redis_server& server) {
  auto config = streamq::redis::parse_url(server.url());
  config.connect_timeout = 500ms;
  config.reconnect.initial_delay = 20ms;
  config.reconnect.max_delay = 200ms;
  return config;
}

// Waits until the connection has completed `connects` handshakes (and is connected).
asio::awaitable<void> wait_reconnected(connection& conn, std::uint64_t connects) {
  for (int i = 0; i < 500; ++i) {
    if (conn.stats().connects >= connects &&
        conn.state() == streamq::redis::connection_state::connected)
      co_return;
    co_await sleep_for(10ms);
  }
  FAIL("connection did not come back");
}

asio::awaitable<std::int64_t> incr(connection& conn, const std::string& k) {
  request req;
  req.push("INCR", key{k});
  response<std::int64_t> resp;
  co_await streamq::with_deadline(conn.async_exec(req, resp), 5s);
  co_return resp.get<0>().value();
}
}  // namespace

TEST_CASE("the connection comes back after CLIENT KILL") {
  redis_server server;
  const auto k = prefix() + "n";
  run_with_connection(fast_config(server), [&](connection& conn) -> asio::awaitable<void> {
    request id_req;
    id_req.push("CLIENT", "ID");
    response<std::int64_t> id;
    co_await conn.async_exec(id_req, id);
    CHECK(co_await incr(conn, k) == 1);
    for (int round = 0; round < 3; ++round) {
      co_await conn.async_exec(id_req, id);
      server.command({"CLIENT", "KILL", "ID", std::to_string(id.get<0>().value())});
      // Until the reader sees the close, a request may still be written into the dead
      // socket and fail as outcome_unknown; that case has its own test.
      co_await wait_reconnected(conn, round + 2);
      CHECK(co_await incr(conn, k) == round + 2);
    }
    CHECK(conn.stats().connects == 4);
    CHECK(conn.stats().connection_losses == 3);
  });
}

TEST_CASE("the connection comes back after a server restart, with queued requests kept") {
  redis_server server;
  const auto k = prefix() + "n";
  run_with_connection(fast_config(server), [&](connection& conn) -> asio::awaitable<void> {
    CHECK(co_await incr(conn, k) == 1);
    server.stop();
    for (int i = 0; i < 200 && conn.state() == streamq::redis::connection_state::connected; ++i)
      co_await sleep_for(5ms);
    // issued while the server is down: not written, so kept for the next connection
    request req;
    req.push("SET", key{k}, "after-restart");
    response<std::string> resp;
    auto restart_later = [&]() -> asio::awaitable<void> {
      co_await sleep_for(300ms);
      server.restart();
    };
    streamq::redis::error_code ec;
    auto exec = [&]() -> asio::awaitable<void> {
      std::tie(ec) = co_await streamq::with_deadline(conn.async_exec(req, resp, use_tuple), 10s);
    };
    using namespace asio::experimental::awaitable_operators;
    co_await (exec() && restart_later());
    REQUIRE_MESSAGE(!ec, ec.message());
    CHECK(resp.get<0>().value() == "OK");
    CHECK(conn.stats().connects >= 2);
  });
}

TEST_CASE("a written request whose reply is lost fails as outcome_unknown") {
  redis_server server;
  const auto k = prefix() + "n";
  run_with_connection(fast_config(server), [&](connection& conn) -> asio::awaitable<void> {
    CHECK(co_await incr(conn, k) == 1);
    server.pause();  // the request is written, the server never answers
    request req;
    req.push("INCR", key{k});
    response<std::int64_t> resp;
    auto kill_later = [&]() -> asio::awaitable<void> {
      co_await sleep_for(200ms);
      server.kill();
      server.restart();
    };
    streamq::redis::error_code ec;
    auto exec = [&]() -> asio::awaitable<void> {
      std::tie(ec) = co_await conn.async_exec(req, resp, use_tuple);
    };
    using namespace asio::experimental::awaitable_operators;
    co_await (exec() && kill_later());
    CHECK(ec == client_errc::outcome_unknown);
    CHECK_FALSE(streamq::redis::is_retryable(ec));
    CHECK(co_await incr(conn, k) >= 1);  // usable again after the restart
  });
}

TEST_CASE("the health check notices a hung server and the connection recovers") {
  redis_server server;
  auto config = fast_config(server);
  config.health_check_interval = 100ms;
  config.health_check_timeout = 300ms;
  const auto k = prefix() + "n";
  run_with_connection(config, [&](connection& conn) -> asio::awaitable<void> {
    CHECK(co_await incr(conn, k) == 1);
    server.pause();
    co_await sleep_for(1200ms);
    CHECK(conn.state() != streamq::redis::connection_state::connected);
    CHECK(conn.stats().connection_losses >= 1);
    server.resume();
    CHECK(co_await incr(conn, k) == 2);
  });
}

TEST_CASE("without keep_unwritten_on_disconnect requests fail fast while disconnected") {
  redis_server server;
  auto config = fast_config(server);
  config.keep_unwritten_on_disconnect = false;
  run_with_connection(config, [&](connection& conn) -> asio::awaitable<void> {
    co_await wait_reconnected(conn, 1);
    CHECK(co_await incr(conn, prefix() + "n") == 1);
    server.stop();
    co_await sleep_for(100ms);
    request req;
    req.push("PING");
    streamq::resp::ignore_response ignored;
    auto [ec] = co_await conn.async_exec(req, ignored, use_tuple);
    CHECK(ec == client_errc::not_connected);
    CHECK(conn.last_error());  // says why: the session ended, reconnects are refused
    CHECK(streamq::redis::is_retryable(ec));
  });
}

TEST_CASE("run() without reconnection ends with the connection error") {
  redis_server server;
  auto config = fast_config(server);
  config.reconnect.enabled = false;
  server.stop();
  const auto ec = run_with_connection(
      config, [&](connection&) -> asio::awaitable<void> { co_await sleep_for(200ms); });
  CHECK(ec == asio::error::connection_refused);
}

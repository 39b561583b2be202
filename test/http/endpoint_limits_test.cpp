// http::endpoint's protection and lifetime over real loopback sockets: slow clients cut off
// while others are served, max_connections, idle keep-alive connections, stop() and
// cancellation with connections open, binding errors, configuration checks.
#include "http_client.hpp"

#include <support/async_test.hpp>

#include <streamq/http/endpoint.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace asio = boost::asio;
namespace http = streamq::http;
using namespace streamq::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

http::response ok(const http::request&) {
  return http::response{200, "text/plain; charset=utf-8", "ok", {}};
}

}  // namespace

TEST_CASE(
    "http endpoint: a client that sends half a request and stalls gets 408 within request_timeout "
    "- others are served meanwhile") {
  run_coroutine([]() -> asio::awaitable<void> {
    const auto config = test_config();
    http::endpoint ep(co_await asio::this_coro::executor, config);
    ep.route("/metrics", ok);
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      const auto started = clock_type::now();
      auto slow = co_await connect_to(ep);
      const std::string half = "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Dri";
      co_await send_text(slow, half);
      // While the slow client holds its connection, another one is answered at once.
      const auto request = get_request("/metrics");
      const auto served = co_await round_trip(ep, request);
      CHECK(served.status == 200);
      CHECK(clock_type::now() - started < config.request_timeout);
      const auto received = co_await read_until_closed(slow, 3 * config.request_timeout);
      const auto elapsed = clock_type::now() - started;
      CHECK(received.starts_with("HTTP/1.1 408"));
      CHECK(elapsed >= config.request_timeout);
      CHECK(elapsed < 3 * config.request_timeout);
    });
    CHECK(ep.stats().timeouts == 1);
  });
}

TEST_CASE(
    "http endpoint: a body trickled slower than request_timeout gets 408 - the deadline covers the "
    "whole request") {
  run_coroutine([]() -> asio::awaitable<void> {
    const auto config = test_config();
    http::endpoint ep(co_await asio::this_coro::executor, config);
    ep.route("/in", ok, http::method_list{"POST"});
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      auto c = co_await connect_to(ep);
      const std::string head = "POST /in HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n";
      co_await send_text(c, head);
      // One byte at a time, each well within the timeout, the whole far beyond it.
      const auto step = config.request_timeout / 6;
      for (int i = 0; i < 12; ++i) {
        co_await sleep_for(step);
        const auto [ec, n] = co_await asio::async_write(c.socket, asio::buffer("x", 1),
                                                        asio::as_tuple(asio::use_awaitable));
        if (ec) break;
      }
      CHECK((co_await read_until_closed(c, 2s)).starts_with("HTTP/1.1 408"));
    });
  });
}

TEST_CASE(
    "http endpoint: a kept-alive connection idle longer than idle_timeout is closed without a "
    "status") {
  run_coroutine([]() -> asio::awaitable<void> {
    const auto config = test_config();
    http::endpoint ep(co_await asio::this_coro::executor, config);
    ep.route("/r", ok);
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      auto c = co_await connect_to(ep);
      const auto request = get_request("/r");
      co_await send_text(c, request);
      CHECK((co_await read_reply(c, false)).status == 200);
      const auto started = clock_type::now();
      CHECK((co_await read_until_closed(c, 3 * config.idle_timeout)).empty());
      CHECK(clock_type::now() - started >= config.idle_timeout);
    });
    CHECK(ep.stats().timeouts == 0);
  });
}

TEST_CASE(
    "http endpoint: over max_connections a connection gets 503 and is closed - the open ones are "
    "still served") {
  run_coroutine([]() -> asio::awaitable<void> {
    auto config = test_config();
    config.max_connections = 2;
    http::endpoint ep(co_await asio::this_coro::executor, config);
    ep.route("/r", ok);
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      auto a = co_await connect_to(ep);
      auto b = co_await connect_to(ep);
      co_await wait_until([&] { return ep.stats().open_connections == 2; });
      auto c = co_await connect_to(ep);
      const auto request = get_request("/r");
      co_await send_text(c, request);
      CHECK((co_await read_until_closed(c, 2s)).starts_with("HTTP/1.1 503"));
      co_await send_text(a, request);
      CHECK((co_await read_reply(a, false)).status == 200);
      // Once one closes, a new connection is accepted again.
      b.socket.close();
      co_await wait_until([&] { return ep.stats().open_connections == 1; });
      CHECK((co_await round_trip(ep, request)).status == 200);
    });
    CHECK(ep.stats().connections_refused == 1);
    CHECK(ep.stats().connections_accepted == 3);
    CHECK(ep.stats().responses_5xx == 1);
  });
}

TEST_CASE(
    "http endpoint: stop() with connections open (idle, mid-request, in a handler) ends run() "
    "after closing them all") {
  run_coroutine([]() -> asio::awaitable<void> {
    auto config = test_config();
    config.request_timeout = 30s;  // nothing here may end by a timeout
    config.idle_timeout = 30s;
    http::endpoint ep(co_await asio::this_coro::executor, config);
    bool handler_cancelled = false;
    ep.route("/forever", [&](const http::request&) -> asio::awaitable<http::response> {
      asio::steady_timer never(co_await asio::this_coro::executor, 1h);
      const auto [ec] = co_await never.async_wait(asio::as_tuple(asio::use_awaitable));
      handler_cancelled = ec == asio::error::operation_aborted;
      const http::request unused;
      co_return ok(unused);
    });
    ep.route("/r", ok);
    bool run_returned = false;
    const auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, ep.async_run(asio::use_awaitable), [&](std::exception_ptr e) {
      CHECK_FALSE(e);
      run_returned = true;
    });
    auto idle = co_await connect_to(ep);
    const auto request = get_request("/r");
    co_await send_text(idle, request);
    CHECK((co_await read_reply(idle, false)).status == 200);
    auto partial = co_await connect_to(ep);
    const std::string half = "GET /r HTTP/1.1\r\n";
    co_await send_text(partial, half);
    auto waiting = co_await connect_to(ep);
    const auto forever = get_request("/forever");
    co_await send_text(waiting, forever);
    co_await wait_until([&] { return ep.stats().open_connections == 3; });
    co_await sleep_for(20ms);  // the handler is waiting

    const auto started = clock_type::now();
    ep.stop();
    co_await wait_until([&] { return run_returned; }, 2000ms);
    CHECK(clock_type::now() - started < 1s);
    CHECK(handler_cancelled);
    CHECK(ep.stats().open_connections == 0);
    for (auto* c : {&idle, &partial, &waiting}) CHECK((co_await read_until_closed(*c, 1s)).empty());
    // The listening socket is closed too.
    {
      asio::ip::tcp::socket probe(ex);
      const auto [ec] =
          co_await probe.async_connect(ep.local_endpoint(), asio::as_tuple(asio::use_awaitable));
      CHECK(ec == asio::error::connection_refused);
    }
  });
}

TEST_CASE("http endpoint: stop() from another thread ends run() on the io_context's thread") {
  asio::io_context io;
  http::endpoint ep(io.get_executor(), test_config());
  ep.route("/r", ok);
  std::promise<boost::system::error_code> outcome;
  ep.async_run([&](boost::system::error_code ec) { outcome.set_value(ec); });
  std::thread loop([&] { io.run(); });
  // The endpoint serves from the loop's thread while this one is a blocking client.
  asio::io_context client_io;
  asio::ip::tcp::socket client(client_io);
  client.connect(ep.local_endpoint());
  const auto request = get_request("/r");
  asio::write(client, asio::buffer(request));
  std::array<char, 16> start{};
  asio::read(client, asio::buffer(start));
  CHECK(std::string_view(start.data(), 12) == "HTTP/1.1 200");
  ep.stop();
  auto ended = outcome.get_future();
  const bool returned = ended.wait_for(5s) == std::future_status::ready;
  if (!returned) io.stop();  // fail rather than hang
  loop.join();
  REQUIRE(returned);
  CHECK_FALSE(ended.get());
}

TEST_CASE(
    "http endpoint: cancelling async_run stops it like stop() - it completes without an error") {
  run_coroutine([]() -> asio::awaitable<void> {
    http::endpoint ep(co_await asio::this_coro::executor, test_config());
    ep.route("/r", ok);
    asio::cancellation_signal cancel;
    std::optional<boost::system::error_code> outcome;
    ep.async_run(asio::bind_cancellation_slot(cancel.slot(),
                                              [&](boost::system::error_code ec) { outcome = ec; }));
    auto open = co_await connect_to(ep);
    const auto request = get_request("/r");
    co_await send_text(open, request);
    CHECK((co_await read_reply(open, false)).status == 200);
    cancel.emit(asio::cancellation_type::terminal);
    co_await wait_until([&] { return outcome.has_value(); }, 2000ms);
    CHECK_FALSE(*outcome);
    CHECK((co_await read_until_closed(open, 1s)).empty());
  });
}

TEST_CASE("http endpoint: stop() before run() makes run() return at once - an endpoint runs once") {
  run_coroutine([]() -> asio::awaitable<void> {
    http::endpoint ep(co_await asio::this_coro::executor, test_config());
    ep.stop();
    co_await ep.run();
    CHECK_THROWS_AS(ep.route("/late", ok), std::logic_error);
    bool threw = false;
    try {
      co_await ep.run();
    } catch (const boost::system::system_error& e) {
      threw = e.code() == asio::error::already_started;
    }
    CHECK(threw);
  });
}

TEST_CASE(
    "http endpoint: binding a port in use throws system_error - the port is known at "
    "construction") {
  asio::io_context io;
  http::endpoint first(io.get_executor(), test_config());
  REQUIRE(first.port() != 0);
  CHECK(first.local_endpoint().address().is_loopback());
  auto taken = test_config();
  taken.port = first.port();
  try {
    http::endpoint second(io.get_executor(), taken);
    FAIL("binding a port in use did not throw");
  } catch (const boost::system::system_error& e) {
    CHECK(e.code() == asio::error::address_in_use);
  }
}

TEST_CASE("http endpoint: a bad config or route throws invalid_argument naming the field") {
  asio::io_context io;
  const auto refused = [&](http::endpoint_config config, const std::string& field) {
    CAPTURE(field);
    try {
      http::endpoint ep(io.get_executor(), std::move(config));
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("endpoint_config." + field + ":") != std::string::npos);
    }
  };
  auto c = test_config();
  c.address = "localhost";  // a name, not an address: resolving is not the endpoint's job
  refused(c, "address");
  c = test_config();
  c.max_connections = 0;
  refused(c, "max_connections");
  c = test_config();
  c.header_limit = 0;
  refused(c, "header_limit");
  c = test_config();
  c.request_timeout = 0ms;
  refused(c, "request_timeout");
  c = test_config();
  c.write_timeout = -1ms;
  refused(c, "write_timeout");
  c = test_config();
  c.idle_timeout = 0ms;
  refused(c, "idle_timeout");
  c = test_config();
  c.linger_timeout = 0ms;
  refused(c, "linger_timeout");
  c = test_config();
  c.max_requests_per_connection = 0;
  refused(c, "max_requests_per_connection");

  http::endpoint ep(io.get_executor(), test_config());
  ep.route("/metrics", ok);
  CHECK_THROWS_WITH_AS(ep.route("/metrics", ok), doctest::Contains("'/metrics'"),
                       std::invalid_argument);
  CHECK_THROWS_AS(ep.route("metrics", ok), std::invalid_argument);
  CHECK_THROWS_AS(ep.route("/x", ok, http::method_list{}), std::invalid_argument);
  CHECK_THROWS_AS(ep.route("/x", http::handler{}), std::invalid_argument);
  ep.prefix_route("/metrics", [](const http::request& r) -> asio::awaitable<http::response> {
    co_return ok(r);
  });  // a prefix and an exact route may share a path
}

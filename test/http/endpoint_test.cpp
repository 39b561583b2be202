// http::endpoint over real loopback sockets: routing, methods, statuses for malformed and
// oversized requests, handlers that throw, keep-alive and pipelining. The endpoint and raw
// TCP clients share one io_context.
#include "http_client.hpp"

#include <support/async_test.hpp>

#include <streamq/http/endpoint.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace http = streamq::http;
using namespace streamq::test;
using namespace std::chrono_literals;

namespace {

http::response text(std::string body) {
  return http::response{200, "text/plain; charset=utf-8", std::move(body), {}};
}

}  // namespace

TEST_CASE(
    "http endpoint: a GET route answers 200 with its body, content type and the request's parts") {
  run_coroutine([]() -> asio::awaitable<void> {
    http::endpoint ep(co_await asio::this_coro::executor, test_config());
    ep.route("/metrics", [](const http::request& req) {
      const auto agent = req.find_header("user-agent");
      return http::response{200,
                            "text/plain; version=0.0.4",
                            req.method + " " + req.path + " ?" + req.query + " " +
                                std::string(agent.value_or("none")),
                            {{"Cache-Control", "no-store"}}};
    });
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      const auto request = get_request("/metrics?a=1&b=2", "User-Agent: probe\r\n");
      const auto reply = co_await round_trip(ep, request);
      CHECK(reply.status == 200);
      CHECK(reply.content_type == "text/plain; version=0.0.4");
      CHECK(reply.body == "GET /metrics ?a=1&b=2 probe");
      CHECK(reply.keep_alive);
    });
    CHECK(ep.stats().requests_served == 1);
    CHECK(ep.stats().connections_accepted == 1);
    CHECK(ep.port() != 0);
  });
}

TEST_CASE(
    "http endpoint: HEAD sends GET's headers and no body - the next reply on the connection "
    "parses") {
  run_coroutine([]() -> asio::awaitable<void> {
    http::endpoint ep(co_await asio::this_coro::executor, test_config());
    ep.route("/healthz", [](const http::request&) { return text("healthy"); });
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      auto c = co_await connect_to(ep);
      const std::string head = "HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
      co_await send_text(c, head);
      const auto headers_only = co_await read_reply(c, true);
      CHECK(headers_only.status == 200);
      CHECK(headers_only.content_length == "7");
      CHECK(headers_only.body.empty());
      const auto get = get_request("/healthz");
      co_await send_text(c, get);
      // Had HEAD's reply carried the body, these bytes would be read as this reply's start.
      const auto full = co_await read_reply(c, false);
      CHECK(full.status == 200);
      CHECK(full.body == "healthy");
    });
  });
}

TEST_CASE(
    "http endpoint: unknown path 404, wrong method 405 with Allow, a POST route gets the body") {
  run_coroutine([]() -> asio::awaitable<void> {
    http::endpoint ep(co_await asio::this_coro::executor, test_config());
    ep.route("/readyz", [](const http::request&) { return text("ready"); });
    ep.route(
        "/actions/retry",
        [](const http::request& req) -> asio::awaitable<http::response> {
          // An asynchronous handler: it waits before answering, as a Redis query would.
          asio::steady_timer pause(co_await asio::this_coro::executor, 5ms);
          co_await pause.async_wait(asio::use_awaitable);
          co_return text("retried " + req.body);
        },
        http::method_list{"POST"});
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      const auto missing = get_request("/nowhere");
      CHECK((co_await round_trip(ep, missing)).status == 404);
      const std::string post_ready =
          "POST /readyz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
      const auto wrong = co_await round_trip(ep, post_ready);
      CHECK(wrong.status == 405);
      CHECK(wrong.allow == "GET, HEAD");
      const std::string post =
          "POST /actions/retry HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabc12";
      const auto done = co_await round_trip(ep, post);
      CHECK(done.status == 200);
      CHECK(done.body == "retried abc12");
      const auto get_action = get_request("/actions/retry");
      const auto get_refused = co_await round_trip(ep, get_action);
      CHECK(get_refused.status == 405);
      CHECK(get_refused.allow == "POST");
    });
    CHECK(ep.stats().responses_4xx == 3);
  });
}

TEST_CASE("http endpoint: Expect 100-continue gets the interim reply before the body is sent") {
  run_coroutine([]() -> asio::awaitable<void> {
    http::endpoint ep(co_await asio::this_coro::executor, test_config());
    ep.route(
        "/in", [](const http::request& r) { return text(r.body); }, http::method_list{"POST"});
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      auto c = co_await connect_to(ep);
      const std::string head =
          "POST /in HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
      co_await send_text(c, head);
      const auto interim = co_await read_reply(c, false);
      CHECK(interim.status == 100);
      const std::string body = "data";
      co_await send_text(c, body);
      const auto final_reply = co_await read_reply(c, false);
      CHECK(final_reply.status == 200);
      CHECK(final_reply.body == "data");
    });
  });
}

TEST_CASE("http endpoint: a prefix route serves a subtree - exact routes and longer prefixes win") {
  run_coroutine([]() -> asio::awaitable<void> {
    http::endpoint ep(co_await asio::this_coro::executor, test_config());
    const auto echo = [](std::string who) {
      return [who](const http::request& req) -> asio::awaitable<http::response> {
        co_return text(who + ":" + req.path);
      };
    };
    ep.prefix_route("/static/", echo("static"));
    ep.prefix_route("/static/js/", echo("js"));
    ep.route("/static/index.html", echo("exact"));
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      const auto css = get_request("/static/app.css");
      CHECK((co_await round_trip(ep, css)).body == "static:/static/app.css");
      const auto js = get_request("/static/js/app.js");
      CHECK((co_await round_trip(ep, js)).body == "js:/static/js/app.js");
      const auto index = get_request("/static/index.html");
      CHECK((co_await round_trip(ep, index)).body == "exact:/static/index.html");
      const auto outside = get_request("/staticfile");
      CHECK((co_await round_trip(ep, outside)).status == 404);
    });
  });
}

TEST_CASE(
    "http endpoint: malformed request line 400, HTTP/2.0 505, HTTP/1.1 without Host 400 - each "
    "closed, logged once at debug") {
  run_coroutine([]() -> asio::awaitable<void> {
    auto config = test_config();
    std::vector<streamq::log_level> levels;
    config.log = streamq::logger([&](const streamq::log_record& r) { levels.push_back(r.level); },
                                 streamq::log_level::debug);
    http::endpoint ep(co_await asio::this_coro::executor, config);
    ep.route("/metrics", [](const http::request&) { return text("m"); });
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      const std::vector<std::pair<std::string, std::string>> cases = {
          {"GARBAGE\r\n\r\n", "HTTP/1.1 400"},
          {"GET /metrics HTTP/1.x\r\nHost: t\r\n\r\n", "HTTP/1.1 400"},
          {"GET /metrics HTTP/2.0\r\nHost: t\r\n\r\n", "HTTP/1.1 505"},
          {"GET /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400"},
          {"GET metrics HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 400"},
      };
      for (const auto& [sent, expected] : cases) {
        CAPTURE(sent);
        auto c = co_await connect_to(ep);
        co_await send_text(c, sent);
        const auto received = co_await read_until_closed(c, 2s);
        CHECK(received.starts_with(expected));
        CHECK(received.find("Connection: close") != std::string::npos);
      }
      // HTTP/1.0 without Host is fine.
      const std::string old = "GET /metrics HTTP/1.0\r\n\r\n";
      CHECK((co_await round_trip(ep, old)).status == 200);
    });
    CHECK(ep.stats().responses_5xx == 1);
    // A hostile client is worth one debug record per refused connection, never a warning.
    CHECK(levels == std::vector<streamq::log_level>(5, streamq::log_level::debug));
  });
}

TEST_CASE(
    "http endpoint: a header over header_limit 431, a body over body_limit 413, a GET with a body "
    "413") {
  run_coroutine([]() -> asio::awaitable<void> {
    auto config = test_config();
    config.header_limit = 512;
    config.body_limit = 64;
    http::endpoint ep(co_await asio::this_coro::executor, config);
    ep.route(
        "/in", [](const http::request& r) { return text(r.body); },
        http::method_list{"GET", "POST"});
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      const std::string big_header = get_request("/in", "X-Big: " + std::string(600, 'x') + "\r\n");
      auto c1 = co_await connect_to(ep);
      co_await send_text(c1, big_header);
      CHECK((co_await read_until_closed(c1, 2s)).starts_with("HTTP/1.1 431"));

      // The whole oversized body is sent: the endpoint answers and drops the rest, and the
      // client still reads the status (not a reset).
      const std::string big_body =
          "POST /in HTTP/1.1\r\nHost: t\r\nContent-Length: 65\r\n\r\n" + std::string(65, 'b');
      auto c2 = co_await connect_to(ep);
      co_await send_text(c2, big_body);
      CHECK((co_await read_until_closed(c2, 2s)).starts_with("HTTP/1.1 413"));

      const std::string chunked_big =
          "POST /in HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
          "30\r\n" +
          std::string(48, 'c') + "\r\n30\r\n" + std::string(48, 'c') + "\r\n0\r\n\r\n";
      auto c3 = co_await connect_to(ep);
      co_await send_text(c3, chunked_big);
      CHECK((co_await read_until_closed(c3, 2s)).starts_with("HTTP/1.1 413"));

      const std::string get_body = "GET /in HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
      auto c4 = co_await connect_to(ep);
      co_await send_text(c4, get_body);
      CHECK((co_await read_until_closed(c4, 2s)).starts_with("HTTP/1.1 413"));

      const std::string at_limit =
          "POST /in HTTP/1.1\r\nHost: t\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'k');
      CHECK((co_await round_trip(ep, at_limit)).body == std::string(64, 'k'));
    });
    CHECK(ep.stats().responses_4xx == 4);
  });
}

TEST_CASE(
    "http endpoint: a throwing handler gives 500 and an error record - the connection and endpoint "
    "keep serving") {
  run_coroutine([]() -> asio::awaitable<void> {
    auto config = test_config();
    std::vector<std::string> errors;
    config.log = streamq::logger(
        [&](const streamq::log_record& r) {
          if (r.level == streamq::log_level::error) errors.emplace_back(r.event);
        },
        streamq::log_level::debug);
    http::endpoint ep(co_await asio::this_coro::executor, config);
    ep.route("/boom", [](const http::request&) -> http::response {
      throw std::runtime_error("handler bug");
    });
    ep.route("/bad-status", [](const http::request&) {
      return http::response{42, "text/plain", "", {}};
    });
    ep.route("/bad-header", [](const http::request&) {
      return http::response{200, "text/plain", "", {{"X-Split", "a\r\nInjected: yes"}}};
    });
    ep.route("/fine", [](const http::request&) { return text("fine"); });
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      auto c = co_await connect_to(ep);
      for (const char* path : {"/boom", "/bad-status", "/bad-header"}) {
        const auto request = get_request(path);
        co_await send_text(c, request);
        const auto failed = co_await read_reply(c, false);
        CHECK(failed.status == 500);
        CHECK(failed.keep_alive);
      }
      const auto request = get_request("/fine");
      co_await send_text(c, request);
      CHECK((co_await read_reply(c, false)).body == "fine");
    });
    CHECK(errors == std::vector<std::string>{"handler_failed", "handler_failed", "handler_failed"});
    CHECK(ep.stats().responses_5xx == 3);
  });
}

TEST_CASE(
    "http endpoint: pipelined requests are answered in order - Connection close is honoured") {
  run_coroutine([]() -> asio::awaitable<void> {
    http::endpoint ep(co_await asio::this_coro::executor, test_config());
    ep.route("/slow", [](const http::request&) -> asio::awaitable<http::response> {
      // The first request takes longer: answers still come in request order.
      asio::steady_timer pause(co_await asio::this_coro::executor, 20ms);
      co_await pause.async_wait(asio::use_awaitable);
      co_return text("first");
    });
    ep.route("/fast", [](const http::request&) { return text("second"); });
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      auto c = co_await connect_to(ep);
      const std::string both = get_request("/slow") + get_request("/fast", "Connection: close\r\n");
      co_await send_text(c, both);
      const auto first = co_await read_reply(c, false);
      const auto second = co_await read_reply(c, false);
      CHECK(first.body == "first");
      CHECK(first.keep_alive);
      CHECK(second.body == "second");
      CHECK_FALSE(second.keep_alive);
      CHECK((co_await read_until_closed(c, 2s)).empty());
    });
    CHECK(ep.stats().requests_served == 2);
  });
}

TEST_CASE("http endpoint: max_requests_per_connection closes the connection after its last reply") {
  run_coroutine([]() -> asio::awaitable<void> {
    auto config = test_config();
    config.max_requests_per_connection = 2;
    http::endpoint ep(co_await asio::this_coro::executor, config);
    ep.route("/r", [](const http::request&) { return text("r"); });
    co_await serve_while(ep, [&]() -> asio::awaitable<void> {
      auto c = co_await connect_to(ep);
      const auto request = get_request("/r");
      co_await send_text(c, request);
      CHECK((co_await read_reply(c, false)).keep_alive);
      co_await send_text(c, request);
      CHECK_FALSE((co_await read_reply(c, false)).keep_alive);
      CHECK((co_await read_until_closed(c, 2s)).empty());
    });
  });
}

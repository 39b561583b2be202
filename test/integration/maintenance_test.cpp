// Trimming and consumer clean-up never lose work, against a real redis-server.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/maintenance.hpp>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::topic_keys;
using streamq::test::redis_server;

namespace {

asio::awaitable<std::vector<std::string>> run(client& c, const request& req) {
  response<streamq::resp::value> reply;
  co_await c.async_exec(req, reply);
  std::vector<std::string> ids;
  // XREADGROUP reply: {stream: [[id, fields], ...]}
  const auto& v = reply.get<0>().value();
  if (v.elements.size() == 2)
    for (const auto& e : v.elements[1].elements) ids.push_back(e.elements.at(0).text);
  co_return ids;
}

asio::awaitable<std::int64_t> length(client& c, const topic_keys& keys) {
  request req;
  req.push("XLEN", key{keys.stream()});
  response<std::int64_t> n;
  co_await c.async_exec(req, n);
  co_return n.get<0>().value();
}
}  // namespace

TEST_CASE("trimming stops at the oldest entry a group still needs, unless told otherwise") {
  redis_server server;
  const topic_keys keys("trim-test");
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    request setup;
    setup.push("XGROUP", "CREATE", key{keys.stream()}, "g", "0", "MKSTREAM");
    for (int i = 0; i < 20; ++i) setup.push("XADD", key{keys.stream()}, "*", "n", i);
    streamq::resp::ignore_response ignored;
    co_await c.async_exec(setup, ignored);
    // the group reads 10 and acknowledges the first 5: entries 6..20 are still needed
    request read;
    read.push("XREADGROUP", "GROUP", "g", "c", "COUNT", 10, "STREAMS", key{keys.stream()}, ">");
    const auto ids = co_await run(c, read);
    REQUIRE(ids.size() == 10);
    request ack;
    ack.push("XACK", key{keys.stream()}, "g",
             std::vector<std::string>(ids.begin(), ids.begin() + 5));
    co_await c.async_exec(ack, ignored);

    streamq::streams::retention_policy keep3{.max_length = 3};
    CHECK(co_await streamq::streams::trim_topic(c, keys, keep3) == 5);
    CHECK(co_await length(c, keys) == 15);
    // a second group that has read nothing needs everything
    request g2;
    g2.push("XGROUP", "CREATE", key{keys.stream()}, "g2", "0");
    co_await c.async_exec(g2, ignored);
    CHECK(co_await streamq::streams::trim_topic(c, keys, keep3) == 0);
    // explicitly allowed: down to the cap
    keep3.trim_unacknowledged = true;
    CHECK(co_await streamq::streams::trim_topic(c, keys, keep3) == 12);
    CHECK(co_await length(c, keys) == 3);
  });
}

TEST_CASE("age-based retention respects unread entries too") {
  redis_server server;
  const topic_keys keys("age-test");
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    request setup;
    setup.push("XGROUP", "CREATE", key{keys.stream()}, "g", "$", "MKSTREAM");
    for (int i = 0; i < 5; ++i) setup.push("XADD", key{keys.stream()}, "*", "n", i);
    streamq::resp::ignore_response ignored;
    co_await c.async_exec(setup, ignored);
    co_await streamq::test::sleep_for(50ms);
    streamq::streams::retention_policy young{.max_age = 10ms};
    CHECK(co_await streamq::streams::trim_topic(c, keys, young) == 0);  // unread by g
    request read;
    read.push("XREADGROUP", "GROUP", "g", "c", "STREAMS", key{keys.stream()}, ">");
    const auto ids = co_await run(c, read);
    request ack;
    ack.push("XACK", key{keys.stream()}, "g", ids);
    co_await c.async_exec(ack, ignored);
    CHECK(co_await streamq::streams::trim_topic(c, keys, young) == 5);
  });
}

TEST_CASE("idle consumers are removed only when they own no pending entries") {
  redis_server server;
  const topic_keys keys("idle-test");
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    request setup;
    setup.push("XGROUP", "CREATE", key{keys.stream()}, "g", "0", "MKSTREAM");
    setup.push("XADD", key{keys.stream()}, "*", "n", 1);
    setup.push("XREADGROUP", "GROUP", "g", "holder", "COUNT", 1, "STREAMS", key{keys.stream()},
               ">");
    // (Redis 7.0 registers a consumer on its first delivery only; create these explicitly)
    setup.push("XGROUP", "CREATECONSUMER", key{keys.stream()}, "g", "idle");
    setup.push("XGROUP", "CREATECONSUMER", key{keys.stream()}, "g", "me");
    streamq::resp::ignore_response ignored;
    co_await c.async_exec(setup, ignored);
    co_await streamq::test::sleep_for(200ms);
    const auto removed =
        co_await streamq::streams::remove_idle_consumers(c, keys, "g", 100ms, "me");
    CHECK(removed == std::vector<std::string>{"idle"});
    request consumers;
    consumers.push("XINFO", "CONSUMERS", key{keys.stream()}, "g");
    response<streamq::resp::value> info;
    co_await c.async_exec(consumers, info);
    CHECK(info.get<0>().value().elements.size() == 2);  // holder (pending) and me (kept)
  });
}

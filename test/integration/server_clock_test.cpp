// Due times, trimming by age and a recurring task's start are the server's clock, read inside
// the scripts (docs/wire-format.md §9, §11). The server's clock cannot be skewed here, so each
// test holds the request at a paused server (SIGSTOP) for `held`: a time the client took
// when it sent the request is then `held` older than the server's TIME when the script runs.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/maintenance.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::sleep_for;

namespace {

// How long each request waits at the paused server. The checks allow `slack` between the
// script and the TIME read after it: less than `held`, so a client-side time fails them.
constexpr auto held = 2500ms;
constexpr auto slack = 1500ms;

Order order(const std::string& id) {
  Order o;
  o.set_id(id);
  return o;
}

asio::awaitable<std::int64_t> server_ms(client& c) {
  request req;
  req.push("TIME");
  response<std::vector<std::string>> time;
  co_await c.async_exec(req, time);
  const auto& t = time.get<0>().value();
  REQUIRE(t.size() == 2);
  co_return std::stoll(t[0]) * 1000 + std::stoll(t[1]) / 1000;
}

// Runs `op` while the server is paused for `held`, and returns its result.
template <class T>
asio::awaitable<T> held_at_paused_server(redis_server& server, asio::awaitable<T> op) {
  std::optional<T> result;
  std::exception_ptr failure;
  server.pause();
  asio::co_spawn(
      co_await asio::this_coro::executor,
      [&]() -> asio::awaitable<void> { result.emplace(co_await std::move(op)); },
      [&](std::exception_ptr e) { failure = e; });
  co_await sleep_for(held);
  server.resume();
  co_await streamq::test::wait_until([&] { return result.has_value() || failure; });
  if (failure) std::rethrow_exception(failure);
  co_return std::move(*result);
}

}  // namespace

TEST_CASE("publish_in's due time is the server's TIME when it is scheduled, plus the delay") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler s(c, scheduler_config{});
    constexpr auto delay = 60s;
    const auto id = co_await held_at_paused_server(server, s.publish_in(topic, order("x"), delay));
    const auto now = co_await server_ms(c);
    request req;
    req.push("ZSCORE", key{topic_keys(topic).delayed()}, id);
    response<std::string> score;
    co_await c.async_exec(req, score);
    const auto due = std::stoll(score.get<0>().value());
    const auto delay_ms = std::chrono::milliseconds(delay).count();
    INFO("due - (server now + delay) = ", due - (now + delay_ms), " ms");
    CHECK(due <= now + delay_ms);
    CHECK(due >= now + delay_ms - std::chrono::milliseconds(slack).count());
  });
}

TEST_CASE("trimming by max_age measures age by the server's TIME when it trims") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    const topic_keys keys(topic);
    request add;
    add.push("XADD", key{keys.stream()}, "*", "v", "1", "e", "x");
    response<std::string> added;
    co_await c.async_exec(add, added);
    REQUIRE(added.get<0>().has_value());
    // The entry is younger than max_age when the trim is sent, older when the script runs.
    streamq::streams::retention_policy policy;
    policy.max_age = held - 1000ms;
    policy.trim_unacknowledged = true;
    const auto removed =
        co_await held_at_paused_server(server, streamq::streams::trim_topic(c, keys, policy));
    CHECK(removed == 1);
    CHECK(co_await streamq::test::topic_length(c, topic) == 0);
  });
}

TEST_CASE("a new recurring task's history starts at the server's TIME") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler s(c, scheduler_config{});
    const streamq::streams::schedule hourly(streamq::streams::interval_schedule(
        1h, streamq::streams::interval_schedule::anchor_type{}));
    auto upsert = [&]() -> asio::awaitable<bool> {
      co_await s.upsert_recurring(topic, "hourly", hourly, order("tick"),
                                  streamq::streams::missed_policy::skip);
      co_return true;
    };
    co_await held_at_paused_server(server, upsert());
    const auto now = co_await server_ms(c);
    const auto tasks = co_await s.list_recurring(topic);
    REQUIRE(tasks.size() == 1);
    REQUIRE(tasks[0].last_occurrence.has_value());
    const auto last = streamq::test::unix_ms(*tasks[0].last_occurrence);
    INFO("last - server now = ", last - now, " ms");
    CHECK(last <= now);
    CHECK(last >= now - std::chrono::milliseconds(slack).count());
  });
}

// Redis out of memory (maxmemory below what it uses, noeviction): publishes fail with a typed
// OOM error and add nothing, scripts are all-or-nothing, consuming and acknowledging go on, and
// nothing published before is lost.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>

#include <cstdio>
#include <set>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::wait_until;

namespace {

Order order(int i) {
  Order o;
  o.set_id("seq-" + std::to_string(i));
  o.add_items(std::string(2000, 'x'));  // memory that counts
  return o;
}

// The error a failing call threw, or none.
template <class Call>
asio::awaitable<boost::system::error_code> refusal_of(Call call) {
  try {
    co_await call();
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
  co_return boost::system::error_code();
}

const boost::system::error_code oom(make_error_code(streamq::resp::server_errc::oom));

asio::awaitable<void> config_set(client& c, const std::string& name, const std::string& value) {
  request req;
  req.push("CONFIG", "SET", name, value);
  response<std::string> ok;
  co_await c.async_exec(req, ok);
  REQUIRE(ok.get<0>().has_value());
}

}  // namespace

TEST_CASE("out of memory: publishes fail typed and add nothing, acks go on, nothing is lost") {
  streamq::test::redis_server_options options;
  options.extra_args = {"--maxmemory-policy", "noeviction"};
  redis_server server(options);
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    constexpr int before = 100;
    for (int i = 0; i < before; ++i) co_await pub.publish(topic, order(i));

    co_await config_set(c, "maxmemory", "1");  // far below what is used: every write is refused
    int failed = 0;
    for (int i = before; i < before + 20; ++i)
      if (co_await refusal_of(
              [&]() -> asio::awaitable<void> { co_await pub.publish(topic, order(i)); }) == oom)
        ++failed;
    CHECK(failed == 20);
    // Scripts are refused at their first write: nothing of them happens.
    streamq::streams::envelope_options keyed;
    keyed.idempotency_key = "k-1";
    CHECK(co_await refusal_of([&]() -> asio::awaitable<void> {
            co_await pub.publish(topic, order(1000), keyed);
          }) == oom);
    streamq::streams::scheduler s(c, streamq::streams::scheduler_config{});
    CHECK(co_await refusal_of([&]() -> asio::awaitable<void> {
            co_await s.publish_in(topic, order(1001), 1s);
          }) == oom);
    request state;
    state.push("XLEN", key{keys.stream()});
    state.push("EXISTS", key{keys.dedup("k-1")});
    state.push("EXISTS", key{keys.delayed()}, key{keys.delayed_data()});
    state.push("HGET", key{keys.meta()}, "delayed_seq");
    response<std::int64_t, std::int64_t, std::int64_t, std::optional<std::string>> after;
    co_await c.async_exec(state, after);
    CHECK(after.get<0>().value() == before);
    CHECK(after.get<1>().value() == 0);
    CHECK(after.get<2>().value() == 0);
    CHECK_FALSE(after.get<3>().value().has_value());
    CHECK(pub.stats().failed == 21);

    // Consuming and acknowledging do not allocate much and are allowed: the backlog drains.
    consumer_config config{.group = "g"};
    config.refuse_unsafe_eviction_policy = true;  // noeviction: fine
    // XGROUP CREATE is refused under OOM: create the group with memory, then take it away.
    co_await config_set(c, "maxmemory", "0");
    request create;
    create.push("XGROUP", "CREATE", key{keys.stream()}, "g", "0");
    streamq::resp::ignore_response ignored;
    co_await c.async_exec(create, ignored);
    co_await config_set(c, "maxmemory", "1");
    consumer cons(c, config);
    std::set<std::string> handled;
    cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
      handled.insert(o.id());
      co_return;
    });
    std::exception_ptr failure;
    co_await (cons.run() || streamq::test::capture_failure(
                                wait_until([&] { return cons.stats().acked == before; }), failure));
    if (failure) std::rethrow_exception(failure);
    CHECK(handled.size() == before);
    request pending;
    pending.push("XPENDING", key{keys.stream()}, "g");
    response<streamq::resp::value> summary;
    co_await c.async_exec(pending, summary);
    CHECK(summary.get<0>().value().elements.at(0).text == "0");

    co_await config_set(c, "maxmemory", "0");  // memory back: publishing works again
    co_await pub.publish(topic, order(2000));
    std::printf(
        "LEDGER {\"test\":\"oom\",\"ok\":%d,\"lost\":%d,\"duplicated\":0,\"reexecuted\":0,"
        "\"recovered\":0,\"unexpected\":0,\"recovery_ms\":0}\n",
        before, before - static_cast<int>(handled.size()));
  });
}

// Consumer recovery against a real redis-server: entries of dead consumers claimed, crash
// loops dead-lettered, claims kept alive and never stolen, a vanished group recreated, and
// the eviction-policy check.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/claims.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
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
using streamq::test::Order;
using streamq::test::read_dead_letters;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::wait_until;
using streamq::test::while_consuming;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

Order order(int i) {
  Order o;
  o.set_id("order-" + std::to_string(i));
  o.set_amount_cents(100 + i);
  return o;
}

}  // namespace

TEST_CASE("entries left pending by a dead consumer are recovered, a crash loop is dead-lettered") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto stream = streamq::streams::topic_keys(topic).stream();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer_config config{.group = "g", .name = "survivor"};
    config.claim_idle = 200ms;
    config.claim_interval = 100ms;
    config.max_deliveries = 5;
    consumer cons(c, config);
    std::set<std::string> handled;
    cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
      handled.insert(o.id());
      co_return;
    });
    // create the group, then let a "ghost" consumer take three entries and die
    request setup;
    setup.push("XGROUP", "CREATE", key{stream}, "g", "0", "MKSTREAM");
    streamq::resp::ignore_response ignored;
    co_await c.async_exec(setup, ignored);
    for (int i = 0; i < 3; ++i) co_await pub.publish(topic, order(i));
    request ghost;
    ghost.push("XREADGROUP", "GROUP", "g", "ghost", "COUNT", 3, "STREAMS", key{stream}, ">");
    response<streamq::resp::value> taken;
    co_await c.async_exec(ghost, taken);
    // the third one has crashed consumers many times already
    const std::string crashing_id =
        taken.get<0>().value().elements.at(1).elements.at(2).elements.at(0).text;
    request bump;
    bump.push("XCLAIM", key{stream}, "g", "ghost", 0, crashing_id, "RETRYCOUNT", 20);
    co_await c.async_exec(bump, ignored);

    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return handled.size() == 2 && cons.stats().dead_lettered == 1; });
    });
    CHECK(handled == std::set<std::string>{"order-0", "order-1"});
    CHECK(cons.stats().claimed == 3);
    const auto letters = co_await read_dead_letters(c, topic, "g");
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].original_entry_id() == crashing_id);
    CHECK(letters[0].envelope().type() == "streamq.test.Order");
  });
}

TEST_CASE("a consumer group that vanishes is recreated and the loss reported") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto stream = streamq::streams::topic_keys(topic).stream();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, {.group = "g", .block = 100ms});
    int handled = 0;
    cons.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      ++handled;
      co_return;
    });
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      co_await pub.publish(topic, order(1));
      co_await wait_until([&] { return handled == 1; });
      server.command({"DEL", stream});  // as if Redis had restarted empty
      co_await wait_until([&] { return cons.stats().data_loss_events >= 1; });
      co_await pub.publish(topic, order(2));
      for (int i = 0; i < 300 && handled < 2; ++i) co_await sleep_for(10ms);
      MESSAGE("delivered=" << cons.stats().delivered << " acked=" << cons.stats().acked
                           << " losses=" << cons.stats().data_loss_events);
      REQUIRE(handled == 2);
    });
    CHECK(cons.stats().data_loss_events == 1);
  });
}

TEST_CASE("a long-running handler keeps its claim, another consumer does not take it over") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer_config config{.group = "g", .name = "a"};
    config.claim_idle = 300ms;
    config.claim_interval = 100ms;
    consumer a(c, config);
    config.name = "b";
    consumer b(c, config);
    std::map<std::string, int> handled;
    auto slow = [&](const Order& o, message_context&) -> asio::awaitable<void> {
      ++handled[o.id()];
      co_await sleep_for(1200ms);  // four times claim_idle
    };
    a.subscribe<Order>(topic, slow);
    b.subscribe<Order>(topic, slow);
    co_await while_consuming(a, &b, [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 4; ++i) co_await pub.publish(topic, order(i));
      co_await wait_until([&] { return a.stats().acked + b.stats().acked == 4; });
    });
    CHECK(handled.size() == 4);
    for (const auto& [id, count] : handled) CHECK_MESSAGE(count == 1, id);
    CHECK(a.stats().claimed + b.stats().claimed == 0);
    CHECK(a.stats().claims_refreshed + b.stats().claims_refreshed > 0);
  });
}

TEST_CASE("refreshing a claim never steals an entry taken over by someone else") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const streamq::streams::topic_keys keys(topic);
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    streamq::resp::ignore_response ignored;
    request setup;
    setup.push("XGROUP", "CREATE", key{keys.stream()}, "g", "0", "MKSTREAM");
    co_await c.async_exec(setup, ignored);
    const auto id = co_await pub.publish(topic, order(1));
    request take;  // the zombie reads it, then pauses
    take.push("XREADGROUP", "GROUP", "g", "zombie", "STREAMS", key{keys.stream()}, ">");
    co_await c.async_exec(take, ignored);
    request steal;  // a healthy consumer takes it over
    steal.push("XCLAIM", key{keys.stream()}, "g", "healthy", 0, id);
    co_await c.async_exec(steal, ignored);

    // the zombie wakes and refreshes: nothing of its own is left, nothing is stolen back
    std::vector<std::string> ids;  // (no braced list: GCC 12 cannot keep one in a coroutine)
    ids.push_back(id);
    auto kept = co_await streamq::streams::refresh_claims(c, keys, "g", "zombie", ids);
    CHECK(kept.empty());
    request owner;
    owner.push("XPENDING", key{keys.stream()}, "g", "-", "+", 10);
    response<streamq::resp::value> pending;
    co_await c.async_exec(owner, pending);
    REQUIRE(pending.get<0>().value().elements.size() == 1);
    CHECK(pending.get<0>().value().elements[0].elements.at(1).text == "healthy");
    // the rightful owner's refresh works
    kept = co_await streamq::streams::refresh_claims(c, keys, "g", "healthy", ids);
    CHECK(kept == ids);
  });
}

TEST_CASE("an eviction policy that may drop queue keys is refused, or reported when allowed") {
  redis_server::options opts;
  opts.extra_args = {"--maxmemory-policy", "allkeys-lru"};
  redis_server server(opts);
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    consumer strict(c, {.group = "g"});
    strict.subscribe<Order>(
        topic, [](const Order&, message_context&) -> asio::awaitable<void> { co_return; });
    try {
      co_await strict.run();
      FAIL("run() accepted allkeys-lru");
    } catch (const boost::system::system_error& e) {
      CHECK(e.code() == streamq::streams::errc::unsafe_eviction_policy);
      CHECK(std::string(e.what()).find("allkeys-lru") != std::string::npos);
    }
    std::vector<streamq::streams::consumer_event> events;
    consumer_config lenient{.group = "g"};
    lenient.refuse_unsafe_eviction_policy = false;
    lenient.on_event = [&](const streamq::streams::consumer_event& e) { events.push_back(e); };
    consumer relaxed(c, lenient);
    relaxed.subscribe<Order>(
        topic, [](const Order&, message_context&) -> asio::awaitable<void> { co_return; });
    co_await while_consuming(relaxed, nullptr, [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return !events.empty(); });
    });
    CHECK(events.at(0).what == streamq::streams::consumer_event::kind::unsafe_eviction_policy);
  });
}

TEST_CASE("the eviction policy check degrades to a report when CONFIG and INFO are denied") {
  redis_server::options opts;
  opts.acl_users = {"user app on >pw ~* +@all -config -info"};
  redis_server server(opts);
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_coroutine([&]() -> asio::awaitable<void> {
    client c(co_await asio::this_coro::executor,
             "redis://app:pw@127.0.0.1:" + std::to_string(server.port()));
    std::vector<streamq::streams::consumer_event> events;
    consumer_config config{.group = "g"};
    config.on_event = [&](const streamq::streams::consumer_event& e) { events.push_back(e); };
    consumer cons(c, config);
    cons.subscribe<Order>(
        topic, [](const Order&, message_context&) -> asio::awaitable<void> { co_return; });
    auto body = [&]() -> asio::awaitable<void> {
      co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
        co_await wait_until([&] { return !events.empty(); });
      });
    };
    co_await (c.async_run(use_tuple) || body());
    REQUIRE_FALSE(events.empty());
    CHECK(events[0].what == streamq::streams::consumer_event::kind::eviction_policy_unknown);
  });
}

// A publish and a scheduled task with the same idempotency key are independent: each kind has
// its own dedup namespace (docs/wire-format.md §10), and the keys wave 1 wrote when they shared
// one are read sensibly until they expire.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::envelope_options;
using streamq::streams::publisher;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::read_topic;
using streamq::test::redis_server;

namespace {

Order order(const std::string& id) {
  Order o;
  o.set_id(id);
  return o;
}

envelope_options keyed(const std::string& k) {
  envelope_options options;
  options.idempotency_key = k;
  return options;
}

// Writes a dedup key the way wave 1's scheduler did: in the publisher's namespace, holding a
// task ID, with a TTL.
asio::awaitable<void> write_wave1_task_key(client& c, const std::string& topic,
                                           const std::string& idempotency_key,
                                           const std::string& task_id) {
  request req;
  req.push("SET", key{topic_keys(topic).dedup(idempotency_key)}, task_id, "PX", 3'600'000);
  response<std::string> ok;
  co_await c.async_exec(req, ok);
  REQUIRE(ok.get<0>().has_value());
}

}  // namespace

TEST_CASE("a task scheduled with key K does not suppress a publish with K, nor its cancel it") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler s(c, scheduler_config{});
    publisher pub(c);
    const auto task = co_await s.publish_in(topic, order("task"), 1h, keyed("K"));
    const auto entry = co_await pub.publish(topic, order("published"), keyed("K"));
    CHECK(entry != task);  // an entry ID of its own, not the task's ID
    CHECK(pub.stats().published == 1);
    CHECK(pub.stats().duplicates == 0);
    CHECK(co_await s.cancel_scheduled(topic, task));
    const auto entries = co_await read_topic(c, topic);
    REQUIRE(entries.size() == 1);  // cancelling the task left the published message alone
    CHECK(entries[0].id == entry);
    CHECK(entries[0].order.id() == "published");
    // each key still deduplicates its own kind
    CHECK(co_await pub.publish(topic, order("published"), keyed("K")) == entry);
    CHECK(co_await s.publish_in(topic, order("task"), 1h, keyed("K")) == task);
  });
}

TEST_CASE("a publish with key K does not suppress a task scheduled with K") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler_config config;
    config.topics.push_back(topic);
    config.max_sleep = 50ms;
    scheduler s(c, config);
    publisher pub(c);
    const auto entry = co_await pub.publish(topic, order("published"), keyed("K"));
    const auto task = co_await s.publish_in(topic, order("task"), 1h, keyed("K"));
    CHECK(task != entry);
    CHECK(s.stats().scheduled == 1);
    CHECK(s.stats().duplicates == 0);
    CHECK(co_await s.scheduled_count(topic) == 1);
    CHECK(co_await s.cancel_scheduled(topic, task));
    auto entries = co_await read_topic(c, topic);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].id == entry);

    // and a task with K that comes due is moved next to the published message
    co_await s.publish_in(topic, order("due"), 0ms, keyed("K2"));
    co_await pub.publish(topic, order("published-2"), keyed("K2"));
    std::exception_ptr failure;
    co_await streamq::run_until(
        s.run(), streamq::test::capture_failure(
                     streamq::test::wait_until([&] { return s.stats().moved == 1; }), failure));
    if (failure) std::rethrow_exception(failure);
    entries = co_await read_topic(c, topic);
    REQUIRE(entries.size() == 3);
    CHECK(entries[2].order.id() == "due");
  });
}

TEST_CASE("a task key wave 1 left in the publisher's namespace: tasks honour it, publishes not") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler s(c, scheduler_config{});
    publisher pub(c);
    // Wave 1 scheduled a task with key K: the task is in the sorted set, its key in dedup:K.
    const auto old_task = co_await s.publish_in(topic, order("wave-1 task"), 1h);
    co_await write_wave1_task_key(c, topic, "K", old_task);

    // Until it expires, a task with K is the same task, as it was in wave 1...
    CHECK(co_await s.publish_in(topic, order("again"), 1h, keyed("K")) == old_task);
    CHECK(co_await s.scheduled_count(topic) == 1);
    // ...but a publish with K is no duplicate of a task: it is added.
    const auto entry = co_await pub.publish(topic, order("published"), keyed("K"));
    CHECK(entry != old_task);
    CHECK(pub.stats().published == 1);
    CHECK((co_await read_topic(c, topic)).size() == 1);
    // The publish took dedup:K over; it deduplicates publishes from now on.
    CHECK(co_await pub.publish(topic, order("published"), keyed("K")) == entry);
    // A task with K no longer finds a task ID there: it is scheduled anew.
    const auto new_task = co_await s.publish_in(topic, order("new"), 1h, keyed("K"));
    CHECK(new_task != old_task);
    CHECK(new_task != entry);
    CHECK(co_await s.scheduled_count(topic) == 2);
  });
}

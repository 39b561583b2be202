// The queue layer's async_* operations with every kind of completion token, against a real
// redis-server: use_awaitable (the default), as_tuple (the error-code path), deferred (started
// later, arguments copied at the call), a callback, use_future from another thread, and
// cancellation through a bound slot. Several components share one topic: a scheduler moves a
// task that a consumer started through async_run handles, and a failure dead-letters a
// message that async_requeue hands back.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/detail/race.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/retention.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/errc.hpp>

#include <atomic>
#include <future>
#include <optional>
#include <set>
#include <span>
#include <ostream>  // doctest prints error codes with it
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::dead_letters;
using streamq::streams::errc;
using streamq::streams::message_context;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::run_with_client;
using streamq::test::sleep_for;
using streamq::test::unique_topic;
using streamq::test::wait_until;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Named, not `{}`: GCC 12 may end a braced temporary's life inside a co_await expression early.
const streamq::streams::envelope_options no_options;

Order order(std::string id) {
  Order o;
  o.set_id(std::move(id));
  o.set_amount_cents(100);
  return o;
}
}  // namespace

TEST_CASE("async_* with use_awaitable, as_tuple, deferred and callbacks, components together") {
  redis_server server;
  const std::string topic = unique_topic();
  run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler sched(c, scheduler_config{.topics = {topic}, .max_sleep = 20ms});
    consumer_config config{.group = "billing", .name = "c1"};
    config.retry = {.max_attempts = 1, .base = 10ms, .cap = 10ms, .jitter = 0};
    consumer cons(c, config);
    int runs_of_bad = 0;
    std::set<std::string> handled;
    cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
      handled.insert(o.id());
      if (o.id() == "bad" && ++runs_of_bad == 1)
        throw boost::system::system_error(errc::permanent_failure, "refused once");
      co_return;
    });

    // The owners, started through their async_ forms with a callback token.
    std::optional<boost::system::error_code> consumer_done, scheduler_done;
    cons.async_run([&](boost::system::error_code ec) { consumer_done = ec; });
    sched.async_run([&](boost::system::error_code ec) { scheduler_done = ec; });

    // Default token (use_awaitable): scheduled through the scheduler, moved by it, handled.
    const std::string task = co_await sched.async_publish_in(topic, order("later"), 30ms, no_options);
    CHECK_FALSE(task.empty());
    // as_tuple: the error-code path instead of an exception.
    auto [count_ec, waiting] = co_await sched.async_scheduled_count(topic, use_tuple);
    CHECK_FALSE(count_ec);
    CHECK(waiting <= 1);
    auto [bad_ec, bad_id] = co_await sched.async_publish_in("not a valid topic!", order("x"), 0ms,
                                                           no_options, use_tuple);
    CHECK(bad_ec == errc::invalid_name);
    CHECK(bad_id.empty());

    // A message that fails permanently once is dead-lettered; deferred: the topic and the ID
    // are copied at the call, the operation starts only when awaited.
    co_await sched.async_publish_in(topic, order("bad"), 0ms, no_options);
    dead_letters letters(c, topic, "billing");
    co_await wait_until([&] { return cons.stats().dead_lettered == 1; });
    const auto listed = co_await letters.async_list(10, "-");
    REQUIRE(listed.size() == 1);
    auto requeue = [&] {
      std::string id = listed.front().id;  // gone before the operation starts
      return letters.async_requeue(id, asio::deferred);
    }();
    auto [requeue_ec, back_to] = co_await std::move(requeue)(use_tuple);
    CHECK_FALSE(requeue_ec);
    CHECK(back_to == listed.front().letter.original_entry_id());
    co_await wait_until([&] { return runs_of_bad == 2 && handled.contains("later"); });
    CHECK((co_await letters.async_count()) == 0);

    // async_requeue of a letter that is not there: the error code, no exception.
    auto [missing_ec, none] = co_await letters.async_requeue("0-1", use_tuple);
    CHECK(missing_ec == boost::system::errc::no_such_file_or_directory);

    // async_inspect through as_tuple.
    auto [inspect_ec, status] = co_await cons.async_inspect(use_tuple);
    CHECK_FALSE(inspect_ec);
    REQUIRE(status.size() == 1);
    CHECK(status.front().pending == 0);

    cons.stop();
    sched.stop();
    co_await wait_until([&] { return consumer_done.has_value() && scheduler_done.has_value(); });
    CHECK_FALSE(*consumer_done);
    CHECK_FALSE(*scheduler_done);
  });
}

TEST_CASE("async_* with use_future from another thread, and cancellation through a bound slot") {
  redis_server server;
  const std::string topic = unique_topic();
  asio::io_context io;
  client c(io.get_executor(), server.url());
  c.async_run([](boost::system::error_code) {});
  scheduler sched(c, scheduler_config{.topics = {topic}});
  consumer cons(c, consumer_config{.group = "g", .name = "c1", .block = 100ms});
  std::atomic<int> handled{0};
  cons.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
    ++handled;
    co_return;
  });
  std::thread runner([&] { io.run_for(60s); });

  // use_future from this thread: the operation runs on io's thread.
  std::future<std::string> id =
      sched.async_publish_in(topic, order("future"), 0ms, no_options, asio::use_future);
  CHECK_FALSE(id.get().empty());
  std::future<std::uint64_t> waiting = sched.async_scheduled_count(topic, asio::use_future);
  CHECK(waiting.get() == 1);
  // An error completes the future with an exception carrying the code.
  std::future<std::uint64_t> refused = sched.async_scheduled_count("bad topic!", asio::use_future);
  try {
    refused.get();
    FAIL("no exception");
  } catch (const boost::system::system_error& e) {
    CHECK(e.code() == errc::invalid_name);
  }

  // Cancelling async_run through the token's slot is its graceful stop: it completes
  // without an error. The scheduler moves the task meanwhile and the consumer handles it.
  asio::cancellation_signal stop_consumer, stop_scheduler;
  std::promise<boost::system::error_code> consumer_done, scheduler_done;
  asio::post(io, [&] {
    cons.async_run(asio::bind_cancellation_slot(stop_consumer.slot(), [&](auto ec) {
      consumer_done.set_value(ec);
    }));
    sched.async_run(asio::bind_cancellation_slot(stop_scheduler.slot(), [&](auto ec) {
      scheduler_done.set_value(ec);
    }));
  });
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (handled < 1 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  CHECK(handled == 1);
  asio::post(io, [&] {
    stop_consumer.emit(asio::cancellation_type::terminal);
    stop_scheduler.emit(asio::cancellation_type::terminal);
  });
  auto consumer_result = consumer_done.get_future();
  auto scheduler_result = scheduler_done.get_future();
  REQUIRE(consumer_result.wait_for(10s) == std::future_status::ready);
  REQUIRE(scheduler_result.wait_for(10s) == std::future_status::ready);
  CHECK_FALSE(consumer_result.get());
  CHECK_FALSE(scheduler_result.get());
  asio::post(io, [&] { c.cancel(); });
  runner.join();
}

TEST_CASE("publisher: async_publish for every token, typed publish_batch, batches copied at the call") {
  redis_server server;
  const std::string topic = unique_topic();
  run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    streamq::streams::publisher pub(c);
    const std::string first = co_await pub.async_publish(topic, order("a"));
    auto [ec, second] = co_await pub.async_publish(topic, order("b"), no_options, use_tuple);
    CHECK_FALSE(ec);
    CHECK(second > first);
    auto [bad_ec, none] = co_await pub.async_publish("bad topic!", order("c"), use_tuple);
    CHECK(bad_ec == errc::invalid_name);

    // A typed batch; then a batch of envelopes started (deferred) after its vector is gone.
    const std::vector<Order> typed{order("t1"), order("t2"), order("t3")};
    const auto typed_ids = co_await pub.publish_batch(topic, std::span<const Order>(typed));
    CHECK(typed_ids.size() == 3);
    auto later = [&] {
      std::vector<streamq::v1::Envelope> envelopes;
      for (const char* id : {"e1", "e2"})
        envelopes.push_back(streamq::streams::make_envelope(order(id), no_options));
      return pub.async_publish_batch(topic, envelopes, asio::deferred);
    }();
    auto [batch_ec, batch_ids] = co_await std::move(later)(use_tuple);
    CHECK_FALSE(batch_ec);
    CHECK(batch_ids.size() == 2);

    // Everything arrived, in order, with its content.
    streamq::resp::request range;
    const streamq::streams::topic_keys keys(topic);
    range.push("XRANGE", streamq::resp::key{keys.stream()}, "-", "+");
    streamq::resp::response<streamq::resp::value> entries;
    co_await c.async_exec(range, entries, asio::use_awaitable);
    std::vector<std::string> ids;
    for (const auto& e : entries.get<0>().value().elements) {
      std::vector<std::string> fields;
      for (const auto& f : e.elements.at(1).elements) fields.push_back(f.text);
      auto envelope = streamq::streams::decode_entry(std::span<const std::string>(fields));
      REQUIRE(envelope.has_value());
      Order o;
      REQUIRE(o.ParseFromString(envelope->payload()));
      ids.push_back(o.id());
    }
    CHECK(ids == std::vector<std::string>{"a", "b", "t1", "t2", "t3", "e1", "e2"});
    CHECK(pub.stats().published == 7);
  });
}

// Typed publish and consume over consumer groups against a real redis-server.
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

TEST_CASE("published orders are each handled once, with concurrency") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, {.group = "billing", .concurrency = 8});
    std::map<std::string, int> handled;
    std::size_t running = 0, peak = 0;
    cons.subscribe<Order>(topic,
                          [&](const Order& o, message_context& ctx) -> asio::awaitable<void> {
                            CHECK(ctx.topic == topic);
                            CHECK(ctx.attempt == 0);
                            peak = std::max(peak, ++running);
                            co_await sleep_for(1ms);
                            --running;
                            ++handled[o.id()];
                          });
    constexpr int n = 500;
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      for (int i = 0; i < n; ++i) co_await pub.publish(topic, order(i));
      co_await wait_until([&] { return cons.stats().acked == n; });
    });
    CHECK(handled.size() == n);
    for (const auto& [id, count] : handled) CHECK_MESSAGE(count == 1, id);
    CHECK(peak <= 8);
    CHECK(peak > 1);
    // every run is in the latency histogram; each slept >= 1 ms
    const auto stats = cons.stats();
    std::uint64_t runs = 0;
    for (auto count : stats.handler_latency_log2_us) runs += count;
    CHECK(runs == n);
    CHECK(stats.handler_latency_quantile_us(0.5) >= 1000);
    CHECK(stats.handler_latency_quantile_us(0.99) < 1'000'000);
    CHECK(pub.stats().published == n);
  });
}

TEST_CASE("several consumers in one group split the load without duplicates") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer a(c, {.group = "g", .name = "a"});
    consumer b(c, {.group = "g", .name = "b"});
    std::map<std::string, int> handled;
    std::map<std::string, int> by_consumer;
    auto handler = [&](std::string who) {
      return [&, who](const Order& o, message_context&) -> asio::awaitable<void> {
        ++handled[o.id()];
        ++by_consumer[who];
        co_await sleep_for(1ms);
      };
    };
    a.subscribe<Order>(topic, handler("a"));
    b.subscribe<Order>(topic, handler("b"));
    constexpr int n = 400;
    co_await while_consuming(a, &b, [&]() -> asio::awaitable<void> {
      std::vector<streamq::v1::Envelope> batch;
      for (int i = 0; i < n; ++i) batch.push_back(streamq::streams::make_envelope(order(i)));
      for (int i = 0; i < n; i += 100)
        co_await pub.publish_batch(topic,
                                   std::span(batch).subspan(static_cast<std::size_t>(i), 100));
      co_await wait_until([&] { return a.stats().acked + b.stats().acked == n; });
    });
    CHECK(handled.size() == n);
    for (const auto& [id, count] : handled) CHECK_MESSAGE(count == 1, id);
    MESSAGE("a handled " << by_consumer["a"] << ", b handled " << by_consumer["b"]);
    CHECK(by_consumer["a"] > 0);
    CHECK(by_consumer["b"] > 0);
  });
}

TEST_CASE("a failing handler is retried with backoff, then succeeds") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer_config config{.group = "g"};
    config.retry = {.max_attempts = 5, .base = 50ms, .cap = 1s, .jitter = 0};
    consumer cons(c, config);
    std::vector<std::chrono::steady_clock::time_point> runs;
    std::vector<std::uint32_t> attempts;
    cons.subscribe<Order>(topic, [&](const Order&, message_context& ctx) -> asio::awaitable<void> {
      runs.push_back(std::chrono::steady_clock::now());
      attempts.push_back(ctx.attempt);
      if (ctx.attempt < 2) throw std::runtime_error("flaky downstream");
      co_return;
    });
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      co_await pub.publish(topic, order(1));
      co_await wait_until([&] { return cons.stats().acked == 1; });
    });
    REQUIRE(runs.size() == 3);
    CHECK(attempts == std::vector<std::uint32_t>{0, 1, 2});
    // The due time is the server's clock in whole milliseconds (TIME truncated), so a retry
    // may fall due up to 1 ms before the delay has passed by this process's clock.
    CHECK(runs[1] - runs[0] >= 49ms);  // base
    CHECK(runs[2] - runs[1] >= 99ms);  // doubled
    CHECK(cons.stats().retried == 2);
    CHECK(cons.stats().dead_lettered == 0);
  });
}

TEST_CASE("a handler past its timeout is cancelled and retried, the context carries the deadline") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer_config config{.group = "g"};
    config.handler_timeout = 200ms;
    config.retry = {.max_attempts = 3, .base = 10ms, .cap = 10ms, .jitter = 0};
    consumer cons(c, config);
    std::vector<std::chrono::steady_clock::duration> budgets;
    bool first_run_cancelled = false;
    cons.subscribe<Order>(topic, [&](const Order&, message_context& ctx) -> asio::awaitable<void> {
      budgets.push_back(ctx.deadline - std::chrono::steady_clock::now());
      if (ctx.attempt == 0) {
        try {
          co_await sleep_for(10s);  // hangs: the timeout must cut it short
        } catch (const boost::system::system_error&) {
          first_run_cancelled = true;
          throw;
        }
      }
    });
    const auto started = std::chrono::steady_clock::now();
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      co_await pub.publish(topic, order(1));
      co_await wait_until([&] { return cons.stats().acked == 1; });
    });
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(first_run_cancelled);
    REQUIRE(budgets.size() == 2);
    CHECK(budgets[0] > 0ms);
    CHECK(budgets[0] <= 200ms);
    CHECK(cons.stats().retried == 1);
    CHECK(cons.stats().dead_lettered == 0);
  });
}

TEST_CASE("a handler that keeps timing out is dead-lettered as handler_timeout") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer_config config{.group = "g"};
    config.handler_timeout = 50ms;
    config.retry = {.max_attempts = 2, .base = 10ms, .cap = 10ms, .jitter = 0};
    consumer cons(c, config);
    cons.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      co_await sleep_for(10s);
    });
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      co_await pub.publish(topic, order(1));
      co_await wait_until([&] { return cons.stats().dead_lettered == 1; });
    });
    const auto letters = co_await read_dead_letters(c, topic, "g");
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].attempts() == 2);
    CHECK(letters[0].error_code() == "streamq.streams:12");
    CHECK(cons.stats().acked == 0);
  });
}

TEST_CASE("with `once`, copies whose handlers overlap both run, as documented") {
  // subscription_options::once checks before the handler and records after it: two copies in
  // flight at once are not held back (the header says so). This pins that documented limit.
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, consumer_config{.group = "g", .concurrency = 4});
    int runs = 0;
    streamq::streams::subscription_options once;
    once.once = true;
    cons.subscribe<Order>(
        topic,
        [&](const Order&, message_context&) -> asio::awaitable<void> {
          ++runs;
          co_await sleep_for(300ms);
        },
        once);
    const auto copy = streamq::streams::make_envelope(order(1));
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      co_await pub.publish_envelope(topic, copy);
      co_await pub.publish_envelope(topic, copy);
      co_await wait_until([&] { return cons.stats().acked == 2; });
      co_await pub.publish_envelope(topic, copy);  // after the record: skipped
      co_await wait_until([&] { return cons.stats().skipped_processed == 1; });
    });
    CHECK(runs == 2);
  });
}

TEST_CASE("with `once`, a message that arrives twice runs its handler once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, consumer_config{.group = "g"});
    std::map<std::string, int> runs;
    streamq::streams::subscription_options once;
    once.once = true;
    once.remember_for = 1s;
    cons.subscribe<Order>(
        topic,
        [&](const Order& o, message_context&) -> asio::awaitable<void> {
          ++runs[o.id()];
          co_return;
        },
        once);
    // The same message twice (a producer retrying after an indeterminate publish), and two
    // messages sharing an idempotency key, added by a writer that does not deduplicate (a
    // publisher would suppress the second).
    const auto first = streamq::streams::make_envelope(order(1));
    streamq::streams::envelope_options keyed;
    keyed.idempotency_key = "charge-2";
    auto add_keyed = [&]() -> asio::awaitable<void> {
      request xadd;
      xadd.push("XADD", key{streamq::streams::topic_keys(topic).stream()}, "*",
                streamq::streams::encode_entry(streamq::streams::make_envelope(order(2), keyed)));
      streamq::resp::ignore_response ignored;
      co_await c.async_exec(xadd, ignored);
    };
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      co_await pub.publish_envelope(topic, first);
      co_await add_keyed();
      co_await wait_until([&] { return cons.stats().acked == 2; });
      co_await pub.publish_envelope(topic, first);
      co_await add_keyed();
      co_await wait_until([&] { return cons.stats().skipped_processed == 2; });
      co_await sleep_for(1200ms);  // remember_for has passed: a copy now runs again
      co_await pub.publish_envelope(topic, first);
      co_await wait_until([&] { return cons.stats().acked == 5; });  // skipped ones are acked
    });
    CHECK(runs["order-1"] == 2);
    CHECK(runs["order-2"] == 1);
    request pending;
    pending.push("XPENDING", key{streamq::streams::topic_keys(topic).stream()}, "g");
    pending.push("ZSCORE", key{streamq::streams::topic_keys(topic).processed("g")},
                 first.message_id());
    response<streamq::resp::value, std::optional<std::string>> replies;
    co_await c.async_exec(pending, replies);
    CHECK(replies.get<0>().value().elements.at(0).text == "0");  // everything acknowledged
    CHECK(replies.get<1>().value().has_value());                 // and recorded with it
  });
}

TEST_CASE("permanent errors, poison payloads and exhausted retries go to the dead-letter stream") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer_config config{.group = "g"};
    config.retry = {.max_attempts = 3, .base = 10ms, .cap = 50ms, .jitter = 0};
    consumer cons(c, config);
    cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
      if (o.id() == "order-1")
        throw boost::system::system_error(streamq::streams::errc::permanent_failure, "bad amount");
      if (o.id() == "order-2") throw std::runtime_error("always fails");
      co_return;
    });
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      co_await pub.publish(topic, order(1));  // permanent
      co_await pub.publish(topic, order(2));  // exhausts retries
      streamq::test::Refund refund;           // wrong type on this topic: poison
      refund.set_order_id("x");
      co_await pub.publish(topic, refund);
      request garbage;  // not an envelope at all: poison
      garbage.push("XADD", key{streamq::streams::topic_keys(topic).stream()}, "*", "v", "1", "e",
                   "\xff\xff not protobuf");
      streamq::resp::ignore_response ignored;
      co_await c.async_exec(garbage, ignored);
      co_await pub.publish(topic, order(3));  // fine
      co_await wait_until(
          [&] { return cons.stats().dead_lettered == 4 && cons.stats().acked >= 1; });
    });
    const auto letters = co_await read_dead_letters(c, topic, "g");
    REQUIRE(letters.size() == 4);
    std::map<std::string, streamq::v1::DeadLetter> by_reason;
    for (const auto& l : letters) {
      CHECK(l.topic() == topic);
      CHECK(l.group() == "g");
      CHECK(l.consumer() == cons.name());
      CHECK(l.dead_lettered_at_unix_ms() > 0);
      by_reason[l.error_code()] = l;
    }
    const auto code = [](streamq::streams::errc e) {
      return std::string("streamq.streams:") + std::to_string(static_cast<int>(e));
    };
    CHECK(by_reason.count(code(streamq::streams::errc::permanent_failure)) == 1);
    CHECK(by_reason.count(code(streamq::streams::errc::handler_failed)) == 1);
    CHECK(by_reason[code(streamq::streams::errc::handler_failed)].attempts() == 3);
    CHECK(by_reason.count(code(streamq::streams::errc::decode_failed)) == 1);
    CHECK(by_reason.count(code(streamq::streams::errc::malformed_entry)) == 1);
    CHECK(by_reason[code(streamq::streams::errc::malformed_entry)].raw_fields_size() == 2);
    // nothing is left pending
    request pending;
    pending.push("XPENDING", key{streamq::streams::topic_keys(topic).stream()}, "g");
    response<streamq::resp::value> summary;
    co_await c.async_exec(pending, summary);
    CHECK(summary.get<0>().value().elements.at(0).text == "0");
  });
}

TEST_CASE("stopping lets in-flight handlers finish and acknowledges them") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, {.group = "g", .concurrency = 4, .shutdown_grace = 5s});
    int finished = 0;
    int started = 0;
    cons.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      ++started;
      co_await sleep_for(300ms);
      ++finished;
    });
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 4; ++i) co_await pub.publish(topic, order(i));
      co_await wait_until([&] { return started == 4; });
    });  // run() is cancelled here, with four handlers mid-way
    CHECK(finished == 4);
    CHECK(cons.stats().acked == 4);
    CHECK(cons.stats().in_flight == 0);
  });
}

TEST_CASE("publishing refuses oversized messages and bad topic names before writing") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    streamq::streams::publisher_config config;
    config.limits.max_payload_bytes = 1024;
    publisher pub(c, config);
    Order big;
    big.set_id(std::string(2000, 'x'));
    try {
      co_await pub.publish(topic, big);
      FAIL("oversized message accepted");
    } catch (const boost::system::system_error& e) {
      CHECK(e.code() == streamq::streams::errc::message_too_large);
    }
    try {
      co_await pub.publish("bad topic{x}", order(1));
      FAIL("invalid topic accepted");
    } catch (const boost::system::system_error& e) {
      CHECK(e.code() == streamq::streams::errc::invalid_name);
    }
    request len;
    len.push("XLEN", key{streamq::streams::topic_keys(topic).stream()});
    response<std::int64_t> n;
    co_await c.async_exec(len, n);
    CHECK(n.get<0>().value() == 0);
    CHECK(pub.stats().failed == 1);
  });
}

TEST_CASE("inspect reports pending, lag and length, health follows run()") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, {.group = "g", .concurrency = 2});
    bool release = false;
    cons.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      while (!release) co_await sleep_for(5ms);
    });
    CHECK_FALSE(cons.health().healthy());
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 5; ++i) co_await pub.publish(topic, order(i));
      co_await wait_until([&] { return cons.stats().in_flight == 2; });
      CHECK(cons.health().healthy());
      auto status = co_await cons.inspect();
      REQUIRE(status.size() == 1);
      CHECK(status[0].topic == topic);
      CHECK(status[0].length == 5);
      CHECK(status[0].pending == 2);
      CHECK(status[0].lag == std::optional<std::uint64_t>(3));
      CHECK(status[0].consumers == 1);
      release = true;
      co_await wait_until([&] { return cons.stats().acked == 5; });
      status = co_await cons.inspect();
      CHECK(status[0].pending == 0);
      CHECK(status[0].lag == std::optional<std::uint64_t>(0));
    });
    CHECK_FALSE(cons.health().running);
  });
}

TEST_CASE("per-subscription concurrency and retry policy: a slow topic is capped, the other flows") {
  redis_server server;
  const auto slow_topic = streamq::test::unique_topic() + "-slow";
  const auto fast_topic = streamq::test::unique_topic() + "-fast";
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer_config config{.group = "g", .concurrency = 16};
    config.retry = {.max_attempts = 3, .base = 10ms, .cap = 10ms, .jitter = 0};
    consumer cons(c, config);
    // The slow topic: at most 2 at once, and no retries (its failures are dead-lettered).
    streamq::streams::subscription_options slow_options;
    slow_options.concurrency = 2;
    slow_options.retry = streamq::streams::retry_policy{.max_attempts = 1};
    int slow_now = 0, slow_peak = 0, fast_now = 0, fast_peak = 0, fast_failures = 0;
    std::set<std::string> slow_done, fast_done;
    cons.subscribe<Order>(
        slow_topic,
        [&](const Order& o, message_context&) -> asio::awaitable<void> {
          slow_peak = std::max(slow_peak, ++slow_now);
          co_await sleep_for(20ms);
          --slow_now;
          if (o.id() == "order-3") throw std::runtime_error("slow downstream refused it");
          slow_done.insert(o.id());
        },
        slow_options);
    cons.subscribe<Order>(fast_topic, [&](const Order& o, message_context& ctx) -> asio::awaitable<void> {
      fast_peak = std::max(fast_peak, ++fast_now);
      co_await sleep_for(5ms);
      --fast_now;
      // The consumer's policy: retried (3 attempts), then succeeds.
      if (o.id() == "order-3" && ctx.attempt < 2) {
        ++fast_failures;
        throw std::runtime_error("flaky");
      }
      fast_done.insert(o.id());
    });
    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 20; ++i) {
        co_await pub.publish(slow_topic, order(i));
        co_await pub.publish(fast_topic, order(i));
      }
      co_await wait_until([&] { return slow_done.size() == 19 && fast_done.size() == 20; });
      co_await wait_until([&] { return cons.stats().dead_lettered == 1; });
    });
    CHECK(slow_peak == 2);
    CHECK(fast_peak > 2);  // not held back by the slow topic's limit
    CHECK(fast_failures == 2);
    CHECK(cons.stats().retried == 2);  // the fast topic's; the slow one's failure was final
    const auto letters = co_await read_dead_letters(c, slow_topic, "g");
    REQUIRE(letters.size() == 1);
    CHECK(letters.front().attempts() == 1);
  });
}

TEST_CASE("an invalid per-subscription retry policy is refused, naming the subscription") {
  redis_server server;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    consumer cons(c, consumer_config{.group = "g"});
    streamq::streams::subscription_options options;
    options.retry = streamq::streams::retry_policy{.max_attempts = 0};
    auto handler = [](const Order&, message_context&) -> asio::awaitable<void> { co_return; };
    CHECK_THROWS_WITH_AS(cons.subscribe<Order>("t", handler, options),
                         "streamq subscription_options.retry.max_attempts: must be positive",
                         std::invalid_argument);
    co_return;
  });
}

// The streamq demo: typed orders through a consumer group, end to end.
//
// Publishes a few thousand shop.Order messages (batched, one round trip per batch). A
// consumer handles them with 32 handlers at a time. Some handlers fail once and are
// retried with backoff. One order is rejected as invalid (a permanent error), and a Refund
// published to the orders topic by mistake is poison: both land in the dead-letter stream.
// Then "a fix is deployed", the rejected order is requeued from the dead-letter stream and
// handled, and the stats are printed. Then demo_scheduling.cpp shows a delayed task, a
// recurring task and a suppressed duplicate. Redis: STREAMQ_REDIS_URL, default
// redis://127.0.0.1:6379.
#include "demo_scheduling.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/publisher.hpp>

#include <shop.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>

namespace asio = boost::asio;
namespace streams = streamq::streams;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr int order_count = 3000;
const std::string topic = "demo-orders";

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<void> wait_until(const std::function<bool()>& done, const char* what) {
  for (int i = 0; i < 3000 && !done(); ++i) co_await sleep_for(10ms);
  if (!done()) throw std::runtime_error(std::string("demo timed out waiting for ") + what);
}

asio::awaitable<void> demo(streamq::client& client) {
  streamq::resp::request reset;  // a clean slate for the demo topic
  const streams::topic_keys keys(topic);
  reset.push("DEL", streamq::resp::key{keys.stream()},
             streamq::resp::key{keys.dead_letters("fulfilment")});
  streamq::resp::ignore_response ignored;
  co_await streamq::with_deadline(client.async_exec(reset, ignored), 5s);

  streams::publisher publisher(client);
  streams::consumer_config config;
  config.group = "fulfilment";
  config.concurrency = 32;
  config.retry = {.max_attempts = 4, .base = 20ms, .cap = 500ms, .jitter = 0.5};
  config.on_event = [](const streams::consumer_event& e) {
    if (e.what == streams::consumer_event::kind::dead_lettered)
      std::printf("  dead letter: %s\n", e.detail.c_str());
  };
  streams::consumer consumer(client, config);

  bool strict_validation = true;  // "the bug": zero-amount orders are rejected
  std::set<std::string> handled;
  consumer.subscribe<shop::Order>(
      topic, [&](const shop::Order& order, streams::message_context& ctx) -> asio::awaitable<void> {
        if (order.amount_cents() == 0 && strict_validation)
          throw boost::system::system_error(streams::errc::permanent_failure,
                                            "order " + order.id() + " has no amount");
        // every 50th order meets a flaky downstream on its first attempt
        if (std::stoi(order.id().substr(6)) % 50 == 7 && ctx.attempt == 0)
          throw std::runtime_error("payment service timed out");
        handled.insert(order.id());
        co_return;
      });

  auto scenario = [&]() -> asio::awaitable<void> {
    const auto started = std::chrono::steady_clock::now();
    std::vector<streamq::v1::Envelope> batch;
    for (int i = 0; i < order_count; ++i) {
      shop::Order order;
      order.set_id("order-" + std::to_string(i));
      order.set_amount_cents(i == 42 ? 0 : 100 + i);
      order.set_customer("customer-" + std::to_string(i % 97));
      batch.push_back(streams::make_envelope(order));
      if (batch.size() == 500) {
        co_await publisher.publish_batch(topic, batch);
        batch.clear();
      }
    }
    shop::Refund misrouted;  // a Refund on the orders topic: poison for an Order consumer
    misrouted.set_order_id("order-1");
    co_await publisher.publish(topic, misrouted);

    co_await wait_until([&] { return handled.size() == order_count - 1; }, "the orders");
    co_await wait_until([&] { return consumer.stats().dead_lettered == 2; }, "dead letters");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("handled %zu orders in %.2f s (%.0f/s), with retries and dead letters\n",
                handled.size(), seconds, static_cast<double>(handled.size()) / seconds);

    streams::dead_letters dead(client, topic, "fulfilment");
    std::printf("dead-letter stream holds %zu entries:\n", co_await dead.count());
    std::string rejected_id;
    for (const auto& entry : co_await dead.list()) {
      std::printf("  %s  %s  (%s, attempts %u)\n", entry.id.c_str(),
                  entry.letter.envelope().type().c_str(), entry.letter.last_error().c_str(),
                  entry.letter.attempts());
      if (entry.letter.envelope().type() == "shop.Order") rejected_id = entry.id;
    }
    strict_validation = false;  // the fix is deployed: requeue what it rejected
    co_await dead.requeue(rejected_id);
    co_await wait_until([&] { return handled.count("order-42") == 1; }, "the requeued order");
    std::printf("requeued %s: order-42 handled after the fix\n", rejected_id.c_str());
    co_await wait_until([&] { return consumer.stats().acked == order_count; }, "the last ack");

    const auto stats = consumer.stats();
    const auto pub = publisher.stats();
    std::printf(
        "stats: published %llu, delivered %llu, acked %llu, retried %llu, dead-lettered %llu, "
        "in flight %llu\n",
        static_cast<unsigned long long>(pub.published),
        static_cast<unsigned long long>(stats.delivered),
        static_cast<unsigned long long>(stats.acked),
        static_cast<unsigned long long>(stats.retried),
        static_cast<unsigned long long>(stats.dead_lettered),
        static_cast<unsigned long long>(stats.in_flight));
    std::printf("handler time: p50 < %llu us, p99 < %llu us\n",
                static_cast<unsigned long long>(stats.handler_latency_quantile_us(0.5)),
                static_cast<unsigned long long>(stats.handler_latency_quantile_us(0.99)));
    for (const auto& status : co_await consumer.inspect())
      std::printf("topic %s: length %llu, pending %llu, lag %s\n", status.topic.c_str(),
                  static_cast<unsigned long long>(status.length),
                  static_cast<unsigned long long>(status.pending),
                  status.lag ? std::to_string(*status.lag).c_str() : "unknown");
  };
  // The consumer stops (gracefully) when the scenario ends, however it ends.
  co_await streamq::run_until(consumer.run(), scenario());
  co_await scheduling_demo(client);
}

}  // namespace

int main() {
  const char* url = std::getenv("STREAMQ_REDIS_URL");
  try {
    asio::io_context io;
    streamq::client client(io.get_executor(), url ? url : "redis://127.0.0.1:6379");
    std::printf("streamq demo against %s\n", client.config().redacted_url().c_str());
    std::exception_ptr failure;
    // The demo body reports failure by value: || only cancels the other side (the client's
    // owner loop) when one side completes without an exception.
    auto guarded = [&]() -> asio::awaitable<void> {
      try {
        co_await demo(client);
      } catch (...) {
        failure = std::current_exception();
      }
    };
    asio::co_spawn(io, client.async_run(asio::as_tuple(asio::use_awaitable)) || guarded(),
                   asio::detached);
    io.run();
    if (failure) {
      if (const auto why = client.shared_connection().last_error())
        std::fprintf(stderr, "streamq demo: connection to %s: %s\n",
                     client.config().redacted_url().c_str(), why.message().c_str());
      std::rethrow_exception(failure);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamq demo failed: %s\n", e.what());
    return 1;
  }
  return 0;
}

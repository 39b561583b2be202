// 01 · Quickstart: one publisher, one consumer, a few typed messages.
//
// The smallest complete round trip: publish shop.Order messages to a topic, consume them in
// a consumer group with a typed handler, then stop the consumer by cancelling its run().
// A handler that returns normally acknowledges its message, so once every message is
// handled the group has nothing pending. Redis: STREAMQ_REDIS_URL, default
// redis://127.0.0.1:6379.
#include "example_support.hpp"

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <shop.pb.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace streams = streamq::streams;
namespace ex = streamq::examples;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t order_count = 5;
constexpr const char* topic = "ex01-orders";
constexpr const char* group = "ex01-shipping";

streams::consumer_config make_config() {
  streams::consumer_config config;
  config.group = group;  // consumers sharing a group share the work (see 03)
  config.name = "ex01-worker";
  // run() returns only after in-flight handlers finish (up to shutdown_grace) and the last
  // acknowledgements are flushed; a short grace keeps this example's stop quick.
  config.shutdown_grace = 2s;
  return config;
}

asio::awaitable<void> quickstart(streamq::client& client) {
  co_await ex::reset_topic(client, topic, group);
  streams::publisher publisher(client);
  streams::consumer consumer(client, make_config());

  std::vector<std::string> handled;
  // Handlers are coroutines: they may co_await I/O. The message arrives already decoded.
  consumer.subscribe<shop::Order>(
      topic, [&](const shop::Order& order, streams::message_context& ctx) -> asio::awaitable<void> {
        std::printf("  handled %s: %lld cents for %s (entry %s)\n", order.id().c_str(),
                    static_cast<long long>(order.amount_cents()), order.customer().c_str(),
                    std::string(ctx.entry_id).c_str());
        handled.push_back(order.id());
        co_return;  // returning normally acknowledges the message
      });

  auto scenario = [&]() -> asio::awaitable<void> {
    for (std::size_t i = 0; i < order_count; ++i) {
      shop::Order order;
      order.set_id("order-" + std::to_string(i));
      order.set_amount_cents(1000 + static_cast<long long>(i) * 250);
      order.set_customer("customer-" + std::to_string(i % 2));
      const std::string entry_id = co_await publisher.publish(topic, order);
      std::printf("published %s as entry %s\n", order.id().c_str(), entry_id.c_str());
    }
    // Acked, not just handled: acknowledgements are batched after the handler returns.
    co_await ex::wait_until([&] { return consumer.stats().acked == order_count; }, 10s,
                            "every order to be acknowledged");
  };
  // The consumer runs until the scenario ends; then serve_until cancels run(): that is
  // how a consumer is stopped.
  co_await ex::serve_until(consumer.run(), scenario());

  ex::expect(handled.size() == order_count, "each order handled exactly once");
  for (const auto& status : co_await consumer.inspect()) {
    std::printf("topic %s: %llu entries, %llu pending\n", status.topic.c_str(),
                static_cast<unsigned long long>(status.length),
                static_cast<unsigned long long>(status.pending));
    ex::expect(status.pending == 0, "nothing left pending after a clean stop");
  }
}

}  // namespace

int main() {
  return ex::run_example("01_quickstart", quickstart, std::chrono::seconds(30));
}

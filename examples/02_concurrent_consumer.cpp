// 02 · Concurrency: one consumer, many handlers at once.
//
// Handlers usually wait on I/O (a database, an HTTP call). consumer_config::concurrency lets
// one consumer run that many handlers at the same time on one thread: while one handler is
// suspended in co_await, the others make progress. Here each handler "does I/O" by awaiting
// a 100 ms timer; 32 messages with 8 handlers take about 4 rounds, not 32.
#include "example_support.hpp"

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <shop.pb.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace streams = streamq::streams;
namespace ex = streamq::examples;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t order_count = 32;
constexpr std::size_t concurrency = 8;
constexpr auto io_time = 100ms;  // what each handler spends "waiting on I/O"
constexpr const char* topic = "ex02-orders";
constexpr const char* group = "ex02-invoicing";

streams::consumer_config make_config() {
  streams::consumer_config config;
  config.group = group;
  config.name = "ex02-worker";
  // At most this many handlers run at once. The consumer reads only as many entries as it
  // has free handler slots, so a slow consumer leaves the backlog in Redis for others.
  config.concurrency = concurrency;
  config.shutdown_grace = 2s;
  return config;
}

std::vector<streamq::v1::Envelope> make_orders() {
  std::vector<streamq::v1::Envelope> batch;
  for (std::size_t i = 0; i < order_count; ++i) {
    shop::Order order;
    order.set_id("order-" + std::to_string(i));
    order.set_amount_cents(500);
    batch.push_back(streams::make_envelope(order));
  }
  return batch;
}

asio::awaitable<void> concurrent(streamq::client& client) {
  co_await ex::reset_topic(client, topic, group);
  streams::publisher publisher(client);
  streams::consumer consumer(client, make_config());

  std::size_t running = 0;  // handlers inside their simulated I/O right now
  std::size_t peak = 0;     // the most that ever were at once
  consumer.subscribe<shop::Order>(
      topic, [&](const shop::Order&, streams::message_context&) -> asio::awaitable<void> {
        peak = std::max(peak, ++running);
        co_await ex::sleep_for(io_time);  // suspended here, the thread serves other handlers
        --running;
      });

  double elapsed = 0;
  auto scenario = [&]() -> asio::awaitable<void> {
    const auto batch = make_orders();
    const auto started = std::chrono::steady_clock::now();
    co_await publisher.publish_batch(topic, batch);  // one round trip for the lot
    co_await ex::wait_until([&] { return consumer.stats().acked == order_count; }, 20s,
                            "every order to be acknowledged");
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  co_await ex::serve_until(consumer.run(), scenario());

  const double serial = std::chrono::duration<double>(io_time).count() * order_count;
  std::printf("handled %zu orders in %.2f s with up to %zu handlers at once\n", order_count,
              elapsed, peak);
  std::printf("one at a time they would have taken %.2f s (%.1fx faster)\n", serial,
              serial / elapsed);
  ex::expect(peak > 1, "handlers overlapping");
  ex::expect(peak <= concurrency, "never more handlers than consumer_config::concurrency");
  // 4 rounds of 100 ms ideally; half the serial time leaves CI machines a wide margin.
  ex::expect(elapsed < serial / 2, "concurrent handling well under the serial time");
}

}  // namespace

int main() {
  return ex::run_example("02_concurrent_consumer", concurrent, std::chrono::seconds(30));
}

// 03 · Consumer groups: several consumers share one stream's work.
//
// Consumers with the same group and distinct names split the entries between them: Redis
// hands each entry to exactly one consumer of the group (XREADGROUP ">"), so adding
// consumers (threads, processes, machines) scales out without handling anything twice.
// Here three consumers run in one io_context and count what each handled.
#include "example_support.hpp"

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <shop.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace streams = streamq::streams;
namespace ex = streamq::examples;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t order_count = 90;
constexpr std::size_t consumer_count = 3;  // the && in consumer_group() runs exactly three
constexpr const char* topic = "ex03-orders";
constexpr const char* group = "ex03-pickers";

streams::consumer_config make_config(std::size_t index) {
  streams::consumer_config config;
  config.group = group;                                  // the same group...
  config.name = "ex03-picker-" + std::to_string(index);  // ...distinct names
  // A small window per consumer, so that no single consumer reads the whole backlog at once
  // and the split is visible (with the default 16 the first reader could take it all).
  config.concurrency = 4;
  config.shutdown_grace = 2s;
  return config;
}

std::vector<streamq::v1::Envelope> make_orders() {
  std::vector<streamq::v1::Envelope> batch;
  for (std::size_t i = 0; i < order_count; ++i) {
    shop::Order order;
    order.set_id("order-" + std::to_string(i));
    batch.push_back(streams::make_envelope(order));
  }
  return batch;
}

asio::awaitable<void> consumer_group(streamq::client& client) {
  co_await ex::reset_topic(client, topic, group);
  streams::publisher publisher(client);

  std::vector<std::size_t> per_consumer(consumer_count, 0);  // handled by each consumer
  std::map<std::string, int> times_handled;                  // by order ID, across consumers
  std::vector<std::unique_ptr<streams::consumer>> consumers;
  for (std::size_t i = 0; i < consumer_count; ++i) {
    consumers.push_back(std::make_unique<streams::consumer>(client, make_config(i + 1)));
    consumers.back()->subscribe<shop::Order>(
        topic,
        [&, i](const shop::Order& order, streams::message_context&) -> asio::awaitable<void> {
          ++per_consumer[i];
          ++times_handled[order.id()];
          co_await ex::sleep_for(25ms);  // some work, so that the others get a share
        });
  }

  auto scenario = [&]() -> asio::awaitable<void> {
    const auto batch = make_orders();
    co_await publisher.publish_batch(topic, batch);
    co_await ex::wait_until(
        [&] {
          std::size_t acked = 0;
          for (const auto& c : consumers) acked += c->stats().acked;
          return acked == order_count;
        },
        20s, "every order to be acknowledged");
  };
  // && runs the three consumers side by side; cancelling the && stops all of them.
  static_assert(consumer_count == 3);
  co_await ex::serve_until(consumers[0]->run() && consumers[1]->run() && consumers[2]->run(),
                           scenario());

  std::size_t total = 0;
  for (std::size_t i = 0; i < consumer_count; ++i) {
    std::printf("%s handled %zu orders\n", consumers[i]->name().c_str(), per_consumer[i]);
    ex::expect(per_consumer[i] > 0, "every consumer getting a share of the work");
    total += per_consumer[i];
  }
  std::size_t duplicates = 0;
  for (const auto& [id, times] : times_handled) duplicates += times > 1 ? 1 : 0;
  std::printf("total %zu of %zu published, %zu distinct, %zu handled twice\n", total, order_count,
              times_handled.size(), duplicates);
  ex::expect(total == order_count, "total handled == published");
  ex::expect(times_handled.size() == order_count && duplicates == 0, "no order handled twice");
}

}  // namespace

int main() {
  return ex::run_example("03_consumer_group", consumer_group, std::chrono::seconds(30));
}

// 04 · Crash recovery: entries a dead consumer was handling are taken over.
//
// Delivery is at-least-once: an entry stays pending, owned by the consumer it was delivered
// to, until that consumer acknowledges it. If the consumer dies mid-handling the entry is not
// lost: any consumer of the group whose claim loop finds it idle for claim_idle takes it over
// (XAUTOCLAIM) and handles it. Here consumer "ex04-doomed" takes a few orders and "crashes"
// with its handlers stuck; consumer "ex04-rescuer" then recovers them.
#include "example_support.hpp"

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <shop.pb.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace streams = streamq::streams;
namespace ex = streamq::examples;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t order_count = 10;
constexpr std::size_t doomed_window = 4;  // how many orders the doomed consumer takes
constexpr const char* topic = "ex04-orders";
constexpr const char* group = "ex04-shipping";

streams::consumer_config doomed_config() {
  streams::consumer_config config;
  config.group = group;
  config.name = "ex04-doomed";
  config.concurrency = doomed_window;  // it reads no more than it can run
  // No grace: cancelling run() abandons the in-flight handlers at once, unacknowledged, as a
  // crash (kill -9, a lost machine) would. Their entries stay pending on "ex04-doomed".
  config.shutdown_grace = 0ms;
  return config;
}

streams::consumer_config rescuer_config() {
  streams::consumer_config config;
  config.group = group;
  config.name = "ex04-rescuer";
  // Entries idle this long on another consumer are presumed abandoned. Production values are
  // tens of seconds (live consumers keep their long handlers' entries fresh every
  // claim_idle / 3); short ones here so that the example takes a second.
  config.claim_idle = 500ms;
  config.claim_interval = 200ms;
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

asio::awaitable<void> crash_recovery(streamq::client& client) {
  co_await ex::reset_topic(client, topic, group);
  streams::publisher publisher(client);

  // Act 1: the doomed consumer starts handling orders and never finishes them.
  std::set<std::string> abandoned;
  streams::consumer doomed(client, doomed_config());
  doomed.subscribe<shop::Order>(
      topic, [&](const shop::Order& order, streams::message_context&) -> asio::awaitable<void> {
        abandoned.insert(order.id());
        co_await ex::sleep_for(1h);  // stuck (a deadlock, a hung call) until the "crash"
      });
  auto until_crash = [&]() -> asio::awaitable<void> {
    const auto batch = make_orders();
    co_await publisher.publish_batch(topic, batch);
    co_await ex::wait_until([&] { return doomed.stats().in_flight == doomed_window; }, 10s,
                            "the doomed consumer to take its orders");
  };
  co_await ex::serve_until(doomed.run(), until_crash());
  const auto after_crash = co_await doomed.inspect();
  std::printf("ex04-doomed crashed handling %zu orders; %llu entries pending in the group\n",
              abandoned.size(), static_cast<unsigned long long>(after_crash.at(0).pending));
  ex::expect(abandoned.size() == doomed_window, "the doomed consumer to hold its orders");
  ex::expect(after_crash.at(0).pending == doomed_window, "its orders left pending by the crash");

  // Act 2: the rescuer reads the orders nobody took, and its claim loop takes over the
  // doomed consumer's orders once they have been idle for claim_idle.
  std::set<std::string> handled;
  std::size_t recovered = 0;
  streams::consumer rescuer(client, rescuer_config());
  rescuer.subscribe<shop::Order>(
      topic, [&](const shop::Order& order, streams::message_context& ctx) -> asio::awaitable<void> {
        const bool was_abandoned = abandoned.count(order.id()) > 0;
        if (was_abandoned) ++recovered;
        std::printf("  ex04-rescuer handled %s (entry %s)%s\n", order.id().c_str(),
                    std::string(ctx.entry_id).c_str(),
                    was_abandoned ? ": recovered from ex04-doomed" : "");
        handled.insert(order.id());
        co_return;
      });
  auto until_recovered = [&]() -> asio::awaitable<void> {
    co_await ex::wait_until([&] { return rescuer.stats().acked == order_count; }, 10s,
                            "every order to be handled by the rescuer");
  };
  co_await ex::serve_until(rescuer.run(), until_recovered());

  const auto stats = rescuer.stats();
  std::printf("rescuer: %zu orders handled, %zu of them recovered, %llu claimed from others\n",
              handled.size(), recovered, static_cast<unsigned long long>(stats.claimed));
  ex::expect(handled.size() == order_count, "every order handled by the end");
  ex::expect(recovered == doomed_window, "every abandoned order recovered");
  ex::expect(stats.claimed == doomed_window, "the abandoned orders taken over by claims");
  const auto at_end = co_await rescuer.inspect();
  ex::expect(at_end.at(0).pending == 0, "nothing pending at the end");
}

}  // namespace

int main() {
  return ex::run_example("04_crash_recovery", crash_recovery, std::chrono::seconds(30));
}

// 05 · Dead letters: messages that cannot be handled, and getting them handled later.
//
// A handler that throws is retried with backoff, but some failures no retry can fix: the
// handler says so with errc::permanent_failure, and messages that do not decode as the
// handler's type (poison) are in the same class (streams::is_permanent). Such messages go
// straight to the group's dead-letter stream, out of the way of the rest. An operator then
// lists them, purges what is garbage and, once the cause is fixed, requeues the rest.
#include "example_support.hpp"

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/publisher.hpp>

#include <shop.pb.h>
#include <boost/system/system_error.hpp>

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

constexpr std::size_t order_count = 6;  // order-1 and order-4 carry negative amounts
constexpr const char* topic = "ex05-payments";
constexpr const char* group = "ex05-billing";

streams::consumer_config make_config() {
  streams::consumer_config config;
  config.group = group;
  config.name = "ex05-biller";
  config.shutdown_grace = 2s;
  config.on_event = [](const streams::consumer_event& e) {  // without it: printed to stderr
    if (e.what == streams::consumer_event::kind::dead_lettered)
      std::printf("  dead-lettered %s\n", e.detail.c_str());
  };
  return config;
}

// Poison: the envelope claims shop.Order, but its payload is not one (a producer with a broken
// serializer, say). Published as an envelope, bypassing the typed publish().
streamq::v1::Envelope make_poison() {
  shop::Order placeholder;
  auto envelope = streams::make_envelope(placeholder);
  envelope.set_payload(std::string(12, '\xff'));  // an unterminated varint: never parses
  return envelope;
}

// Dead letters record their cause as "<category>:<value>" (DeadLetter.error_code): decide
// by code, never by the human-readable last_error.
std::string code_string(streams::errc e) {
  const streams::error_code ec = streams::make_error_code(e);
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

asio::awaitable<void> dead_letter_workflow(streamq::client& client) {
  co_await ex::reset_topic(client, topic, group);
  streams::publisher publisher(client);
  streams::consumer consumer(client, make_config());

  bool fixed = false;  // "the bug": negative amounts (refund corrections) are rejected
  std::set<std::string> handled;
  consumer.subscribe<shop::Order>(
      topic, [&](const shop::Order& order, streams::message_context&) -> asio::awaitable<void> {
        if (order.amount_cents() < 0 && !fixed)  // retrying would fail the same way
          throw boost::system::system_error(streams::errc::permanent_failure,
                                            "negative amount in " + order.id());
        handled.insert(order.id());
        co_return;
      });

  auto scenario = [&]() -> asio::awaitable<void> {
    for (std::size_t i = 0; i < order_count; ++i) {
      shop::Order order;
      order.set_id("order-" + std::to_string(i));
      order.set_amount_cents(i == 1 || i == 4 ? -500 : 1000);
      co_await publisher.publish(topic, order);
    }
    co_await publisher.publish_envelope(topic, make_poison());
    co_await ex::wait_until(
        [&] { return handled.size() == order_count - 2 && consumer.stats().dead_lettered == 3; },
        10s, "4 orders handled and 3 messages dead-lettered");

    streams::dead_letters dead(client, topic, group);
    const std::size_t count = co_await dead.count();
    std::printf("%s holds %zu dead letters:\n", dead.key().c_str(), count);
    ex::expect(count == 3, "3 dead letters");
    std::vector<std::string> poison;
    const auto letters = co_await dead.list();
    for (const auto& entry : letters) {
      const auto& letter = entry.letter;
      std::printf("  %s (was %s): %s, %u attempt(s), [%s] %s\n", entry.id.c_str(),
                  letter.original_entry_id().c_str(), letter.envelope().type().c_str(),
                  letter.attempts(), letter.error_code().c_str(), letter.last_error().c_str());
      if (letter.error_code() == code_string(streams::errc::decode_failed))
        poison.push_back(entry.id);
    }
    ex::expect(poison.size() == 1, "one poison message among the dead letters");

    // No fix makes poison decode: look at it once more, then purge it.
    const auto inspected = co_await dead.get(poison.front());
    ex::expect(inspected.has_value(), "the poison message found by its ID");
    std::printf("purging %s: %zu payload bytes that are no shop.Order\n", poison.front().c_str(),
                inspected->letter.envelope().payload().size());
    const bool purged = co_await dead.purge(poison.front());
    ex::expect(purged, "the poison message purged");

    fixed = true;  // the fix is deployed: what it rejected can go through again
    const std::size_t requeued = co_await dead.requeue_all();
    std::printf("requeued %zu dead letters after the fix\n", requeued);
    ex::expect(requeued == 2, "the 2 rejected orders requeued");
    // Acknowledged, not just handled: stop only once no acknowledgement is in flight.
    co_await ex::wait_until([&] { return consumer.stats().acked == order_count; }, 10s,
                            "the requeued orders to be handled and acknowledged");
    const std::size_t left = co_await dead.count();
    ex::expect(left == 0, "an empty dead-letter stream at the end");
  };
  co_await ex::serve_until(consumer.run(), scenario());

  const auto stats = consumer.stats();
  std::printf("handled %zu of %zu orders; dead-lettered %llu, acknowledged %llu\n", handled.size(),
              order_count, static_cast<unsigned long long>(stats.dead_lettered),
              static_cast<unsigned long long>(stats.acked));
  ex::expect(handled.size() == order_count, "every order handled in the end");
}

}  // namespace

int main() {
  return ex::run_example("05_dead_letters", dead_letter_workflow, std::chrono::seconds(30));
}

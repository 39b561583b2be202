// The demo's second act, on its own topic: an order reminder scheduled 300 ms ahead, a
// recurring "stock check" every 200 ms, and an order published twice with one idempotency key
// (the second publish adds nothing and returns the first one's ID). A scheduler moves due
// tasks and fires the recurring one; a consumer prints what arrives and when.
#include "demo_scheduling.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <shop.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

namespace asio = boost::asio;
namespace streams = streamq::streams;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

const std::string topic = "demo-reminders";

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

asio::awaitable<void> wait_until(const std::function<bool()>& done, const char* what) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int i = 0; i < 1000 && !done(); ++i) {
    timer.expires_after(10ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (!done()) throw std::runtime_error(std::string("demo timed out waiting for ") + what);
}

}  // namespace

asio::awaitable<void> scheduling_demo(streamq::client& client) {
  const streams::topic_keys keys(topic);
  streamq::resp::request reset;
  reset.push("DEL", streamq::resp::key{keys.stream()}, streamq::resp::key{keys.delayed()},
             streamq::resp::key{keys.delayed_data()}, streamq::resp::key{keys.cron()},
             streamq::resp::key{keys.meta()}, streamq::resp::key{keys.dedup("order-7-created")});
  streamq::resp::ignore_response ignored;
  co_await streamq::with_deadline(client.async_exec(reset, ignored), 5s);

  streams::scheduler_config scheduler_config;
  scheduler_config.topics.push_back(topic);
  streams::scheduler scheduler(client, scheduler_config);
  streams::publisher publisher(client);
  streams::consumer_config consumer_config;
  consumer_config.group = "notifier";
  streams::consumer consumer(client, consumer_config);
  int reminders = 0, stock_checks = 0, created = 0;
  consumer.subscribe<shop::Order>(
      topic, [&](const shop::Order& order, streams::message_context& ctx) -> asio::awaitable<void> {
        const auto& headers = ctx.headers();
        if (const auto due = headers.find("due-ms"); due != headers.end()) {
          ++reminders;
          std::printf("  reminder for %s arrived %lld ms after its due time\n", order.id().c_str(),
                      static_cast<long long>(unix_ms(std::chrono::system_clock::now()) -
                                             std::stoll(due->second)));
        } else if (headers.contains("streamq-occurrence")) {
          ++stock_checks;
        } else {
          ++created;
        }
        co_return;
      });

  auto scenario = [&]() -> asio::awaitable<void> {
    shop::Order order;
    order.set_id("order-7");
    order.set_amount_cents(1999);
    const auto due = std::chrono::system_clock::now() + 300ms;
    streams::envelope_options reminder;
    reminder.headers["due-ms"] = std::to_string(unix_ms(due));
    const auto task = co_await scheduler.publish_at(topic, order, due, reminder);
    std::printf("scheduled reminder task %s for 300 ms from now (%llu waiting)\n", task.c_str(),
                static_cast<unsigned long long>(co_await scheduler.scheduled_count(topic)));

    shop::Order stock;
    stock.set_id("stock-check");
    const streams::schedule every(streams::interval_schedule(
        200ms,
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now())));
    co_await scheduler.upsert_recurring(topic, "stock-check", every, stock,
                                        streams::missed_policy::skip);
    std::printf("registered recurring task 'stock-check' (%s)\n", every.spec().c_str());

    streams::envelope_options once;
    once.idempotency_key = "order-7-created";
    const auto first = co_await publisher.publish(topic, order, once);
    const auto second = co_await publisher.publish(topic, order, once);
    std::printf("published order-7 twice with one idempotency key: %s, then %s (%s)\n",
                first.c_str(), second.c_str(),
                first == second ? "duplicate suppressed" : "NOT suppressed");
    if (first != second) throw std::runtime_error("the duplicate publish was not suppressed");

    co_await wait_until([&] { return reminders == 1 && stock_checks >= 3; }, "scheduled tasks");
    co_await scheduler.remove_recurring(topic, "stock-check");
    const auto stats = scheduler.stats();
    std::printf(
        "scheduler: moved %llu delayed task, fired 'stock-check' %llu times; consumer saw %d "
        "reminder, %d stock checks, %d order-created (duplicates suppressed: %llu)\n",
        static_cast<unsigned long long>(stats.moved),
        static_cast<unsigned long long>(stats.recurring_fired), reminders, stock_checks, created,
        static_cast<unsigned long long>(publisher.stats().duplicates));
    if (created != 1) throw std::runtime_error("order-7 was delivered more than once");
  };
  // The consumer and the scheduler stop (gracefully) when the scenario ends, however it ends.
  co_await streamq::run_until(consumer.run(), streamq::run_until(scheduler.run(), scenario()));
}

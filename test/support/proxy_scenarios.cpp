#include "support/proxy_scenarios.hpp"

#include "support/async_test.hpp"

#include <streamq/streams/error.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <memory>

namespace streamq::test {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What run_all()'s spawned coroutines report back.
struct spawn_group {
  std::size_t finished = 0;
  std::size_t failures = 0;
};
}  // namespace

streamq::redis::connection_config proxied_config(const fault_proxy& proxy) {
  auto config = streamq::redis::parse_url(proxy.url());
  config.connect_timeout = 500ms;
  config.reconnect.initial_delay = 10ms;
  config.reconnect.max_delay = 100ms;
  config.health_check_interval = 100ms;
  config.health_check_timeout = 300ms;
  return config;
}

streamq::streams::consumer_config fast_consumer_config() {
  streamq::streams::consumer_config config;
  config.group = "g";
  config.name = "c1";
  config.block = 200ms;
  config.claim_idle = 400ms;
  config.claim_interval = 100ms;
  config.retry.base = 10ms;
  config.retry.cap = 100ms;
  config.shutdown_grace = 1s;
  return config;
}

void run_with_config(const streamq::redis::connection_config& config,
                     const std::function<asio::awaitable<void>(streamq::client&)>& body,
                     std::chrono::seconds limit) {
  run_coroutine(
      [&]() -> asio::awaitable<void> {
        streamq::client c(co_await asio::this_coro::executor, config);
        std::exception_ptr failure;
        co_await (c.async_run(use_tuple) || capture_failure(body(c), failure));
        if (failure) std::rethrow_exception(failure);
      },
      limit);
}

asio::awaitable<bool> wait_connected(const streamq::redis::connection& conn,
                                     std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (conn.state() != streamq::redis::connection_state::connected) {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    co_await sleep_for(2ms);
  }
  co_return true;
}

asio::awaitable<bool> poll_until(std::function<bool()> done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    co_await sleep_for(10ms);
  }
  co_return true;
}

asio::awaitable<void> run_all(std::size_t n,
                              const std::function<asio::awaitable<void>(std::size_t)>& make,
                              std::chrono::milliseconds limit) {
  auto group = std::make_shared<spawn_group>();
  const auto ex = co_await asio::this_coro::executor;
  for (std::size_t i = 0; i < n; ++i)
    asio::co_spawn(ex, make(i), [group](const std::exception_ptr& e) {
      ++group->finished;
      if (e) ++group->failures;
    });
  const bool all = co_await poll_until([&] { return group->finished == n; }, limit);
  REQUIRE_MESSAGE(all, "spawned coroutines did not finish");
  CHECK(group->failures == 0);
}

asio::awaitable<void> publish_one(streamq::streams::publisher& pub, const std::string& topic,
                                  ledger& book) {
  const auto seq = book.next_sequence();
  Order order;
  order.set_id(ledger::label(seq));
  order.set_amount_cents(static_cast<std::int64_t>(seq));
  try {
    co_await pub.publish(topic, order);
    book.record_publish(seq, ledger::outcome::ok);
  } catch (const boost::system::system_error& e) {
    book.record_publish(seq, e.code() == streamq::streams::errc::publish_indeterminate
                                 ? ledger::outcome::indeterminate
                                 : ledger::outcome::failed);
  }
}

void subscribe_ledger(streamq::streams::consumer& consumer, const std::string& topic,
                      ledger& book) {
  consumer.subscribe<Order>(
      topic,
      [&book](const Order& order, streamq::streams::message_context&) -> asio::awaitable<void> {
        if (const auto seq = ledger::parse_label(order.id()))
          book.record_handled(*seq);
        else
          book.record_foreign_entry();
        co_return;
      });
}

std::string test_name() {
  return doctest::getContextOptions()->currentTest->m_name;
}

asio::awaitable<void> run_alongside(streamq::streams::consumer& consumer,
                                    asio::awaitable<void> scenario) {
  std::exception_ptr consumer_failure;
  std::exception_ptr scenario_failure;
  bool scenario_done = false;
  auto scenario_then_mark = [&]() -> asio::awaitable<void> {
    co_await capture_failure(std::move(scenario), scenario_failure);
    scenario_done = true;
  };
  co_await (capture_failure(consumer.run(), consumer_failure) || scenario_then_mark());
  if (consumer_failure) {
    try {
      std::rethrow_exception(consumer_failure);
    } catch (const std::exception& e) {
      FAIL_CHECK("consumer.run() threw: " << std::string(e.what()));
    }
  }
  CHECK_MESSAGE(scenario_done, "consumer.run() ended before the scenario did");
  if (scenario_failure) std::rethrow_exception(scenario_failure);
}

void check_ledger(const ledger_report& r, std::uint64_t expected_publishes) {
  CHECK(r.ok + r.failed + r.indeterminate == expected_publishes);
  CHECK(r.ok > 0);
  CHECK(r.lost == 0);
  CHECK(r.unexpected == 0);
  MESSAGE("failed=" << r.failed << " indeterminate=" << r.indeterminate
                    << " dead_lettered=" << r.dead_lettered << " handled=" << r.handled);
}

}  // namespace streamq::test

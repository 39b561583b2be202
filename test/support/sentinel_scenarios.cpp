#include "support/sentinel_scenarios.hpp"

#include "support/async_test.hpp"
#include "support/proxy_scenarios.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <string>
#include <thread>

namespace streamq::test {
namespace asio = boost::asio;
using namespace std::chrono_literals;

redis::connection_config fast_sentinel_client(redis::connection_config config) {
  config.connect_timeout = 1s;
  config.reconnect.initial_delay = 10ms;
  config.reconnect.max_delay = 200ms;
  config.health_check_interval = 200ms;
  config.health_check_timeout = 500ms;
  config.sentinel.timeout = 500ms;
  return config;
}

asio::awaitable<void> on_helper_thread(std::function<void()> fault,
                                       std::function<asio::awaitable<void>()> meanwhile) {
  std::atomic<bool> done{false};
  std::exception_ptr failure;
  std::thread helper([&] {
    try {
      fault();
    } catch (...) {
      failure = std::current_exception();
    }
    done = true;
  });
  try {
    while (!done) co_await meanwhile();
  } catch (...) {
    helper.join();
    throw;
  }
  helper.join();
  if (failure) std::rethrow_exception(failure);
}

std::uint64_t failover_under_load(redis_sentinel& s, ledger& book,
                                  const redis::connection_config& config, bool fence_writes,
                                  const std::function<void()>& after) {
  const auto topic = unique_topic();
  constexpr std::uint64_t per_round = 200;
  std::uint64_t attempts = 0;
  std::size_t promoted = 0;
  run_with_config(
      config,
      [&](client& c) -> asio::awaitable<void> {
        streams::publisher pub(c);
        streams::consumer con(c, fast_consumer_config());
        subscribe_ledger(con, topic, book);
        auto round = [&]() -> asio::awaitable<void> {
          for (std::uint64_t i = 0; i < per_round; ++i) {
            ++attempts;
            co_await publish_one(pub, topic, book);
          }
          co_await poll_until([&] { return book.outstanding() == 0; }, 30s);
        };
        const auto losses = c.shared_connection().stats().connection_losses;
        bool noticed = false;
        const std::function<void()> fault = [&] { promoted = s.failover(0, fence_writes); };
        const std::function<asio::awaitable<void>()> meanwhile = [&]() -> asio::awaitable<void> {
          if (!noticed && c.shared_connection().stats().connection_losses > losses) {
            noticed = true;
            book.fault_injected();
          }
          ++attempts;
          co_await publish_one(pub, topic, book);
        };
        auto scenario = [&]() -> asio::awaitable<void> {
          co_await round();
          co_await on_helper_thread(fault, meanwhile);
          if (!noticed) book.fault_injected();  // the switch came after the last publish
          co_await round();
          if (after) after();
        };
        co_await run_alongside(con, scenario());
        co_await drain_into(c, topic, "g", book);
      },
      120s);
  CHECK(promoted == 1);
  CHECK(s.role(1) == "master");
  return attempts;
}

}  // namespace streamq::test

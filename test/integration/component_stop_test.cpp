// stop() of the scheduler and the trimmer: called from another thread while run() runs on the
// io_context, run() returns; called before run(), the next run() returns at once; a stopped
// component runs again afterwards.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/retention.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::topic_trimmer;
using streamq::streams::trimmer_config;
using streamq::test::redis_server;
using streamq::test::wait_until;

namespace {

scheduler_config scheduler_settings(const std::string& topic) {
  scheduler_config config;
  config.topics = {topic};
  config.max_sleep = std::chrono::hours(1);  // it would sleep this long between polls
  return config;
}

trimmer_config trimmer_settings(const std::string& topic) {
  trimmer_config config;
  config.topics.push_back({topic, {.max_length = 10}});
  config.interval = std::chrono::hours(1);  // it would wait this long between rounds
  return config;
}

// Runs `component.run()` on this io_context; once `started` holds, another std::thread calls
// stop(). Checks that run() returns promptly, and that the component runs again after.
template <class Component>
asio::awaitable<void> stop_from_another_thread(Component& component,
                                               std::function<bool()> started) {
  bool returned = false;
  std::exception_ptr failure;
  asio::co_spawn(co_await asio::this_coro::executor, component.run(), [&](std::exception_ptr e) {
    failure = e;
    returned = true;
  });
  co_await wait_until(started);
  CHECK(component.health().running);
  const auto asked = std::chrono::steady_clock::now();
  std::thread stopper([&component] { component.stop(); });
  co_await wait_until([&] { return returned; }, 5s);
  stopper.join();
  if (failure) std::rethrow_exception(failure);
  CHECK(std::chrono::steady_clock::now() - asked < 2s);  // not the hour it was waiting
  CHECK_FALSE(component.health().running);
}

// stop() before run(): run() returns without doing anything.
template <class Component>
asio::awaitable<void> stop_before_run(Component& component, std::function<bool()> did_work) {
  component.stop();
  const auto start = std::chrono::steady_clock::now();
  co_await component.run();
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK_FALSE(did_work());
}

}  // namespace

TEST_CASE("scheduler::stop() from another thread ends run(), stop() before run() ends it at once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler s(c, scheduler_settings(topic));
    co_await stop_before_run(s, [&] { return s.stats().polls > 0; });
    // the request was used up by that run(): this one runs until stopped
    co_await stop_from_another_thread(s, [&] { return s.stats().polls >= 1; });
    const auto polls = s.stats().polls;
    co_await stop_from_another_thread(s, [&] { return s.stats().polls > polls; });
  });
}

TEST_CASE(
    "topic_trimmer::stop() from another thread ends run(), stop() before run() ends it at once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    topic_trimmer trimmer(c, trimmer_settings(topic));
    co_await stop_before_run(trimmer, [&] { return trimmer.stats().rounds > 0; });
    co_await stop_from_another_thread(trimmer, [&] { return trimmer.stats().rounds >= 1; });
    co_await stop_from_another_thread(trimmer, [&] { return trimmer.stats().rounds >= 2; });
  });
}

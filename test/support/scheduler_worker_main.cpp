// streamq-test-scheduler URL TOPIC [NAME SPEC POLICY [GRACE_MS]]: a scheduler process for the
// scheduler tests. Moves TOPIC's delayed tasks into its stream until SIGTERM or SIGINT (a graceful
// stop) or SIGKILL. With NAME SPEC POLICY ("skip" or "run_once") it first registers a
// recurring task publishing Order{id = NAME}, the way every process of a service would;
// GRACE_MS sets scheduler_config::misfire_grace.
#include <streamq/client.hpp>
#include <streamq/streams/scheduler.hpp>

#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
namespace streams = streamq::streams;

int main(int argc, char** argv) {
  if (argc != 3 && argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: %s URL TOPIC [NAME SPEC POLICY [GRACE_MS]]\n", argv[0]);
    return 2;
  }
  const std::string topic = argv[2];
  asio::io_context io;
  streamq::client client(io.get_executor(), argv[1]);
  streams::scheduler_config config;
  config.topics.push_back(topic);
  if (argc == 7) config.misfire_grace = std::chrono::milliseconds(std::atoi(argv[6]));
  streams::scheduler scheduler(client, config);
  asio::signal_set stop(io, SIGTERM, SIGINT);
  int status = 0;
  auto work = [&]() -> asio::awaitable<void> {
    if (argc >= 6) {
      streamq::test::Order order;
      order.set_id(argv[3]);
      const auto policy = std::string(argv[5]) == "run_once" ? streams::missed_policy::run_once
                                                             : streams::missed_policy::skip;
      co_await scheduler.upsert_recurring(topic, argv[3], streams::schedule::parse(argv[4]), order,
                                          policy);
    }
    co_await scheduler.run();
  };
  auto guarded = [&]() -> asio::awaitable<void> {
    try {
      co_await work();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "streamq-test-scheduler: %s\n", e.what());
      status = 1;
    }
  };
  asio::co_spawn(io,
                 client.async_run(asio::as_tuple(asio::use_awaitable)) || guarded() ||
                     stop.async_wait(asio::as_tuple(asio::use_awaitable)),
                 asio::detached);
  io.run();
  const auto stats = scheduler.stats();
  std::fprintf(stderr, "streamq-test-scheduler: moved %llu, fired %llu, skipped %llu\n",
               static_cast<unsigned long long>(stats.moved),
               static_cast<unsigned long long>(stats.recurring_fired),
               static_cast<unsigned long long>(stats.recurring_skipped));
  return status;
}

// streamq-cli-test-schedule URL TOPIC ORDER_ID DELAY_MS [NAME SPEC]: seeds the scheduler state
// that cli_test.py inspects with `streamq delayed` and `streamq recurring`: a delayed task
// publishing Order{id = ORDER_ID} in DELAY_MS, whose task ID it prints on stdout, and with NAME
// SPEC a recurring task publishing Order{id = NAME}. Runs no scheduler: nothing becomes due.
#include <streamq/client.hpp>
#include <streamq/streams/scheduler.hpp>

#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
namespace streams = streamq::streams;

int main(int argc, char** argv) {
  if (argc != 5 && argc != 7) {
    std::fprintf(stderr, "usage: %s URL TOPIC ORDER_ID DELAY_MS [NAME SPEC]\n", argv[0]);
    return 2;
  }
  const std::string topic = argv[2];
  asio::io_context io;
  streamq::client client(io.get_executor(), argv[1]);
  streams::scheduler scheduler(client, streams::scheduler_config{});
  int status = 0;
  auto seed = [&]() -> asio::awaitable<void> {
    try {
      streamq::test::Order order;
      order.set_id(argv[3]);
      const auto delay = std::chrono::milliseconds(std::atol(argv[4]));
      const auto id = co_await scheduler.publish_in(topic, order, delay);
      std::printf("%s\n", id.c_str());
      if (argc == 7) {
        streamq::test::Order recurring;
        recurring.set_id(argv[5]);
        co_await scheduler.upsert_recurring(topic, argv[5], streams::schedule::parse(argv[6]),
                                            recurring, streams::missed_policy::skip);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "streamq-cli-test-schedule: %s\n", e.what());
      status = 1;
    }
  };
  asio::co_spawn(io, client.async_run(asio::as_tuple(asio::use_awaitable)) || seed(),
                 asio::detached);
  io.run();
  return status;
}

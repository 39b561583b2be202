// streamq-test-worker URL TOPIC GROUP NAME HANDLE_MS: a consumer process for crash tests.
// Each handled Order increments its ID in the hash "<TOPIC>:handled" before the handler
// returns, so a test can count what was handled, by whom and how often, across processes
// (including ones it killed with SIGKILL mid-way). SIGTERM stops it gracefully: the consumer
// stops reading, lets in-flight handlers finish (shutdown_grace), acknowledges, exits 0.
#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>

#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

int main(int argc, char** argv) {
  // FAIL_FIRST (optional): each message's handler fails its first FAIL_FIRST runs, counted in
  // the hash "<topic>:runs:<group>" so that the count survives the process.
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: %s URL TOPIC GROUP NAME HANDLE_MS [FAIL_FIRST]\n", argv[0]);
    return 2;
  }
  const std::string topic = argv[2];
  const auto handle_time = std::chrono::milliseconds(std::atoi(argv[5]));
  const long fail_first = argc == 7 ? std::atol(argv[6]) : 0;
  const std::string runs_key = topic + ":runs:" + argv[3];
  asio::io_context io;
  streamq::client client(io.get_executor(), argv[1]);
  streamq::streams::consumer_config config;
  config.group = argv[3];
  config.name = argv[4];
  config.concurrency = 8;
  config.retry.base = std::chrono::milliseconds(5);
  config.retry.cap = std::chrono::milliseconds(20);
  config.retry_poll_interval = std::chrono::milliseconds(200);
  streamq::streams::consumer consumer(client, config);
  consumer.subscribe<streamq::test::Order>(
      topic,
      [&](const streamq::test::Order& order,
          streamq::streams::message_context&) -> asio::awaitable<void> {
        asio::steady_timer pause(co_await asio::this_coro::executor, handle_time);
        co_await pause.async_wait(asio::use_awaitable);
        if (fail_first > 0) {
          streamq::resp::request count;
          count.push("HINCRBY", streamq::resp::key{runs_key}, order.id(), 1);
          streamq::resp::response<long> runs;
          co_await client.async_exec(count, runs);
          if (runs.get<0>().value() <= fail_first) throw std::runtime_error("fails at first");
        }
        streamq::resp::request req;
        req.push("HINCRBY", streamq::resp::key{topic + ":handled"}, order.id(), 1);
        streamq::resp::ignore_response ignored;
        co_await client.async_exec(req, ignored);
      });
  // The consumer stops first (on SIGTERM), then the client: its final acks need the client.
  asio::signal_set stop(io, SIGTERM);
  asio::co_spawn(io,
                 client.async_run(asio::as_tuple(asio::use_awaitable)) ||
                     (consumer.run() || stop.async_wait(asio::as_tuple(asio::use_awaitable))),
                 asio::detached);
  io.run();
  return 0;
}

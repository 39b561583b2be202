// streamq-test-eo-worker URL IN NEAR FAR GROUP NAME STEP N: an effectively-once consumer
// process for the crash tests. Each Order of topic IN produces two outputs, one to NEAR (a
// topic in IN's slot: written in the commit script) and one to FAR (through the outbox). The
// process SIGKILLs itself at the N-th time it reaches STEP:
//   before_handler    the handler starts (nothing done yet)
//   in_handler        the handler added its outputs and has not returned
//   handler_returned  the handler succeeded; the commit is not sent
//   committed         the commit's reply arrived; the relay has not published
//   relayed           the outbox's outputs are published; their entries not yet deleted
//   none              never (the process that finishes the work)
// SIGTERM stops it gracefully.
#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/outputs.hpp>

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
#include <string>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using streamq::streams::commit_step;

namespace {
std::string step_name(commit_step s) {
  switch (s) {
    case commit_step::handler_returned: return "handler_returned";
    case commit_step::committed: return "committed";
    case commit_step::relayed: return "relayed";
  }
  return "unknown";
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s URL IN NEAR FAR GROUP NAME STEP N\n", argv[0]);
    return 2;
  }
  const std::string in = argv[2], near = argv[3], far = argv[4], crash_step = argv[7];
  const long crash_at = std::atol(argv[8]);
  long reached = 0;
  // SIGKILL, not exit: no destructor, no flush, no graceful anything.
  auto reach = [&](const std::string& step) {
    if (step == crash_step && ++reached == crash_at) std::raise(SIGKILL);
  };
  asio::io_context io;
  streamq::client client(io.get_executor(), argv[1]);
  streamq::streams::consumer_config config;
  config.group = argv[5];
  config.name = argv[6];
  config.concurrency = 4;
  config.block = std::chrono::milliseconds(100);
  config.claim_idle = std::chrono::milliseconds(1000);
  streamq::streams::consumer consumer(client, config);
  streamq::streams::subscription_options options;
  options.effectively_once = true;
  options.outbox_poll = std::chrono::milliseconds(100);
  options.on_commit_step = [&](commit_step s, std::string_view) { reach(step_name(s)); };
  consumer.subscribe<streamq::test::Order>(
      in,
      [&](const streamq::test::Order& order,
          streamq::streams::message_context& ctx) -> asio::awaitable<void> {
        reach("before_handler");
        streamq::test::Order out;
        out.set_id(order.id());
        ctx.outputs->add(near, out);
        ctx.outputs->add(far, out);
        reach("in_handler");
        co_return;
      },
      options);
  asio::signal_set stop(io, SIGTERM);
  asio::co_spawn(io,
                 client.async_run(asio::as_tuple(asio::use_awaitable)) ||
                     (consumer.run() || stop.async_wait(asio::as_tuple(asio::use_awaitable))),
                 asio::detached);
  io.run();
  return 0;
}

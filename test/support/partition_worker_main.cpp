// streamq-test-partition-worker URL TOPIC GROUP NAME HANDLE_MS [LEASE_TTL_MS HEARTBEAT_MS]:
// a partitioned_consumer process for the partition process tests (SIGKILLed, SIGSTOPped past
// its lease, joining mid-run). It consumes the partitioned TOPIC with per_key_concurrency 1;
// each handler waits HANDLE_MS on average (drawn from 0 to 2 x HANDLE_MS, so that messages of
// one key running at once would finish out of order), then records its run with one RPUSH to
// the list "<TOPIC>:partition-runs" before it returns (one key: one slot, also on a Redis
// Cluster), as
//
//   "<order id> <partition key> <amount_cents> <NAME> <partition> <epoch> <entry id>"
//
// where the test's publisher puts the key's own sequence number in amount_cents, and <epoch> is
// the lease epoch this member acquired the partition under (the handler's own lease: a member
// gives a partition up only after its consumer ended, so it cannot hold it twice at once). The
// list survives the processes, so a test can tell who handled what, in which order, under
// which lease, including runs of a process it killed or paused.
//
// Partition events go to stderr, one line each; consumer warnings as the library logs them.
// SIGTERM or SIGINT stops it gracefully (every partition drains and is released, the member
// leaves): exit 0. Exit 1 when run() ends by an error, 2 on bad arguments.
#include <streamq/client.hpp>
#include <streamq/log.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/partitioned_consumer.hpp>

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

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <random>
#include <string>

#include <unistd.h>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
namespace streams = streamq::streams;

namespace {

const char* kind_name(streams::partition_event::kind k) {
  switch (k) {
    case streams::partition_event::kind::acquired: return "acquired";
    case streams::partition_event::kind::released: return "released";
    case streams::partition_event::kind::lost: return "lost";
    case streams::partition_event::kind::membership_failed: return "membership_failed";
    case streams::partition_event::kind::lease_failed: return "lease_failed";
    case streams::partition_event::kind::consumer_failed: return "consumer_failed";
    default: return "event";  // a kind added later: its detail says what
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 8) {
    std::fprintf(stderr,
                 "usage: %s URL TOPIC GROUP NAME HANDLE_MS [LEASE_TTL_MS HEARTBEAT_MS]\n",
                 argv[0]);
    return 2;
  }
  const std::string topic = argv[2];
  const std::string name = argv[4];
  const auto lease_ttl = std::chrono::milliseconds(argc == 8 ? std::atoi(argv[6]) : 1500);
  const auto heartbeat = std::chrono::milliseconds(argc == 8 ? std::atoi(argv[7]) : 200);
  const std::string runs_key = topic + ":partition-runs";
  std::minstd_rand random(static_cast<std::minstd_rand::result_type>(::getpid()));
  std::uniform_int_distribution<int> handle_time(0, 2 * std::atoi(argv[5]));
  asio::io_context io;
  streamq::client client(io.get_executor(), argv[1]);

  streams::partitioned_consumer_config config;
  config.consumer.group = argv[3];
  config.consumer.name = name;
  config.consumer.concurrency = 8;  // per partition held
  config.consumer.block = std::chrono::milliseconds(100);
  config.consumer.shutdown_grace = std::chrono::milliseconds(2000);
  // Partition events are printed below; the library's own info lines would repeat them.
  config.consumer.log = streamq::logger(
      [](const streamq::log_record& r) { streamq::write_json_line(r); }, streamq::log_level::warning);
  config.heartbeat = heartbeat;
  config.lease_ttl = lease_ttl;
  // Within validate()'s bounds for any lease_ttl of at least 3 heartbeats.
  config.lease_margin = lease_ttl / 3;
  // partition topic -> "<partition> <epoch>" of the lease it was last acquired under. Events
  // and handlers run on the one thread of `io`.
  std::map<std::string, std::string> lease_of;
  config.on_event = [&](const streams::partition_event& e) {
    if (e.what == streams::partition_event::kind::acquired)
      lease_of[streams::partition_topic(topic, e.partition)] =
          std::to_string(e.partition) + " " + std::to_string(e.epoch);
    std::fprintf(stderr, "partition-worker %s: %s partition %u epoch %llu%s%s\n", name.c_str(),
                 kind_name(e.what), static_cast<unsigned>(e.partition),
                 static_cast<unsigned long long>(e.epoch), e.detail.empty() ? "" : ": ",
                 e.detail.c_str());
  };
  streams::partitioned_consumer member(client, config);
  streams::subscription_options options;
  options.per_key_concurrency = 1;
  member.subscribe<streamq::test::Order>(
      topic,
      [&](const streamq::test::Order& order,
          streams::message_context& ctx) -> asio::awaitable<void> {
        asio::steady_timer pause(co_await asio::this_coro::executor,
                                 std::chrono::milliseconds(handle_time(random)));
        co_await pause.async_wait(asio::use_awaitable);
        const auto lease = lease_of.find(std::string(ctx.topic));
        const std::string record =
            order.id() + " " + ctx.envelope->partition_key() + " " +
            std::to_string(order.amount_cents()) + " " + name + " " +
            (lease == lease_of.end() ? std::string("? 0") : lease->second) + " " +
            std::string(ctx.entry_id);
        streamq::resp::request req;
        req.push("RPUSH", streamq::resp::key{runs_key}, record);
        streamq::resp::ignore_response ignored;
        co_await client.async_exec(req, ignored);
      },
      options);

  int status = 0;
  auto guarded = [&]() -> asio::awaitable<void> {
    try {
      co_await member.run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "partition-worker %s: run() failed: %s\n", name.c_str(), e.what());
      status = 1;
    }
  };
  // The member stops first (on SIGTERM), then the client: its last acks and lease releases
  // need the client.
  asio::signal_set stop(io, SIGTERM, SIGINT);
  asio::co_spawn(io,
                 client.async_run(asio::as_tuple(asio::use_awaitable)) ||
                     (guarded() || stop.async_wait(asio::as_tuple(asio::use_awaitable))),
                 asio::detached);
  io.run();
  const auto stats = member.stats();
  std::fprintf(stderr, "partition-worker %s: acked %llu, claimed %llu, ownership_lost %llu\n",
               name.c_str(), static_cast<unsigned long long>(stats.acked),
               static_cast<unsigned long long>(stats.claimed),
               static_cast<unsigned long long>(stats.ownership_lost));
  return status;
}

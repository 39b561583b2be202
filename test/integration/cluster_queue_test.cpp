// The queue layer on a real local Redis Cluster (test/support/redis_cluster.hpp): topics whose
// hash tags land on every master, consumed by several groups at once with failures and
// retries (one blocking reader per master, acknowledgements and retries split by slot by the
// client), delayed tasks moved by the scheduler on each topic's own master, and a topic's slot
// moved to another master under a running consumer (its reader regroups), a master added and
// slots resharded to it, and a manual failover under load, each with a LEDGER line.
//
// ctest label `cluster` (as well as `integration`): ctest -L cluster.
#include "support/async_test.hpp"
#include "support/ledger.hpp"
#include "support/proxy_scenarios.hpp"
#include "support/cluster_topics.hpp"
#include "support/redis_cluster.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/config.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace resp = streamq::resp;
using namespace std::chrono_literals;
using streamq::client;
using streamq::run_until;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::consumer_event;
using streamq::streams::message_context;
using streamq::streams::outcome;
using streamq::streams::publisher;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::topic_keys;
using streamq::redis::parse_url;
using streamq::test::cluster_role;
using streamq::test::ledger;
using streamq::test::Order;
using streamq::test::cluster_url;
using streamq::test::master_of;
using streamq::test::redis_cluster;
using streamq::test::topic_per_master;
using streamq::test::wait_until;

namespace {

Order order(const std::string& id) {
  Order o;
  o.set_id(id);
  o.set_amount_cents(100);
  return o;
}

consumer_config fast(std::string group) {
  consumer_config cfg{.group = std::move(group), .concurrency = 16};
  cfg.block = 200ms;
  cfg.retry.base = 5ms;
  cfg.retry.cap = 20ms;
  cfg.retry_poll_interval = 200ms;
  cfg.claim_interval = 200ms;
  cfg.shutdown_grace = 1s;
  cfg.log = streamq::logger([](const streamq::log_record&) {});  // quiet
  return cfg;
}

// A fault under load, kept in `book`: `per_round` publishes to each topic, handled by a
// running consumer (`config`); then `fault()` on a thread of its own (the fixture blocks)
// while publishing goes on round-robin over the topics until it returns; then `per_round`
// publishes to each topic again; then every topic drained into the ledger. Returns how many
// publishes were made. `client_config` reaches the cluster.
std::size_t publish_around_fault(const streamq::redis::connection_config& client_config,
                                 const std::vector<std::string>& topics, ledger& book,
                                 const consumer_config& config, std::size_t per_round,
                                 const std::function<void()>& fault) {
  std::size_t published = 0;
  streamq::test::run_with_config(
      client_config,
      [&](client& cl) -> asio::awaitable<void> {
        publisher pub(cl);
        consumer con(cl, config);
        for (const auto& topic : topics) streamq::test::subscribe_ledger(con, topic, book);
        auto publish = [&](const std::string& topic) -> asio::awaitable<void> {
          ++published;
          co_await streamq::test::publish_one(pub, topic, book);
        };
        auto round = [&]() -> asio::awaitable<void> {
          for (std::size_t i = 0; i < per_round; ++i)
            for (const auto& topic : topics) co_await publish(topic);
          co_await streamq::test::poll_until([&] { return book.outstanding() == 0; }, 30s);
        };
        auto scenario = [&]() -> asio::awaitable<void> {
          co_await round();
          book.fault_injected();
          co_await streamq::test::during_fault(
              fault, [&](const std::function<bool()>& still) -> asio::awaitable<void> {
                for (std::size_t i = 0; still(); ++i) {
                  co_await publish(topics[i % topics.size()]);
                  co_await streamq::test::sleep_for(2ms);  // a steady stream, not a flood
                }
              });
          co_await round();
        };
        co_await streamq::test::run_alongside(con, scenario());
        for (const auto& topic : topics) co_await streamq::test::drain_into(cl, topic, "g", book);
      },
      180s);
  return published;
}

}  // namespace

TEST_CASE("cluster queue: three groups on topics over every master each handle every message once") {
  redis_cluster c;
  const auto topics = topic_per_master(c, "orders");
  REQUIRE(topics.size() == 3);
  constexpr int per_topic = 200;
  constexpr int total = 3 * per_topic;
  streamq::test::run_with_client(
      cluster_url(c),
      [&](client& cl) -> asio::awaitable<void> {
        publisher pub(cl);
        consumer a(cl, fast("a")), b(cl, fast("b")), g(cl, fast("c"));
        std::map<std::string, int> runs_a, ok_a, runs_b, runs_c;
        for (const auto& topic : topics) {
          // Group a fails every message once: its retry stays in group a, on the topic's master.
          a.subscribe<Order>(topic, [&](const Order& o, message_context& ctx)
                                        -> asio::awaitable<outcome> {
            const int run = ++runs_a[o.id()];
            CHECK(ctx.attempt == static_cast<std::uint32_t>(run - 1));
            if (run == 1) throw std::runtime_error("fails once");
            ++ok_a[o.id()];
            co_return outcome::ack();
          });
          b.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
            ++runs_b[o.id()];
            co_return;
          });
          g.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
            ++runs_c[o.id()];
            co_return;
          });
        }
        auto scenario = [&]() -> asio::awaitable<void> {
          for (int i = 0; i < per_topic; ++i)
            for (std::size_t t = 0; t < topics.size(); ++t)
              co_await pub.publish(topics[t], order(topics[t] + "/" + std::to_string(i)));
          co_await wait_until([&] { return ok_a.size() == total && runs_b.size() == total &&
                                           runs_c.size() == total; },
                              60s);
          co_await wait_until([&] { return a.stats().acked == total && b.stats().acked == total &&
                                           g.stats().acked == total; },
                              30s);
        };
        co_await run_until(a.run(), run_until(b.run(), run_until(g.run(), scenario())));
        for (const auto& [id, r] : runs_a) CHECK_MESSAGE(r == 2, id);
        for (const auto& [id, r] : runs_b) CHECK_MESSAGE(r == 1, id);
        for (const auto& [id, r] : runs_c) CHECK_MESSAGE(r == 1, id);
        CHECK(a.stats().retried == total);
        for (const auto& topic : topics) {
          CAPTURE(topic);
          // Nothing was re-added: each stream holds its publishes only, on its own master.
          CHECK(co_await streamq::test::topic_length(cl, topic) == per_topic);
          for (const char* group : {"a", "b", "c"})
            CHECK(co_await streamq::test::pending_count(cl, topic, group) == 0);
        }
      },
      120s);
  for (const auto& topic : topics)
    CHECK(c.command(master_of(c, topic), {"XLEN", topic_keys(topic).stream()}) ==
          ":" + std::to_string(per_topic) + "\r\n");
}

TEST_CASE("cluster queue: delayed tasks on topics over every master are moved when due") {
  redis_cluster c;
  const auto topics = topic_per_master(c, "later");
  constexpr int per_topic = 20;
  streamq::test::run_with_client(cluster_url(c), [&](client& cl) -> asio::awaitable<void> {
    scheduler_config config;
    config.topics = topics;
    scheduler s(cl, config);
    for (int i = 0; i < per_topic; ++i)
      for (const auto& topic : topics)
        co_await s.publish_in(topic, order(topic + "/" + std::to_string(i)), 300ms);
    for (const auto& topic : topics) CHECK(co_await s.scheduled_count(topic) == per_topic);
    auto moved_all = [&]() -> asio::awaitable<void> {
      co_await wait_until(
          [&] { return s.stats().moved == static_cast<std::uint64_t>(3 * per_topic); }, 20s);
    };
    co_await run_until(s.run(), moved_all());
    for (const auto& topic : topics) {
      CHECK(co_await streamq::test::topic_length(cl, topic) == per_topic);
      CHECK(co_await s.scheduled_count(topic) == 0);
    }
  });
}

TEST_CASE("cluster queue: a topic's slot moved to another master under a running consumer") {
  redis_cluster c;
  const auto topics = topic_per_master(c, "moving");
  const std::string& moving = topics.front();
  const std::uint16_t slot = resp::hash_slot(topic_keys(moving).stream());
  const std::size_t from = master_of(c, moving);
  const std::size_t to = master_of(c, topics.back());
  REQUIRE(from != to);
  ledger book(streamq::test::test_name());
  constexpr std::size_t per_round = 150;
  std::atomic<int> rerouted{0};
  auto config = streamq::test::fast_consumer_config();
  config.on_event = [&](const consumer_event& e) {
    if (e.what == consumer_event::kind::topics_rerouted) ++rerouted;
  };
  // MIGRATE moves the stream (and its groups) at once; the reader on the old master is
  // released (UNBLOCKED), later reads meet MOVED: both regroup.
  const auto published = publish_around_fault(parse_url(cluster_url(c)), topics, book, config,
                                              per_round, [&] { c.move_slot(slot, to); });
  const auto r = book.print();
  streamq::test::check_ledger(r, published);
  CHECK(r.ok == published);
  CHECK(r.reexecuted == 0);
  CHECK(rerouted.load() >= 1);
  CHECK(c.owner(slot) == to);
  // The stream, with everything published to it, lives on the new master only.
  CHECK(c.command(from, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == ":0\r\n");
  CHECK(c.command(to, {"XLEN", topic_keys(moving).stream()}) != ":0\r\n");
}

TEST_CASE("cluster queue: a manual failover under a running consumer and publisher") {
  redis_cluster c;
  const auto topics = topic_per_master(c, "failover");
  const auto replicas = c.replicas_of(master_of(c, topics.front()));
  REQUIRE_FALSE(replicas.empty());
  ledger book(streamq::test::test_name());
  constexpr std::size_t per_round = 150;
  // CLUSTER FAILOVER: the replica catches up with its master before taking over.
  const auto published =
      publish_around_fault(parse_url(cluster_url(c)), topics, book,
                           streamq::test::fast_consumer_config(), per_round,
                           [&] { c.failover(replicas.front()); });
  const auto r = book.print();
  streamq::test::check_ledger(r, published);
  CHECK(r.ok == published);
  CHECK(c.role(replicas.front()) == cluster_role::master);
}

TEST_CASE("cluster queue: a master SIGKILLed under load and its replica promoted") {
  redis_cluster c;
  const auto topics = topic_per_master(c, "killed");
  const std::size_t master = master_of(c, topics.front());
  const auto replicas = c.replicas_of(master);
  REQUIRE_FALSE(replicas.empty());
  ledger book(streamq::test::test_name());
  constexpr std::size_t per_round = 100;
  // Plain publishes: an acknowledged write the replica had not received when its master died
  // is gone (asynchronous replication); the LEDGER line reports it. durable_publisher's
  // confirmations survive (cluster_durable_publisher_test).
  const auto published = publish_around_fault(
      parse_url(cluster_url(c)), topics, book, streamq::test::fast_consumer_config(), per_round, [&] {
        c.kill(master);
        c.wait_until_ok();
      });
  const auto r = book.print();
  CHECK(r.ok + r.failed + r.indeterminate == published);
  CHECK(r.unexpected == 0);
  // Consuming went on: everything published after the promotion was handled.
  CHECK(r.ok > 2 * per_round * topics.size() - r.lost);
  CHECK(c.role(replicas.front()) == cluster_role::master);
}

TEST_CASE("cluster queue: every node unreachable for a while: typed errors, then recovery") {
  // A long node_timeout: frozen together, the nodes must not declare each other failed (and
  // fail over) when they wake; the client's own limits are short, so it gives up meanwhile.
  streamq::test::redis_cluster_options options;
  options.node_timeout = 15s;
  redis_cluster c(options);
  const auto topics = topic_per_master(c, "frozen");
  ledger book(streamq::test::test_name());
  auto config = parse_url(cluster_url(c));
  config.health_check_interval = 200ms;
  config.health_check_timeout = 300ms;
  config.connect_timeout = 500ms;
  config.cluster.retry_deadline = 1000ms;
  const auto published = publish_around_fault(
      config, topics, book, streamq::test::fast_consumer_config(), 100, [&] {
        for (std::size_t n = 0; n < c.size(); ++n) c.server(n).pause();
        std::this_thread::sleep_for(3s);
        for (std::size_t n = 0; n < c.size(); ++n) c.server(n).resume();
        c.wait_until_ok();
      });
  const auto r = book.print();
  streamq::test::check_ledger(r, published);
  // Publishes made while every node was frozen failed, each with a typed error (or were
  // indeterminate: written before the freeze was noticed); the rest got through.
  CHECK(r.failed + r.indeterminate > 0);
}

TEST_CASE("cluster queue: a master added and slots resharded to it under a running consumer and publisher") {
  redis_cluster c;
  const std::size_t from = c.masters().front();
  const std::uint16_t first_slot = c.nodes().at(from).slots.front().first;
  // `redis-cli --cluster reshard` takes a source's slots from its lowest up: a topic among the
  // first `resharded` slots of `from` moves with them. One topic per master, that one on `from`.
  constexpr std::size_t resharded = 64;
  std::string moving;
  for (int n = 0; moving.empty(); ++n) {
    const std::string topic = "reshard-moving-" + std::to_string(n);
    const std::uint16_t s = resp::hash_slot(topic_keys(topic).stream());
    if (s >= first_slot && s < first_slot + resharded / 2) moving = topic;
  }
  auto topics = topic_per_master(c, "reshard");
  std::replace_if(
      topics.begin(), topics.end(), [&](const std::string& t) { return master_of(c, t) == from; },
      moving);
  const std::uint16_t slot = resp::hash_slot(topic_keys(moving).stream());
  ledger book(streamq::test::test_name());
  constexpr std::size_t per_round = 150;
  const std::size_t added = c.size();  // the number add_master() gives the next node
  std::atomic<int> rerouted{0};
  auto config = streamq::test::fast_consumer_config();
  config.on_event = [&](const consumer_event& e) {
    if (e.what == consumer_event::kind::topics_rerouted) ++rerouted;
  };
  // Both steps online: the client learns of the new master from the first MOVED to it; the
  // moving topic's reader is released by MIGRATE (UNBLOCKED) and regroups there.
  const auto published =
      publish_around_fault(parse_url(cluster_url(c)), topics, book, config, per_round, [&] {
        if (c.add_master() != added) throw std::logic_error("add_master: unexpected node number");
        c.reshard(from, added, resharded);
      });
  const auto r = book.print();
  streamq::test::check_ledger(r, published);
  CHECK(r.ok == published);
  CHECK(r.reexecuted == 0);
  CHECK(rerouted.load() >= 1);
  CHECK(c.owner(slot) == added);
  CHECK(c.owner(static_cast<std::uint16_t>(first_slot + resharded - 1)) == added);
  // The stream, with everything published to it, lives on the new master only.
  CHECK(c.command(from, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == ":0\r\n");
  CHECK(c.command(added, {"XLEN", topic_keys(moving).stream()}) != ":0\r\n");
}

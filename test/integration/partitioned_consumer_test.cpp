// partitioned_consumer against redis-server: members of one group share a partitioned topic's
// partitions fairly through leases; a member joining or leaving moves partitions with every
// message still handled once; a member that stops renewing (crashed) loses its partitions
// after lease_ttl; a lease found held by another is given up at once.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::run_until;
using streamq::streams::envelope_options;
using streamq::streams::errc;
using streamq::streams::message_context;
using streamq::streams::partition_event;
using streamq::streams::partitioned_consumer;
using streamq::streams::partitioned_consumer_config;
using streamq::streams::partitioned_publisher;
using streamq::streams::publisher;
using streamq::streams::set_partitions;
using streamq::test::order_with_id;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::wait_until;

namespace {

partitioned_consumer_config member_config(const std::string& name,
                                          std::vector<partition_event>* events = nullptr) {
  partitioned_consumer_config cfg;
  cfg.consumer.group = "g";
  cfg.consumer.name = name;
  cfg.consumer.concurrency = 8;
  cfg.consumer.block = 100ms;
  cfg.consumer.shutdown_grace = 2000ms;
  cfg.consumer.log = streamq::logger([](const streamq::log_record&) {});
  cfg.heartbeat = 100ms;
  cfg.lease_ttl = 1000ms;
  cfg.lease_margin = 300ms;
  if (events) cfg.on_event = [events](const partition_event& e) { events->push_back(e); };
  return cfg;
}

std::size_t held(const partitioned_consumer& m) { return m.owned().size(); }

}  // namespace

TEST_CASE("partitioned consumer: members share partitions fairly as they join and leave, each message handled once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr std::uint32_t parts = 6;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, parts);
    publisher plain(c);
    partitioned_publisher pub(plain);
    std::map<std::string, int> runs;
    std::map<std::uint32_t, std::uint64_t> last_epoch;
    bool epochs_grow = true;
    std::vector<partition_event> events;
    auto handler = [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
      ++runs[o.id()];
      co_await sleep_for(1ms);
    };
    auto track = [&](const partition_event& e) {
      events.push_back(e);
      if (e.what == partition_event::kind::acquired) {
        if (e.epoch <= last_epoch[e.partition]) epochs_grow = false;
        last_epoch[e.partition] = e.epoch;
      }
    };
    auto config = [&](const std::string& name) {
      auto cfg = member_config(name);
      cfg.on_event = track;
      return cfg;
    };
    partitioned_consumer a(c, config("a")), b(c, config("b")), d(c, config("d"));
    for (auto* m : {&a, &b, &d}) m->subscribe<streamq::test::Order>(topic, handler);
    int published = 0;
    bool publishing = true;
    auto publish = [&]() -> asio::awaitable<void> {
      while (publishing) {
        envelope_options o;
        o.partition_key = "k" + std::to_string(published % 17);
        co_await pub.publish(topic, order_with_id("m" + std::to_string(published)), o);
        ++published;
        co_await sleep_for(2ms);
      }
    };
    std::exception_ptr publish_failure;
    bool publish_done = false;
    asio::co_spawn(c.get_executor(), publish(), [&](std::exception_ptr e) {
      publish_failure = e;
      publish_done = true;
    });
    // b and d run beside a (run_until would end with the first of them to stop).
    bool b_done = false, d_done = false;
    std::exception_ptr b_failure, d_failure;
    auto scenario = [&]() -> asio::awaitable<void> {
      asio::co_spawn(c.get_executor(), b.run(), [&](std::exception_ptr e) {
        b_failure = e;
        b_done = true;
      });
      co_await wait_until([&] { return held(a) == 3 && held(b) == 3; }, 20s);
      {
        // What an operator sees: both members, every partition held by one of them, with
        // the epoch each holds.
        const auto view = co_await streamq::streams::inspect_partitions(c, topic, "g");
        CHECK(view.partitions == parts);
        std::set<std::string> names;
        for (const auto& m : view.members) names.insert(m.name);
        CHECK(names == std::set<std::string>{"a", "b"});
        REQUIRE(view.leases.size() == parts);
        for (const auto& l : view.leases) {
          CAPTURE(l.partition);
          const auto& holder = l.owner == "a" ? a : b;
          const auto mine = holder.owned();
          CHECK(std::find(mine.begin(), mine.end(),
                          streamq::streams::owned_partition{l.partition, l.epoch}) != mine.end());
          CHECK(l.until_ms > 0);
        }
      }
      // A third member joins: 2 each, within a few heartbeats and the drains.
      const auto joined = std::chrono::steady_clock::now();
      asio::co_spawn(c.get_executor(), d.run(), [&](std::exception_ptr e) {
        d_failure = e;
        d_done = true;
      });
      co_await wait_until([&] { return held(a) == 2 && held(b) == 2 && held(d) == 2; }, 20s);
      MESSAGE("rebalance after a join took "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - joined)
                     .count()
              << " ms");
      // b leaves (stops): a and d take its partitions.
      const auto left = std::chrono::steady_clock::now();
      b.stop();
      co_await wait_until([&] { return held(a) == 3 && held(d) == 3 && b_done; }, 20s);
      if (b_failure) std::rethrow_exception(b_failure);
      MESSAGE("rebalance after a leave took "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - left)
                     .count()
              << " ms");
      publishing = false;
      co_await wait_until([&] { return publish_done; }, 10s);
      co_await wait_until([&] { return static_cast<int>(runs.size()) == published; }, 20s);
      d.stop();
      co_await wait_until([&] { return d_done; }, 10s);
      if (d_failure) std::rethrow_exception(d_failure);
    };
    co_await run_until(a.run(), scenario());
    if (publish_failure) std::rethrow_exception(publish_failure);
    CHECK(published > 50);
    CHECK(static_cast<int>(runs.size()) == published);
    for (const auto& [id, r] : runs) CHECK_MESSAGE(r == 1, id);
    CHECK(epochs_grow);  // each new holder of a partition got a higher epoch
    std::size_t acquired = 0, released = 0, lost = 0;
    for (const auto& e : events) {
      acquired += e.what == partition_event::kind::acquired;
      released += e.what == partition_event::kind::released;
      lost += e.what == partition_event::kind::lost;
    }
    // At least 6 at the start (more if a started alone and b joined after), 2 moved to d, 3
    // from b; every one released, by rebalancing or when its member stopped.
    CHECK(acquired >= 11);
    CHECK(released == acquired);
    CHECK(lost == 0);
    CHECK(a.stats().acked + b.stats().acked + d.stats().acked == static_cast<std::uint64_t>(published));
  });
}

TEST_CASE("partitioned consumer: a crashed member's partitions move after lease_ttl, a taken lease is dropped at once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr std::uint32_t parts = 4;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, parts);
    const streamq::streams::topic_keys keys(topic);
    // A member that took its share and then died: in the member set, holding partitions 0
    // and 2 (its share in name order with "live"), renewing nothing.
    CHECK(server.command({"ZADD", keys.members("g"), "99999999999999", "a-ghost"}) == ":1\r\n");
    for (std::uint32_t p : {0u, 2u}) {
      const streamq::streams::topic_keys part(streamq::streams::partition_topic(topic, p));
      CHECK(server.command({"HSET", part.lease("g"), "owner", "a-ghost", "epoch", "5", "until",
                            "99999999999999"}) == ":3\r\n");
    }
    std::vector<partition_event> events;
    partitioned_consumer live(c, member_config("live", &events));
    bool gate_open = false, gated_started = false;
    live.subscribe<streamq::test::Order>(
        topic, [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
          if (o.id() != "gated") co_return;
          gated_started = true;
          co_await wait_until([&] { return gate_open; }, 10s);
        });
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return held(live) == 2; }, 10s);
      CHECK(live.owned() == std::vector<streamq::streams::owned_partition>{{1, 1}, {3, 1}});
      // The ghost's membership and leases run out (as after lease_ttl without renewal).
      const auto crash = std::chrono::steady_clock::now();
      CHECK(server.command({"ZADD", keys.members("g"), "1", "a-ghost"}) == ":0\r\n");
      for (std::uint32_t p : {0u, 2u}) {
        const streamq::streams::topic_keys part(streamq::streams::partition_topic(topic, p));
        CHECK(server.command({"HSET", part.lease("g"), "until", "1"}) == ":0\r\n");
      }
      co_await wait_until([&] { return held(live) == 4; }, 10s);
      MESSAGE("takeover after expiry took "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - crash)
                     .count()
              << " ms");
      // Epochs above the ghost's.
      for (const auto& o : live.owned())
        if (o.partition == 0 || o.partition == 2) CHECK(o.epoch == 6);
      // Someone takes partition 3's lease behind its back while a handler of that partition
      // runs: its acknowledgement is refused (the entry stays pending for the new holder),
      // the next renewal finds the lease gone and the partition's consumer stops; the lease
      // is not released (not ours).
      const streamq::streams::topic_keys third(streamq::streams::partition_topic(topic, 3));
      publisher plain(c);
      co_await plain.publish(third.topic(), order_with_id("gated"));
      co_await wait_until([&] { return gated_started; }, 10s);
      CHECK(server.command({"HSET", third.lease("g"), "owner", "intruder", "epoch", "40", "until",
                            "99999999999999"}) == ":0\r\n");
      gate_open = true;
      co_await wait_until([&] { return held(live) == 3; }, 10s);
      co_await wait_until([&] { return live.stats().ownership_lost == 1; }, 10s);
      CHECK(server.command({"XPENDING", third.stream(), "g"}).rfind("*4\r\n:1\r\n", 0) == 0);
      bool lost = false;
      for (const auto& e : events)
        lost |= e.what == partition_event::kind::lost && e.partition == 3 && e.epoch == 1;
      CHECK(lost);
      CHECK(server.command({"HGET", third.lease("g"), "owner"}) == "$8\r\nintruder\r\n");
    };
    co_await run_until(live.run(), scenario());
    // Leaving released what it held and left the member set.
    const streamq::streams::topic_keys zero(streamq::streams::partition_topic(topic, 0));
    CHECK(server.command({"HGET", zero.lease("g"), "owner"}) == "$-1\r\n");
    CHECK(server.command({"ZSCORE", keys.members("g"), "live"}) == "$-1\r\n");
  });
}

TEST_CASE("partitioned consumer: a topic without partitions is refused by run()") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    partitioned_consumer m(c, member_config("m"));
    m.subscribe<streamq::test::Order>(
        topic, [](const streamq::test::Order&, message_context&) -> asio::awaitable<void> { co_return; });
    try {
      co_await m.run();
      FAIL("run() returned");
    } catch (const boost::system::system_error& e) {
      CHECK(e.code() == errc::invalid_argument);
    }
    CHECK_THROWS_AS(m.subscribe<streamq::test::Order>(
                        topic, [](const streamq::test::Order&, message_context&)
                                   -> asio::awaitable<void> { co_return; }),
                    std::logic_error);
    partitioned_consumer other(c, member_config("o"));
    CHECK_THROWS_AS(other.subscribe<streamq::test::Order>(
                        topic + "#1", [](const streamq::test::Order&, message_context&)
                                          -> asio::awaitable<void> { co_return; }),
                    std::invalid_argument);
    auto bad = member_config("x");
    bad.lease_ttl = 200ms;  // under 3 heartbeats
    CHECK_THROWS_AS(partitioned_consumer(c, bad), std::invalid_argument);
    // Inspecting it: no partitions, nothing else read.
    const auto view = co_await streamq::streams::inspect_partitions(c, topic, "g");
    CHECK(view.partitions == 0);
    CHECK(view.leases.empty());
    CHECK_THROWS_AS((void)streamq::streams::inspect_partitions(c, topic + "#0", "g"),
                    std::invalid_argument);
  });
}

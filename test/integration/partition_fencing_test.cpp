// A partition's every write from its consumer checks the lease's owner and epoch in the same
// script (issue 12): a member that lost its partitions while a handler ran (paused past its
// lease, then woken) can neither acknowledge, nor schedule a retry, nor dead-letter, nor
// record a once-only message. Whatever it tried is left pending for the lease's holder.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include "streams/commands/lease_requests.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/outcome.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::message_context;
using streamq::streams::outcome;
using streamq::streams::partition_topic;
using streamq::streams::topic_keys;
using streamq::streams::detail::lease_read_gate;
using streamq::test::order_with_id;
using streamq::test::redis_server;
using streamq::test::wait_until;

TEST_CASE("partition fencing: a member that lost its leases mid-handler writes no retry, no dead letter, no once-only record") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::streams::set_partitions(c, topic, 3);
    streamq::streams::partitioned_consumer_config cfg;
    cfg.consumer.group = "g";
    cfg.consumer.name = "paused";
    cfg.consumer.block = 100ms;
    cfg.consumer.log = streamq::logger([](const streamq::log_record&) {});
    cfg.heartbeat = 100ms;
    cfg.lease_ttl = 1000ms;
    cfg.lease_margin = 300ms;
    streamq::streams::partitioned_consumer member(c, cfg);
    streamq::streams::subscription_options options;
    options.once = true;  // a success records the message and acknowledges (ack_processed)
    int started = 0;
    bool woken = false;
    // Partition 0's message asks for a retry, 1's for a dead letter, 2's succeeds.
    member.subscribe<streamq::test::Order>(
        topic,
        [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<outcome> {
          ++started;
          co_await wait_until([&] { return woken; }, 10s);
          if (o.id() == "p0") co_return outcome::retry_after(0ms, "fails");
          if (o.id() == "p1") co_return outcome::dead_letter("gives up");
          co_return outcome::ack();
        },
        options);
    const topic_keys parts[] = {topic_keys(partition_topic(topic, 0)),
                                topic_keys(partition_topic(topic, 1)),
                                topic_keys(partition_topic(topic, 2))};
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return member.owned().size() == 3; }, 10s);
      streamq::streams::publisher plain(c);
      for (int p = 0; p < 3; ++p)
        co_await plain.publish(parts[p].topic(), order_with_id("p" + std::to_string(p)));
      co_await wait_until([&] { return started == 3; }, 10s);
      // While the handlers run, another member takes every lease (as after this one was paused
      // past lease_ttl): a higher epoch, another owner.
      for (const auto& part : parts)
        CHECK(server.command({"HSET", part.lease("g"), "owner", "successor", "epoch", "9", "until",
                              "99999999999999"}) == ":0\r\n");
      woken = true;
      co_await wait_until([&] { return member.stats().ownership_lost == 3; }, 10s);
    };
    co_await streamq::run_until(member.run(), scenario());
    CHECK(member.stats().ownership_lost == 3);
    CHECK(member.stats().retried == 0);
    CHECK(member.stats().dead_lettered == 0);
    CHECK(member.stats().acked == 0);
    // Nothing was written: no retry, no dead letter, no record; each entry is still pending in
    // the group for the successor.
    CHECK(server.command({"ZCARD", parts[0].retries("g")}) == ":0\r\n");
    CHECK(server.command({"XLEN", parts[1].dead_letters("g")}) == ":0\r\n");
    CHECK(server.command({"ZCARD", parts[2].processed("g")}) == ":0\r\n");
    for (const auto& part : parts)
      CHECK(server.command({"XPENDING", part.stream(), "g"}).rfind("*4\r\n:1\r\n", 0) == 0);
  });
}

// A read cannot be fenced by the member's clock alone: one it wrote just before it was paused
// reaches Redis after the successor took the partition. So every read names its epoch's read
// gate (lease_acquire-1.lua), which the successor's grant deletes: entries published after
// that are not delivered to this member, even while its clock still trusts the lease (a read
// blocked then is released empty); they wait, undelivered, for the holder's read.
TEST_CASE("partition fencing: a member whose lease was taken reads nothing more, even before its clock says so") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    constexpr int partitions = 3;
    co_await streamq::streams::set_partitions(c, topic, partitions);
    streamq::streams::partitioned_consumer_config cfg;
    cfg.consumer.group = "g";
    cfg.consumer.name = "stale";
    cfg.consumer.block = 2000ms;  // reads blocked in Redis when the leases are taken
    cfg.consumer.log = streamq::logger([](const streamq::log_record&) {});
    // Long enough that neither the member's clock nor a renewal ends its leases during the
    // test: only Redis knows they were taken.
    cfg.heartbeat = 5s;
    cfg.lease_ttl = 30s;
    cfg.lease_margin = 1s;
    streamq::streams::partitioned_consumer member(c, cfg);
    int handled = 0;
    member.subscribe<streamq::test::Order>(
        topic, [&](const streamq::test::Order&, message_context&) -> asio::awaitable<void> {
          ++handled;
          co_return;
        });
    std::vector<topic_keys> parts;
    for (int p = 0; p < partitions; ++p) parts.emplace_back(partition_topic(topic, p));
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return member.owned().size() == partitions; }, 10s);
      streamq::streams::publisher plain(c);
      // Read and handled while the leases are this member's.
      for (int p = 0; p < partitions; ++p)
        co_await plain.publish(parts[p].topic(), order_with_id("before" + std::to_string(p)));
      co_await wait_until([&] { return handled == partitions; }, 10s);
      co_await streamq::test::sleep_for(200ms);  // its reads are blocked in Redis again
      // Another member takes every lease, as after this one was paused past lease_ttl:
      // lease_acquire-1.lua's grant, a higher epoch and the old epoch's read gate deleted.
      for (const auto& held : member.owned()) {
        const std::string lease = parts[held.partition].lease("g");
        CHECK(server.command({"HSET", lease, "owner", "successor", "epoch", "9", "until",
                              "99999999999999"}) == ":0\r\n");
        CHECK(server.command({"DEL", lease_read_gate(lease, held.epoch)}) == ":1\r\n");
      }
      for (int p = 0; p < partitions; ++p)
        co_await plain.publish(parts[p].topic(), order_with_id("after" + std::to_string(p)));
      co_await wait_until([&] { return member.stats().ownership_lost >= partitions; }, 10s);
      co_await streamq::test::sleep_for(300ms);
      member.stop();
    };
    co_await streamq::run_until(member.run(), scenario());
    CHECK(handled == partitions);
    // Nothing of what came after the take-over was delivered here: no pending entry, and the
    // successor's read gets each partition's new entry.
    for (const auto& part : parts) {
      INFO(part.stream());
      CHECK(server.command({"XPENDING", part.stream(), "g"}).rfind("*4\r\n:0\r\n", 0) == 0);
      const auto read = server.command(
          {"XREADGROUP", "GROUP", "g", "successor", "COUNT", "10", "STREAMS", part.stream(), ">"});
      CHECK(read.find("after") != std::string::npos);
      CHECK(read.find("before") == std::string::npos);
    }
  });
}

// The same for taking over entries: a member's idle claims and due retries check the lease in
// the same script (claim_entries-2+.lua, take_due_retries-2+.lua). Here the lease names a
// successor while the member's read gate is left in place, so that only the claim script
// stands between it and an entry idle in another consumer's pending list.
TEST_CASE("partition fencing: a member whose lease names another takes no idle entry") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::streams::set_partitions(c, topic, 1);
    streamq::streams::partitioned_consumer_config cfg;
    cfg.consumer.group = "g";
    cfg.consumer.name = "stale";
    cfg.consumer.concurrency = 1;  // while "hold" runs, nothing more is read
    cfg.consumer.block = 100ms;
    cfg.consumer.claim_idle = 200ms;
    cfg.consumer.claim_interval = 100ms;
    cfg.consumer.log = streamq::logger([](const streamq::log_record&) {});
    cfg.heartbeat = 5s;  // no renewal notices the change during the test
    cfg.lease_ttl = 30s;
    cfg.lease_margin = 1s;
    streamq::streams::partitioned_consumer member(c, cfg);
    std::vector<std::string> handled;
    bool release = false;
    member.subscribe<streamq::test::Order>(
        topic,
        [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
          handled.push_back(o.id());
          if (o.id() == "hold") co_await wait_until([&] { return release; }, 10s);
        });
    const topic_keys part(partition_topic(topic, 0));
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return member.owned().size() == 1; }, 10s);
      streamq::streams::publisher plain(c);
      co_await plain.publish(part.topic(), order_with_id("hold"));
      co_await wait_until([&] { return handled.size() == 1; }, 10s);
      // An entry read by "ghost", which never acknowledges it: idle past claim_idle soon.
      server.command({"XADD", part.stream(), "*", "f", "idle"});
      const auto ghost_read =
          server.command({"XREADGROUP", "GROUP", "g", "ghost", "STREAMS", part.stream(), ">"});
      CHECK(ghost_read.find("idle") != std::string::npos);
      // The lease names a successor (the gate stays: only the claim script can refuse).
      CHECK(server.command({"HSET", part.lease("g"), "owner", "successor", "epoch", "9"}) ==
            ":0\r\n");
      release = true;  // "hold" ends (its acknowledgement is refused): a handler slot frees
      co_await wait_until([&] { return member.stats().ownership_lost >= 2; }, 10s);
      co_await streamq::test::sleep_for(500ms);  // several claim rounds
      member.stop();
    };
    co_await streamq::run_until(member.run(), scenario());
    CHECK(handled == std::vector<std::string>{"hold"});
    CHECK(member.stats().claimed == 0);
    // The idle entry is still ghost's; "hold" is still the member's, unacknowledged.
    const auto summary = server.command({"XPENDING", part.stream(), "g"});
    CHECK(summary.find("ghost") != std::string::npos);
    CHECK(summary.rfind("*4\r\n:2\r\n", 0) == 0);
  });
}

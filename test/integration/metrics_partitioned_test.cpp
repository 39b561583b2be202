// metrics::watch(partitioned_consumer&) against a real redis-server: one member of a group on
// a topic of 4 partitions handles keyed messages (one handler run fails once: a retry; one
// fails for good: a dead letter); render() shows the counts per partitioned topic and group
// (never per partition), the partitions owned and readiness; the counts survive the member's
// stop and add up across a second run() (new partition consumers, the old ones retired).
#include "support/async_test.hpp"
#include "support/prometheus_text.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/metrics/metrics.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <map>
#include <string>

namespace asio = boost::asio;
namespace metrics = streamq::metrics;
using namespace std::chrono_literals;
using streamq::client;
using streamq::run_until;
using streamq::streams::envelope_options;
using streamq::streams::errc;
using streamq::streams::message_context;
using streamq::streams::partitioned_consumer;
using streamq::streams::partitioned_consumer_config;
using streamq::streams::partitioned_publisher;
using streamq::streams::publisher;
using streamq::test::labels;
using streamq::test::order_with_id;
using streamq::test::redis_server;
using streamq::test::value_of;
using streamq::test::wait_until;

namespace {

constexpr const char* dest = "messaging_destination_name";
constexpr const char* group = "messaging_consumer_group_name";

partitioned_consumer_config member_config() {
  partitioned_consumer_config cfg;
  cfg.consumer.group = "billing";
  cfg.consumer.name = "m1";
  cfg.consumer.block = 100ms;
  cfg.consumer.retry = {.max_attempts = 2, .base = 10ms, .cap = 20ms, .jitter = 0};
  cfg.consumer.log = streamq::logger([](const streamq::log_record&) {});
  cfg.heartbeat = 100ms;
  cfg.lease_ttl = 1000ms;
  cfg.lease_margin = 300ms;
  return cfg;
}

asio::awaitable<void> publish_keyed(partitioned_publisher& pub, const std::string& topic,
                                    int from, int to) {
  for (int i = from; i < to; ++i) {
    envelope_options o;
    o.partition_key = "k" + std::to_string(i);
    co_await pub.publish(topic, order_with_id("m" + std::to_string(i)), o);
  }
}

const metrics::readiness_check* find_check(const metrics::readiness& r, const std::string& name) {
  for (const auto& c : r.checks)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("metrics: a partitioned consumer's counts per topic and group, partitions owned, readiness, kept across stops") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr std::uint32_t parts = 4;
  constexpr int first_batch = 12;
  constexpr int second_batch = 4;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::streams::set_partitions(c, topic, parts);
    metrics::metrics m(c.get_executor());
    publisher plain(c);
    partitioned_publisher pub(plain);
    partitioned_consumer member(c, member_config());
    std::map<std::string, int> runs;
    member.subscribe<streamq::test::Order>(
        topic, [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
          const int run = ++runs[o.id()];
          if (o.id() == "m3" && run == 1) throw std::runtime_error("downstream down");
          if (o.id() == "m7")
            throw boost::system::system_error(errc::permanent_failure, "invalid order");
          co_return;
        });
    auto watched = m.watch(member);
    const labels tg{{dest, topic}, {group, "billing"}};
    const std::string check_name = "partitioned consumer billing";

    co_await publish_keyed(pub, topic, 0, first_batch);
    // The published messages spread over the partitions, so several partition consumers count.
    std::size_t partitions_used = 0;
    for (std::uint32_t p = 0; p < parts; ++p) {
      streamq::resp::request xlen;
      xlen.push("XLEN", streamq::resp::key{
                            streamq::streams::topic_keys(streamq::streams::partition_topic(topic, p))
                                .stream()});
      streamq::resp::generic_response reply;
      co_await c.async_exec(xlen, reply);
      REQUIRE_FALSE(reply.values().front().is_error());
      partitions_used += reply.values().front().text != "0";
    }
    CHECK(partitions_used > 1);

    auto first_run = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] {
        const auto t = member.topic_stats();
        return member.partitions_owned() == parts && t.size() == 1 &&
               t[0].acked == first_batch - 1 && t[0].dead_lettered == 1;
      }, 20s);
      const auto ready = m.ready();
      const auto* check = find_check(ready, check_name);
      REQUIRE(check != nullptr);
      CHECK(check->ok);
      CHECK(ready.ok);
      const auto text = m.render();
      INFO(text);
      CHECK(value_of(text, "streamq_partitioned_consumer_partitions_owned", tg) == parts);
      CHECK(value_of(text, "streamq_consumer_acks_total", tg) == first_batch - 1);
      CHECK(value_of(text, "streamq_consumer_in_flight", tg) == 0);
    };
    co_await run_until(member.run(), first_run());

    // Stopped: every partition consumer retired, its counts kept.
    CHECK(member.partitions_owned() == 0);
    const auto stopped = member.topic_stats();
    REQUIRE(stopped.size() == 1);
    CHECK(stopped[0].topic == topic);
    CHECK(stopped[0].delivered == first_batch + 1);  // m3's retry
    CHECK(stopped[0].acked == first_batch - 1);
    CHECK(stopped[0].retried == 1);
    CHECK(stopped[0].dead_lettered == 1);
    CHECK(stopped[0].in_flight == 0);
    std::uint64_t handler_runs = 0;
    for (auto n : stopped[0].handler_latency_log2_us) handler_runs += n;
    CHECK(handler_runs == first_batch + 1);
    const auto health = member.health();
    CHECK_FALSE(health.running);
    CHECK(health.errors == 0);
    {
      const auto text = m.render();
      INFO(text);
      CHECK(value_of(text, "streamq_consumer_deliveries_total", tg) == first_batch + 1);
      CHECK(value_of(text, "streamq_consumer_acks_total", tg) == first_batch - 1);
      CHECK(value_of(text, "streamq_consumer_retries_total", tg) == 1);
      CHECK(value_of(text, "streamq_consumer_dead_letters_total", tg) == 1);
      CHECK(value_of(text, "streamq_consumer_handler_duration_seconds_count", tg) ==
            first_batch + 1);
      CHECK(value_of(text, "streamq_consumer_errors_total", {{group, "billing"}}) == 0);
      CHECK(value_of(text, "streamq_partitioned_consumer_partitions_owned", tg) == 0);
      // Labelled with the partitioned topic only: no series names a partition.
      CHECK(text.find(streamq::streams::partition_topic(topic, 0)) == std::string::npos);
      const auto ready = m.ready();  // find_check points into it
      const auto* check = find_check(ready, check_name);
      REQUIRE(check != nullptr);
      CHECK_FALSE(check->ok);
      CHECK(check->reason == "not running");
    }

    // A second run() starts new partition consumers: the totals go on from the first run's.
    co_await publish_keyed(pub, topic, first_batch, first_batch + second_batch);
    auto second_run = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] {
        const auto t = member.topic_stats();
        return t.size() == 1 && t[0].acked == first_batch - 1 + second_batch;
      }, 20s);
    };
    co_await run_until(member.run(), second_run());
    // Dropping the handle takes a last reading.
    watched.reset();
    const auto text = m.render();
    INFO(text);
    CHECK(value_of(text, "streamq_consumer_acks_total", tg) == first_batch - 1 + second_batch);
    CHECK(value_of(text, "streamq_consumer_deliveries_total", tg) ==
          first_batch + 1 + second_batch);
    CHECK_FALSE(value_of(text, "streamq_partitioned_consumer_partitions_owned", tg).has_value());
    const auto after_unwatch = m.ready();
    CHECK(find_check(after_unwatch, check_name) == nullptr);
    for (const auto& [id, n] : runs) CHECK_MESSAGE(n == (id == "m3" ? 2 : 1), id);
  });
}

// Partitioned topics against redis-server: the count (created, grown, never shrunk), where
// partitioned_publisher puts each message (by key as docs/wire-format.md specifies, round
// robin, a custom function), batches split by partition, and groups consuming every partition
// with a failing handler: each message handled once per group.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::run_until;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::envelope_options;
using streamq::streams::errc;
using streamq::streams::message_context;
using streamq::streams::outcome;
using streamq::streams::partition_count;
using streamq::streams::partition_for_key;
using streamq::streams::partition_topic;
using streamq::streams::partitioned_publisher;
using streamq::streams::partitioner;
using streamq::streams::publisher;
using streamq::streams::set_partitions;
using streamq::test::order_with_id;
using streamq::test::read_topic;
using streamq::test::redis_server;
using streamq::test::topic_length;
using streamq::test::wait_until;

namespace {

envelope_options with_key(const std::string& key) {
  envelope_options o;
  o.partition_key = key;
  return o;
}

// The error code a call threw; clear if it returned.
template <class Call>
asio::awaitable<boost::system::error_code> code_of(Call call) {
  try {
    co_await call();
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
  co_return boost::system::error_code{};
}

}  // namespace

TEST_CASE("partitions: a topic's count is created, grown, never shrunk, and read back") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    CHECK(co_await partition_count(c, topic) == 0);
    CHECK(co_await set_partitions(c, topic, 4) == 4);
    CHECK(co_await set_partitions(c, topic, 4) == 4);  // unchanged, no error
    CHECK(co_await partition_count(c, topic) == 4);
    CHECK(co_await set_partitions(c, topic, 8) == 8);
    const auto shrink = co_await code_of([&] { return set_partitions(c, topic, 2); });
    CHECK(shrink == errc::invalid_argument);
    CHECK(co_await partition_count(c, topic) == 8);
    // The history: when each count began.
    const auto fields = server.command({"HKEYS", streamq::streams::topic_keys(topic).partitions()});
    CHECK(fields.find("from:4") != std::string::npos);
    CHECK(fields.find("from:8") != std::string::npos);
    // Refused at the call, before anything is sent.
    CHECK_THROWS_AS((void)set_partitions(c, topic, 0), std::invalid_argument);
    CHECK_THROWS_AS((void)set_partitions(c, topic, 1025), std::invalid_argument);
    CHECK_THROWS_AS((void)set_partitions(c, topic + "#1", 2), std::invalid_argument);
    CHECK_THROWS_AS((void)partition_count(c, "bad name"), std::invalid_argument);
    // Under another key prefix it is another topic.
    CHECK(co_await partition_count(c, topic, "other") == 0);
  });
}

TEST_CASE("partitions: by key each message lands in partition_for_key's partition, keyless ones round robin") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr std::uint32_t parts = 4;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher plain(c);
    partitioned_publisher pub(plain);
    // Not partitioned yet: the topic itself.
    co_await pub.publish(topic, order_with_id("before"), with_key("k"));
    CHECK(co_await topic_length(c, topic) == 1);
    co_await set_partitions(c, topic, parts);
    // The publisher read "not partitioned" a moment ago and keeps it for refresh_interval;
    // a new one reads the count now.
    partitioned_publisher fresh(plain);
    CHECK(co_await fresh.partitions_of(topic) == parts);
    std::map<std::string, std::string> key_of;  // order ID -> key
    for (int i = 0; i < 40; ++i) {
      const std::string id = "o" + std::to_string(i), key = "customer-" + std::to_string(i % 7);
      key_of[id] = key;
      co_await fresh.publish(topic, order_with_id(id), with_key(key));
    }
    std::size_t keyed_total = 0;
    for (std::uint32_t p = 0; p < parts; ++p) {
      for (const auto& e : co_await read_topic(c, partition_topic(topic, p))) {
        CAPTURE(e.order.id());
        CHECK(e.envelope.partition_key() == key_of.at(e.order.id()));
        CHECK(partition_for_key(e.envelope.partition_key(), parts) == p);
        ++keyed_total;
      }
    }
    CHECK(keyed_total == 40);
    // Keyless: round robin, an equal share each.
    std::map<std::uint32_t, std::size_t> before;
    for (std::uint32_t p = 0; p < parts; ++p)
      before[p] = co_await topic_length(c, partition_topic(topic, p));
    for (int i = 0; i < 8; ++i) co_await fresh.publish(topic, order_with_id("nokey"));
    for (std::uint32_t p = 0; p < parts; ++p)
      CHECK(co_await topic_length(c, partition_topic(topic, p)) == before[p] + 2);
    // A publisher that read "not partitioned" keeps that for refresh_interval (5 s here),
    // then learns the count.
    co_await pub.publish(topic, order_with_id("stale"), with_key("k"));
    CHECK(co_await topic_length(c, topic) == 2);
    partitioned_publisher quick(plain, {.refresh_interval = 50ms});
    CHECK(co_await quick.partitions_of(topic + "x") == 0);
    co_await set_partitions(c, topic + "x", 2);
    CHECK(co_await quick.partitions_of(topic + "x") == 0);  // its copy is fresh
    co_await streamq::test::sleep_for(60ms);
    CHECK(co_await quick.partitions_of(topic + "x") == 2);
  });
}

TEST_CASE("partitions: a custom partitioner decides and one out of range writes nothing") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, 3);
    publisher plain(c);
    std::uint32_t pick = 2;
    partitioned_publisher pub(
        plain, {.partitioning = partitioner::custom(
                    [&](const streamq::v1::Envelope& e, std::uint32_t n) {
                      CHECK(n == 3);
                      CHECK(e.partition_key() == "k");  // it sees the whole envelope
                      return pick;
                    })});
    co_await pub.publish(topic, order_with_id("a"), with_key("k"));
    CHECK(co_await topic_length(c, partition_topic(topic, 2)) == 1);
    pick = 3;
    CHECK(co_await code_of([&] { return pub.publish(topic, order_with_id("b"), with_key("k")); }) ==
          errc::invalid_argument);
    for (std::uint32_t p = 0; p < 3; ++p)
      CHECK(co_await topic_length(c, partition_topic(topic, p)) == (p == 2 ? 1u : 0u));
    // A partition's own name is no partitioned topic.
    CHECK(co_await code_of([&] {
            return pub.publish(partition_topic(topic, 1), order_with_id("c"));
          }) == errc::invalid_name);
  });
}

TEST_CASE("partitions: a batch is split by partition, IDs come back in the batch's order") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr std::uint32_t parts = 8;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, parts);
    publisher plain(c);
    partitioned_publisher pub(plain);
    std::vector<streamq::v1::Envelope> batch;
    for (int i = 0; i < 100; ++i) {
      auto opts = with_key("acct-" + std::to_string(i % 13));
      batch.push_back(streamq::streams::make_envelope(order_with_id("b" + std::to_string(i)), opts));
    }
    const auto ids = co_await pub.publish_batch(topic, batch);
    REQUIRE(ids.size() == batch.size());
    std::map<std::string, std::pair<std::uint32_t, std::string>> where;  // order -> (partition, ID)
    for (std::uint32_t p = 0; p < parts; ++p)
      for (const auto& e : co_await read_topic(c, partition_topic(topic, p)))
        where[e.order.id()] = {p, e.id};
    REQUIRE(where.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& [p, id] = where.at("b" + std::to_string(i));
      CHECK(p == partition_for_key(batch[i].partition_key(), parts));
      CHECK(ids[i] == id);
    }
    // One round trip per batch per partition at most: the publisher counts 100 entries.
    CHECK(plain.stats().published == 100);
  });
}

TEST_CASE("partitions: two groups on every partition, one failing, each message handled once per group") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr std::uint32_t parts = 4;
  constexpr int n = 400;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, parts);
    publisher plain(c);
    partitioned_publisher pub(plain);
    auto config = [](std::string group) {
      consumer_config cfg{.group = std::move(group), .concurrency = 8};
      cfg.retry.base = 5ms;
      cfg.retry.cap = 20ms;
      cfg.retry_poll_interval = 100ms;
      cfg.log = streamq::logger([](const streamq::log_record&) {});
      return cfg;
    };
    consumer billing(c, config("billing")), email(c, config("email"));
    std::map<std::string, int> billing_runs, billing_ok, email_runs;
    std::map<std::string, std::set<std::string>> topics_of;  // order -> partitions it came from
    for (std::uint32_t p = 0; p < parts; ++p) {
      billing.subscribe<streamq::test::Order>(
          partition_topic(topic, p),
          [&](const streamq::test::Order& o, message_context& ctx) -> asio::awaitable<outcome> {
            topics_of[o.id()].insert(std::string(ctx.topic));
            if (++billing_runs[o.id()] == 1 && o.id().back() == '7')
              throw std::runtime_error("fails once");
            ++billing_ok[o.id()];
            co_return outcome::ack();
          });
      email.subscribe<streamq::test::Order>(
          partition_topic(topic, p),
          [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
            ++email_runs[o.id()];
            co_return;
          });
    }
    auto scenario = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < n; ++i)
        co_await pub.publish(topic, order_with_id("m" + std::to_string(i)),
                             with_key("k" + std::to_string(i % 23)));
      co_await wait_until([&] { return billing_ok.size() == n && email_runs.size() == n; }, 60s);
      co_await wait_until([&] { return billing.stats().acked == n && email.stats().acked == n; },
                          30s);
    };
    co_await run_until(billing.run(), run_until(email.run(), scenario()));
    for (const auto& [id, r] : email_runs) CHECK_MESSAGE(r == 1, id);
    for (const auto& [id, r] : billing_ok) CHECK_MESSAGE(r == 1, id);
    for (const auto& [id, r] : billing_runs) CHECK_MESSAGE(r == (id.back() == '7' ? 2 : 1), id);
    for (const auto& [id, from] : topics_of) CHECK_MESSAGE(from.size() == 1, id);  // one partition
    std::size_t total = 0;
    for (std::uint32_t p = 0; p < parts; ++p) total += co_await topic_length(c, partition_topic(topic, p));
    CHECK(total == n);  // retries stayed in their partition's group: nothing re-added
  });
}

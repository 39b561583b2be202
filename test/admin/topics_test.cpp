// Tests of lib/admin/topics.* against a real redis-server: three topics made by streamq's own
// components (a partitioned one, one with two groups and a dead letter, a trimmed one with a
// delayed task) listed with every figure checked; keys that are not topics (another prefix,
// another type, other streams) left out; more keys than one SCAN page; a missing topic and an
// invalid name as error codes through a non-default completion token.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/admin/topics.hpp>
#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace admin = streamq::admin;
namespace streams = streamq::streams;
using namespace std::chrono_literals;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::test::order_with_id;
using streamq::test::redis_server;

namespace {

// A command of the test's own (state set up by hand); REQUIREs it was not refused.
asio::awaitable<void> command(client& c, request req) {
  streamq::resp::generic_response reply;
  co_await c.async_exec(req, reply);
  for (const auto& v : reply.values()) REQUIRE_FALSE(v.is_error());
}

asio::awaitable<void> create_group(client& c, const std::string& stream, const std::string& group) {
  request req;
  req.push("XGROUP", "CREATE", key{stream}, group, "0", "MKSTREAM");
  co_await command(c, std::move(req));
}

// alpha: 3 partitions, 6 messages spread by key, group g on each partition, nothing read.
asio::awaitable<void> make_alpha(client& c, streams::publisher& plain) {
  co_await streams::set_partitions(c, "alpha", 3);
  streams::partitioned_publisher pub(plain);
  for (int i = 0; i < 6; ++i) {
    streams::envelope_options o;
    o.partition_key = "key-" + std::to_string(i);
    co_await pub.publish("alpha", order_with_id("a" + std::to_string(i)), o);
  }
  for (std::uint32_t p = 0; p < 3; ++p)
    co_await create_group(c, streams::topic_keys(streams::partition_topic("alpha", p)).stream(),
                          "g");
}

// bravo: 4 messages; billing handles all (b2 fails permanently: one dead letter, no retry);
// audit has no consumer and one entry read by hand (pending, never acknowledged).
asio::awaitable<void> make_bravo(client& c, streams::publisher& pub) {
  const streams::topic_keys keys("bravo");
  co_await create_group(c, keys.stream(), "audit");
  for (int i = 0; i < 4; ++i) co_await pub.publish("bravo", order_with_id("b" + std::to_string(i)));
  streams::consumer_config config{.group = "billing", .name = "c1"};
  config.block = 100ms;
  config.log = streamq::logger([](const streamq::log_record&) {});
  streams::consumer billing(c, config);
  billing.subscribe<streamq::test::Order>(
      "bravo",
      [](const streamq::test::Order& o, streams::message_context&) -> asio::awaitable<void> {
        if (o.id() == "b2")
          throw boost::system::system_error(streams::errc::permanent_failure, "invalid order");
        co_return;
      });
  co_await streamq::test::while_consuming(billing, nullptr, [&]() -> asio::awaitable<void> {
    co_await streamq::test::wait_until([&] {
      const auto s = billing.stats();
      return s.acked == 3 && s.dead_lettered == 1;
    }, 10s);
  });
  request read;
  read.push("XREADGROUP", "GROUP", "audit", "a1", "COUNT", 1, "STREAMS", key{keys.stream()}, ">");
  co_await command(c, std::move(read));
}

// charlie: 10 messages trimmed to 4, no group, one task delayed by an hour.
asio::awaitable<void> make_charlie(client& c, streams::publisher& pub) {
  for (int i = 0; i < 10; ++i)
    co_await pub.publish("charlie", order_with_id("c" + std::to_string(i)));
  request trim;
  trim.push("XTRIM", key{streams::topic_keys("charlie").stream()}, "MAXLEN", 4);
  co_await command(c, std::move(trim));
  streams::scheduler sched(c, streams::scheduler_config{});
  co_await sched.publish_in("charlie", order_with_id("later"), std::chrono::hours(1));
}

// What is not a topic under "streamq": another prefix's stream, a string where a stream key
// would be, streams named otherwise, a topic's other streams (dead letters, outbox shapes).
asio::awaitable<void> make_decoys(client& c) {
  request req;
  req.push("XADD", key{streams::topic_keys("delta", "other").stream()}, "*", "f", "v");
  req.push("SET", key{streams::topic_keys("echo").stream()}, "not a stream");
  req.push("XADD", "plain-stream", "*", "f", "v");
  req.push("XADD", "streamq:{a}b}:stream", "*", "f", "v");
  req.push("XADD", key{streams::topic_keys("foxtrot").dead_letters("stream")}, "*", "f", "v");
  co_await command(c, std::move(req));
}

// `got` has `want`'s figures; want.oldest_pending_age_ms is an upper bound (the age grows).
void check_summary(const admin::topic_summary& got, const admin::topic_summary& want) {
  INFO("topic " << want.topic);
  CHECK(got.topic == want.topic);
  CHECK(got.partitions == want.partitions);
  CHECK(got.length == want.length);
  CHECK(got.entries_added == want.entries_added);
  CHECK(got.groups == want.groups);
  CHECK(got.lag == want.lag);
  CHECK(got.lag_is_lower_bound == want.lag_is_lower_bound);
  CHECK(got.pending == want.pending);
  CHECK(got.oldest_pending_age_ms.has_value() == want.oldest_pending_age_ms.has_value());
  if (got.oldest_pending_age_ms && want.oldest_pending_age_ms)
    CHECK(*got.oldest_pending_age_ms <= *want.oldest_pending_age_ms);
  CHECK(got.dead_letters == want.dead_letters);
  CHECK(got.delayed == want.delayed);
}

void check_listing(const std::vector<admin::topic_summary>& topics) {
  REQUIRE(topics.size() == 3);
  // alpha: every message undelivered to each partition's group.
  check_summary(topics[0], {"alpha", 3, 6, 6, 3, 6, false, 0, std::nullopt, 0, 0});
  // bravo: audit has 3 never delivered and 1 pending; billing is done, with 1 dead letter.
  check_summary(topics[1], {"bravo", 0, 4, 4, 2, 3, false, 1, 60'000, 1, 0});
  // charlie: 10 added, 4 kept; no group, so no lag; the delayed task.
  check_summary(topics[2], {"charlie", 0, 4, 10, 0, std::nullopt, false, 0, std::nullopt, 0, 1});
}

}  // namespace

TEST_CASE("admin topics: three topics listed and summarised, decoys and other prefixes left out") {
  redis_server server;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    streams::publisher pub(c);
    co_await make_alpha(c, pub);
    co_await make_bravo(c, pub);
    co_await make_charlie(c, pub);
    co_await make_decoys(c);

    const auto topics = co_await admin::async_list_topics(c, "streamq");
    check_listing(topics);
    // One topic alone gives the same figures; a partition's name gives that partition.
    const auto bravo = co_await admin::async_summarise_topic(c, "bravo", "streamq");
    CHECK(bravo.length == 4);
    CHECK(bravo.dead_letters == 1);
    CHECK(bravo.lag == 3u);
    std::uint64_t partition_lengths = 0;
    for (std::uint32_t p = 0; p < 3; ++p) {
      const auto part = co_await admin::async_summarise_topic(
          c, streams::partition_topic("alpha", p), "streamq");
      CHECK(part.partitions == 0);
      CHECK(part.groups == 1);
      CHECK(part.lag == part.length);
      partition_lengths += part.length;
    }
    CHECK(partition_lengths == 6);
    // Under the other prefix, only its own topic.
    const auto other = co_await admin::async_list_topics(c, "other");
    REQUIRE(other.size() == 1);
    CHECK(other[0].topic == "delta");
    CHECK(other[0].length == 1);
  });
}

TEST_CASE("admin topics: topics are found among more keys than one SCAN page looks at") {
  redis_server server;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    streams::publisher pub(c);
    // 2500 unrelated keys, 2.5 times the COUNT of one SCAN page (topics.hpp), before and after
    // the topics, so the topics' streams sit anywhere in the keyspace.
    auto fill = [&](int from, int to) -> asio::awaitable<void> {
      request req;
      for (int i = from; i < to; ++i) req.push("SET", key{"filler:" + std::to_string(i)}, "x");
      co_await command(c, std::move(req));
    };
    co_await fill(0, 1250);
    for (int t = 0; t < 5; ++t)
      co_await pub.publish("topic-" + std::to_string(t), order_with_id("x"));
    co_await fill(1250, 2500);

    const auto topics = co_await admin::async_list_topics(c, "streamq");
    REQUIRE(topics.size() == 5);
    for (int t = 0; t < 5; ++t) {
      CHECK(topics[t].topic == "topic-" + std::to_string(t));
      CHECK(topics[t].length == 1);
    }
  });
}

TEST_CASE("admin topics: a missing topic and invalid names as error codes") {
  redis_server server;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    const auto token = asio::as_tuple(asio::use_awaitable);
    auto [missing, none] = co_await admin::async_summarise_topic(c, "nope", "streamq", token);
    CHECK(missing == make_error_code(admin::errc::topic_not_found));
    CHECK(none.topic.empty());
    // A topic with only delayed tasks has no stream yet: not found either.
    streams::scheduler sched(c, streams::scheduler_config{});
    co_await sched.publish_in("later", order_with_id("x"), std::chrono::hours(1));
    auto [later, unused] = co_await admin::async_summarise_topic(c, "later", "streamq", token);
    CHECK(later == make_error_code(admin::errc::topic_not_found));
    auto [bad_name, unused_too] = co_await admin::async_summarise_topic(c, "a b", "streamq", token);
    CHECK(bad_name == make_error_code(streams::errc::invalid_argument));
    auto [bad_prefix, listed] = co_await admin::async_list_topics(c, "a{b", token);
    CHECK(bad_prefix == make_error_code(streams::errc::invalid_argument));
    CHECK(listed.empty());
    // No topic has a stream here: nothing is listed.
    const auto topics = co_await admin::async_list_topics(c, "streamq");
    CHECK(topics.empty());
  });
}

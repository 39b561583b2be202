// Growing a partitioned topic while it is used (docs/partitions.md, "Growing a topic"), against
// redis-server: 4 to 8 partitions under load, with a publisher that keeps the old count for an
// hour and a failing handler, keeps every key's order and loses nothing; a growth that is not
// a multiple is refused; a stale publisher's write is routed again to the key's new partition,
// whose consumer waits until the old partition drained past its cut; a growth stopped midway
// is completed by running it again.
#include "partition_growth_scenario.hpp"
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include "streams/commands/growth_requests.hpp"
#include "streams/commands/partition_requests.hpp"
#include "streams/commands/send_command.hpp"

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace detail = streamq::streams::detail;
using namespace std::chrono_literals;
using streamq::client;
using streamq::run_until;
using streamq::streams::consumer_config;
using streamq::streams::envelope_options;
using streamq::streams::errc;
using streamq::streams::message_context;
using streamq::streams::partition_count;
using streamq::streams::partition_event;
using streamq::streams::partition_for_key;
using streamq::streams::partition_topic;
using streamq::streams::partitioned_consumer;
using streamq::streams::partitioned_consumer_config;
using streamq::streams::partitioned_publisher;
using streamq::streams::partitioned_publisher_config;
using streamq::streams::publisher;
using streamq::streams::set_partitions;
using streamq::streams::subscription_options;
using streamq::streams::topic_keys;
using streamq::test::order_with_id;
using streamq::test::read_topic;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::wait_until;
using namespace streamq::test::growth;

namespace {

// A key whose partition among `from` differs from its partition among `to`, and one whose
// partition stays, each with its partition among `from` equal to `old`.
std::string key_that(bool moves, std::uint32_t old, std::uint32_t from, std::uint32_t to) {
  for (int i = 0;; ++i) {
    const std::string key = "key-" + std::to_string(i);
    if (partition_for_key(key, from) == old &&
        (partition_for_key(key, to) != partition_for_key(key, from)) == moves)
      return key;
  }
}

}  // namespace

TEST_CASE("partition growth: 4 to 8 under load with a stale publisher keeps every key's order, loses nothing") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    const auto run = co_await grow_under_load(c, topic, 4, 8);
    MESSAGE("published " << run.published << " (" << run.after_growth
                         << " after the growth began), in new partitions " << run.in_new
                         << ", duplicates " << run.duplicates << ", drain waits reported "
                         << run.drain_waits);
    CHECK(run.violations == 0);
    CHECK(run.handled == static_cast<std::size_t>(run.published));  // lost 0
    CHECK(run.in_new > 0);
    // The publisher that never re-reads by its interval learned the new count from a
    // partition's refusal (then the topic's count, read again).
    CHECK(run.stale_count == 8);
    CHECK(run.consumer_failures == 0);
  });
}

TEST_CASE("partition growth: only to a multiple of the count, refused otherwise with nothing changed") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, 4);
    const auto six = co_await code_of([&] { return set_partitions(c, topic, 6); });
    CHECK(six == errc::invalid_argument);
    CHECK(co_await partition_count(c, topic) == 4);
    CHECK(co_await set_partitions(c, topic, 8) == 8);
    const auto twelve = co_await code_of([&] { return set_partitions(c, topic, 12); });
    CHECK(twelve == errc::invalid_argument);
    CHECK(co_await set_partitions(c, topic, 24) == 24);
    CHECK(co_await partition_count(c, topic) == 24);
    // A growth from 1 may go to any count.
    const auto other = topic + "x";
    co_await set_partitions(c, other, 1);
    CHECK(co_await set_partitions(c, other, 7) == 7);
  });
}

TEST_CASE("partition growth: a stale publisher's write goes to the key's new partition, which waits for the old one's drain") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, 2);
    publisher plain(c);
    partitioned_publisher stale(plain, refreshing_every(1h));
    const std::string moving = key_that(true, 0, 2, 4);
    const std::string staying = key_that(false, 0, 2, 4);
    const std::uint32_t old_p = partition_for_key(moving, 2);
    const std::uint32_t new_q = partition_for_key(moving, 4);
    REQUIRE(new_q == old_p + 2);
    co_await stale.publish(topic, order_with_id(moving + "/0"), with_key(moving));
    co_await stale.publish(topic, order_with_id(staying + "/0"), with_key(staying));
    CHECK(co_await set_partitions(c, topic, 4) == 4);
    // Still routed with 2: the old partition refuses, the publisher learns 4 and goes again.
    co_await stale.publish(topic, order_with_id(moving + "/1"), with_key(moving));
    co_await stale.publish(topic, order_with_id(staying + "/1"), with_key(staying));
    CHECK(co_await stale.partitions_of(topic) == 4);
    std::vector<std::string> in_old, in_new;
    for (const auto& e : co_await read_topic(c, partition_topic(topic, old_p)))
      in_old.push_back(e.order.id());
    for (const auto& e : co_await read_topic(c, partition_topic(topic, new_q)))
      in_new.push_back(e.order.id());
    CHECK(in_old == std::vector<std::string>{moving + "/0", staying + "/0", staying + "/1"});
    CHECK(in_new == std::vector<std::string>{moving + "/1"});
    CHECK(plain.stats().published == 4);
    CHECK(plain.stats().failed == 0);

    // moving/0 fails its first run and waits 300 ms for its retry: moving/1, in the new
    // partition, must not run before it succeeded.
    std::vector<std::string> done;
    int first_runs = 0;
    std::vector<partition_event> events;
    partitioned_consumer m(c, member("m", &events));
    subscription_options opts;
    opts.per_key_concurrency = 1;
    m.subscribe<streamq::test::Order>(
        topic,
        [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
          if (o.id() == moving + "/0" && ++first_runs == 1)
            throw std::runtime_error("the old partition's entry fails once");
          done.push_back(o.id());
          co_return;
        },
        opts);
    co_await run_until(m.run(), [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return done.size() == 4; }, 15s);
    }());
    const auto at = [&](const std::string& id) {
      return std::find(done.begin(), done.end(), id) - done.begin();
    };
    CHECK(at(moving + "/0") < at(moving + "/1"));
    CHECK(at(staying + "/0") < at(staying + "/1"));
    CHECK(first_runs == 2);
    // The new partition reported its wait, naming the old partition and its cut; the other new
    // partition (nothing of its old one pending) too, or not, depending on timing.
    const bool waited = std::any_of(events.begin(), events.end(), [&](const partition_event& e) {
      return e.what == partition_event::kind::waiting_for_drain && e.partition == new_q &&
             !e.code && e.detail.find("partition " + std::to_string(old_p)) != std::string::npos;
    });
    CHECK(waited);
  });
}

TEST_CASE("partition growth: a stale batch goes again only for the partitions that refused it, IDs in order") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, 2);
    publisher plain(c);
    partitioned_publisher stale(plain, refreshing_every(1h));
    CHECK(co_await stale.partitions_of(topic) == 2);
    CHECK(co_await set_partitions(c, topic, 4) == 4);
    // Keys of both old partitions, some staying, some moving; two messages each, in order.
    const std::vector<std::string> keys{key_that(true, 0, 2, 4), key_that(false, 0, 2, 4),
                                        key_that(true, 1, 2, 4), key_that(false, 1, 2, 4)};
    std::vector<streamq::v1::Envelope> batch;
    for (int n = 0; n < 2; ++n)
      for (const auto& k : keys)
        batch.push_back(streamq::streams::make_envelope(order_with_id(k + "/" + std::to_string(n)),
                                                        with_key(k)));
    const auto ids = co_await stale.publish_batch(topic, batch);
    REQUIRE(ids.size() == batch.size());
    // Every message is where the new count puts it, each key's two in order.
    std::map<std::string, std::string> id_of;
    for (std::uint32_t p = 0; p < 4; ++p)
      for (const auto& e : co_await read_topic(c, partition_topic(topic, p))) {
        CHECK(partition_for_key(e.envelope.partition_key(), 4) == p);
        id_of[e.order.id()] = e.id;
      }
    CHECK(id_of.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& k = keys[i % keys.size()];
      const std::string label = k + "/" + std::to_string(i / keys.size());
      CHECK(ids[i] == id_of[label]);
    }
    for (const auto& k : keys) CHECK(id_of[k + "/0"] < id_of[k + "/1"]);
    // Sequence numbers were taken once: one per message, none lost to the second round.
    std::set<std::uint64_t> sequences;
    for (std::uint32_t p = 0; p < 4; ++p)
      for (const auto& e : co_await read_topic(c, partition_topic(topic, p)))
        sequences.insert(e.envelope.sequence());
    CHECK(sequences.size() == batch.size());
    CHECK(*sequences.rbegin() - *sequences.begin() == batch.size() - 1);
    CHECK(plain.stats().published == batch.size());
    CHECK(plain.stats().failed == 0);
  });
}

TEST_CASE("partition growth: a partition whose count leads nowhere newer fails the publish with partitions_changed, nothing written") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, 2);
    publisher plain(c);
    partitioned_publisher pub(plain);
    // A partition claiming an older count than the topic's (no growth writes this): its
    // refusal names no newer count, so there is nowhere to route the message again.
    const std::string key = key_that(false, 0, 2, 4);
    {
      streamq::resp::request req;
      req.push("HSET", streamq::resp::key{topic_keys(partition_topic(topic, 0)).meta()},
               "partitions", "1");
      streamq::resp::generic_response reply;
      co_await c.async_exec(req, reply);
      REQUIRE_FALSE(reply.values().front().is_error());
    }
    const auto ec = co_await code_of([&] {
      return pub.publish(topic, order_with_id(key + "/0"), with_key(key));
    });
    CHECK(ec == errc::partitions_changed);
    CHECK(co_await streamq::test::topic_length(c, partition_topic(topic, 0)) == 0);
    CHECK(plain.stats().failed == 1);
    CHECK(plain.stats().published == 0);
  });
}

TEST_CASE("partition growth: a growth stopped midway refuses others, still routes by key, and a rerun completes it") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await set_partitions(c, topic, 4);
    publisher plain(c);
    partitioned_publisher pub(plain, refreshing_every(1h));
    const std::string moving = key_that(true, 0, 4, 8);  // partition 0, then 4
    const std::string untouched = key_that(true, 2, 4, 8);  // partition 2, then 6
    co_await pub.publish(topic, order_with_id(moving + "/0"), with_key(moving));
    co_await pub.publish(topic, order_with_id(untouched + "/0"), with_key(untouched));

    // The grower "crashes" after beginning the growth to 8 and cutting partitions 0 and 1.
    const topic_keys keys(topic);
    detail::partitions_set begun;
    const auto sent = co_await detail::send_script(
        c, [&](streamq::resp::request& r, bool s) { detail::build_set_partitions(r, s, keys, 8); },
        [&](const streamq::resp::value& v) { return detail::decode_set_partitions(v, begun); });
    REQUIRE(sent);
    CHECK(begun == detail::partitions_set{4, true});
    std::vector<std::string> first_cuts(2);
    for (std::uint32_t p = 0; p < 2; ++p) {
      const topic_keys partition(partition_topic(topic, p));
      const auto cut = co_await detail::send_script(
          c, [&](streamq::resp::request& r, bool s) {
            detail::build_cut_partition(r, s, partition, 4, 8);
          },
          [&](const streamq::resp::value& v) {
            return detail::decode_cut_partition(v, first_cuts[p]);
          });
      REQUIRE(cut);
    }
    CHECK(first_cuts[0] != "0-0");  // moving/0 is there
    CHECK(first_cuts[1] == "0-0");  // nothing was
    CHECK(co_await partition_count(c, topic) == 4);
    // An operator sees the unfinished growth and the count to complete it with.
    const auto midway = co_await streamq::streams::inspect_partitions(c, topic, "g");
    CHECK(midway.partitions == 4);
    CHECK(midway.growing == 8);
    // Another growth is refused until this one is completed.
    const auto other = co_await code_of([&] { return set_partitions(c, topic, 12); });
    CHECK(other == errc::invalid_argument);
    // Meanwhile a publisher routing with 4: the cut partition 0 sends `moving` on to 4; the
    // partition not cut yet still takes `untouched`.
    co_await pub.publish(topic, order_with_id(moving + "/1"), with_key(moving));
    co_await pub.publish(topic, order_with_id(untouched + "/1"), with_key(untouched));
    CHECK(co_await streamq::test::topic_length(c, partition_topic(topic, 4)) == 1);
    CHECK(co_await streamq::test::topic_length(c, partition_topic(topic, 2)) == 2);

    // The rerun completes it, with the cuts the first run recorded.
    CHECK(co_await set_partitions(c, topic, 8) == 8);
    CHECK(co_await partition_count(c, topic) == 8);
    for (std::uint32_t q = 4; q < 8; ++q) {
      std::optional<detail::growth_origin> origin;
      const auto read = co_await detail::send_command(
          c, [&](streamq::resp::request& r) { detail::build_growth_origin(r, keys, q); },
          [&](const streamq::resp::value& v) { return detail::decode_growth_origin(v, origin); });
      REQUIRE(read);
      REQUIRE(origin);
      CHECK(origin->partition == q % 4);
      if (q % 4 < 2) CHECK(origin->cut == first_cuts[q % 4]);
    }
    // Partitions created at the start had no growth to wait for.
    std::optional<detail::growth_origin> none;
    const auto read = co_await detail::send_command(
        c, [&](streamq::resp::request& r) { detail::build_growth_origin(r, keys, 3); },
        [&](const streamq::resp::value& v) { return detail::decode_growth_origin(v, none); });
    CHECK(read);
    CHECK_FALSE(none);
    // Running it once more changes nothing.
    CHECK(co_await set_partitions(c, topic, 8) == 8);
    const auto after = co_await streamq::streams::inspect_partitions(c, topic, "g");
    CHECK(after.partitions == 8);
    CHECK(after.growing == 0);

    // Everything is consumed, each key in order.
    ledger book;
    partitioned_consumer m(c, member("m"));
    subscription_options opts;
    opts.per_key_concurrency = 1;
    m.subscribe<streamq::test::Order>(
        topic,
        [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
          book.saw(o.id());
          co_return;
        },
        opts);
    co_await run_until(m.run(), [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return book.handled() == 4; }, 15s);
    }());
    CHECK(book.violations == 0);
  });
}

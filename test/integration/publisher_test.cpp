// What a publish refuses before writing (strings that are not UTF-8, named, with libprotobuf
// silent), what publish_batch keeps of its all-or-none promise when Redis fails inside the
// batch, and the producer ID every numbered envelope carries.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stderr_capture.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/system/system_error.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::envelope_options;
using streamq::streams::errc;
using streamq::streams::publisher;
using streamq::streams::publisher_config;
using streamq::streams::topic_keys;
using streamq::test::keyed;
using streamq::test::order_with_id;
using streamq::test::redis_server;

namespace {

// How a call failed: its code and what(); a clear code if it did not.
struct failure {
  boost::system::error_code code;
  std::string what;
};

template <class T>
asio::awaitable<failure> failure_of(std::function<asio::awaitable<T>()> call) {
  try {
    co_await call();
  } catch (const boost::system::system_error& e) {
    co_return failure{e.code(), e.what()};
  }
  co_return failure{};
}

// Every key of the topic that exists ("streamq:{topic}:*").
std::string keys_of(const redis_server& server, const std::string& topic) {
  return server.command({"KEYS", "streamq:{" + topic + "}:*"});
}

}  // namespace

TEST_CASE("a string that is not UTF-8 is refused at publish, named, nothing written or printed") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::stderr_capture err;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    const std::string bad = "caf\xc3(";
    auto refused = [&](const envelope_options& options) {
      return failure_of<std::string>(
          [&] { return pub.publish(topic, order_with_id("o"), options); });
    };
    envelope_options header;
    header.headers = {{"tenant", bad}};
    auto f = co_await refused(header);
    CHECK(f.code == errc::invalid_utf8);
    CHECK(f.what.find("headers[\"tenant\"] value") != std::string::npos);
    f = co_await refused(keyed(bad));  // the deduplicating path (a script) refuses it alike
    CHECK(f.code == errc::invalid_utf8);
    CHECK(f.what.find("idempotency_key") != std::string::npos);
    envelope_options partition;
    partition.partition_key = bad;
    f = co_await refused(partition);
    CHECK(f.what.find("partition_key") != std::string::npos);
    // An envelope given whole, numbered by someone else with a bad producer ID.
    auto envelope = streamq::streams::make_envelope(order_with_id("o"));
    envelope.set_sequence(7);
    envelope.set_producer_id(bad);
    f = co_await failure_of<std::string>([&] { return pub.publish_envelope(topic, envelope); });
    CHECK(f.what.find("producer_id") != std::string::npos);
    // One bad envelope refuses its whole batch.
    std::vector<streamq::v1::Envelope> batch{
        streamq::streams::make_envelope(order_with_id("a")),
        streamq::streams::make_envelope(order_with_id("b"), header),
        streamq::streams::make_envelope(order_with_id("c"))};
    f = co_await failure_of<std::vector<std::string>>(
        [&] { return pub.publish_batch(topic, batch); });
    CHECK(f.code == errc::invalid_utf8);
    CHECK(f.what.find("batch entry 1") != std::string::npos);
    CHECK(pub.stats().failed == 4 + batch.size());
    // The scheduler's delayed publish encodes through the same check.
    streamq::streams::scheduler sched(c, streamq::streams::scheduler_config{});
    f = co_await failure_of<std::string>(
        [&] { return sched.publish_in(topic, order_with_id("later"), 1s, header); });
    CHECK(f.code == errc::invalid_utf8);
    CHECK(f.what.find("headers[\"tenant\"] value") != std::string::npos);
    CHECK(keys_of(server, topic) == "*0\r\n");

    // Nothing was numbered for the refusals: the first publish that passes is sequence 1.
    co_await pub.publish(topic, order_with_id("good"));
    const auto entries = co_await streamq::test::read_topic(c, topic);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].envelope.sequence() == 1);

    // A foreign writer's entry with such bytes is malformed for a reader, quietly.
    auto spoiled =
        streamq::streams::encode_entry(streamq::streams::make_envelope(order_with_id("x")));
    const auto at = spoiled[3].find("streamq.test.Order");
    REQUIRE(at != std::string::npos);
    spoiled[3][at] = '\xff';  // inside `type`
    CHECK(server.command({"XADD", topic_keys(topic).stream(), "*", "v", "1", "e", spoiled[3]})
              .rfind("$", 0) == 0);
    streamq::resp::request range;
    range.push("XRANGE", streamq::resp::key{topic_keys(topic).stream()}, "-", "+");
    streamq::resp::response<std::vector<std::pair<std::string, std::vector<std::string>>>> all;
    co_await c.async_exec(range, all);
    REQUIRE(all.get<0>().has_value());
    REQUIRE(all.get<0>().value().size() == 2);
    streamq::v1::Envelope decoded;
    CHECK(streamq::streams::decode_entry(all.get<0>().value()[1].second, decoded) ==
          errc::malformed_entry);
  });
  CHECK(err.text() == "");
}

TEST_CASE("publish_batch adds all or nothing when Redis fails inside the batch") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    std::vector<streamq::v1::Envelope> batch{
        streamq::streams::make_envelope(order_with_id("a")),
        streamq::streams::make_envelope(order_with_id("b"), keyed("k")),
        streamq::streams::make_envelope(order_with_id("c"))};
    auto publish_batch = [&](const std::vector<streamq::v1::Envelope>& envelopes) {
      return failure_of<std::vector<std::string>>(
          [&] { return pub.publish_batch(topic, envelopes); });
    };
    // The second entry's dedup key holds a hash: WRONGTYPE after the first XADD would have
    // run, had it not been checked first.
    CHECK(server.command({"HSET", keys.dedup("k"), "f", "v"}) == ":1\r\n");
    auto f = co_await publish_batch(batch);
    CHECK(f.code == streamq::resp::server_errc::wrongtype);
    CHECK(server.command({"EXISTS", keys.stream()}) == ":0\r\n");
    CHECK(pub.stats().failed == 3);

    // Fixed, the same batch lands whole, in order, numbered consecutively (the numbers of the
    // refused batch stay unused: a gap the producer was told about); its key then suppresses
    // the same entry in a later batch.
    CHECK(server.command({"DEL", keys.dedup("k")}) == ":1\r\n");
    const auto ids = co_await pub.publish_batch(topic, batch);
    REQUIRE(ids.size() == 3);
    auto entries = co_await streamq::test::read_topic(c, topic);
    REQUIRE(entries.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(entries[i].id == ids[i]);
      CHECK(entries[i].envelope.sequence() == entries[0].envelope.sequence() + i);
      CHECK(entries[i].envelope.producer_id() == pub.producer_id());
    }
    CHECK(entries[1].order.id() == "b");
    std::vector<streamq::v1::Envelope> again{
        streamq::streams::make_envelope(order_with_id("d"), keyed("k")),
        streamq::streams::make_envelope(order_with_id("e"))};
    const auto later = co_await pub.publish_batch(topic, again);
    CHECK(later[0] == ids[1]);
    CHECK(co_await streamq::test::topic_length(c, topic) == 4);
    // Within one batch, the second use of a key gets the first one's ID.
    std::vector<streamq::v1::Envelope> twice{
        streamq::streams::make_envelope(order_with_id("i"), keyed("k-again")),
        streamq::streams::make_envelope(order_with_id("j"), keyed("k-again"))};
    const auto same = co_await pub.publish_batch(topic, twice);
    CHECK(same[0] == same[1]);
    CHECK(co_await streamq::test::topic_length(c, topic) == 5);
    CHECK(pub.stats().duplicates == 2);

    // The stream's IDs run out after an explicit ID in the last millisecond: with room for
    // one more, a batch of two adds neither; one fits, then none.
    const std::string top = "18446744073709551615";
    CHECK(server.command({"XADD", keys.stream(), top + "-18446744073709551614", "v", "1"})
              .rfind("$", 0) == 0);
    const std::vector<streamq::v1::Envelope> two{
        streamq::streams::make_envelope(order_with_id("f")),
        streamq::streams::make_envelope(order_with_id("g"))};
    f = co_await publish_batch(two);
    CHECK(f.code == streamq::resp::server_errc::generic);
    CHECK(f.what.find("exhausted") != std::string::npos);
    CHECK(co_await streamq::test::topic_length(c, topic) == 6);
    const std::vector<streamq::v1::Envelope> one{
        streamq::streams::make_envelope(order_with_id("h"))};
    CHECK((co_await pub.publish_batch(topic, one))[0] == top + "-" + top);
    CHECK(co_await streamq::test::topic_length(c, topic) == 7);
    f = co_await publish_batch(one);
    CHECK(f.what.find("exhausted") != std::string::npos);
    CHECK(co_await streamq::test::topic_length(c, topic) == 7);

    // A stream key of another type: refused, nothing else written (no dedup key either).
    const auto other = topic + "-other";
    CHECK(server.command({"SET", topic_keys(other).stream(), "x"}) == "+OK\r\n");
    f = co_await failure_of<std::vector<std::string>>(
        [&] { return pub.publish_batch(other, batch); });
    CHECK(f.code == streamq::resp::server_errc::wrongtype);
    CHECK(server.command({"EXISTS", topic_keys(other).dedup("k")}) == ":0\r\n");
  });
}

TEST_CASE("publish_batch under maxmemory is refused whole") {
  redis_server::options options;
  options.extra_args = {"--maxmemory-policy", "noeviction"};
  redis_server server(options);
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    const std::vector<streamq::v1::Envelope> batch{
        streamq::streams::make_envelope(order_with_id("a")),
        streamq::streams::make_envelope(order_with_id("b"), keyed("k"))};
    CHECK(server.command({"CONFIG", "SET", "maxmemory", "1"}) == "+OK\r\n");
    const auto f = co_await failure_of<std::vector<std::string>>(
        [&] { return pub.publish_batch(topic, batch); });
    CHECK(f.code == streamq::resp::server_errc::oom);
    CHECK(server.command({"CONFIG", "SET", "maxmemory", "0"}) == "+OK\r\n");
    CHECK(keys_of(server, topic) == "*0\r\n");
    CHECK((co_await pub.publish_batch(topic, batch)).size() == 2);
  });
}

TEST_CASE("every publisher numbers its envelopes under a producer ID of its own") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher first(c);
    publisher second(c);
    publisher_config config;
    config.producer_id = "billing-7";
    publisher named(c, config);
    CHECK(first.producer_id() != second.producer_id());
    CHECK(named.producer_id() == "billing-7");
    CHECK(named.config().producer_id == "billing-7");
    for (int i = 0; i < 2; ++i) {
      co_await first.publish(topic, order_with_id("first"));
      co_await second.publish(topic, order_with_id("second"));
      co_await named.publish(topic, order_with_id("named"));
    }
    // An envelope numbered elsewhere keeps its number and producer.
    auto carried = streamq::streams::make_envelope(order_with_id("carried"));
    carried.set_sequence(41);
    carried.set_producer_id("origin");
    co_await first.publish_envelope(topic, carried);
    const auto entries = co_await streamq::test::read_topic(c, topic);
    REQUIRE(entries.size() == 7);
    std::map<std::string, std::vector<std::uint64_t>> sequences;
    for (const auto& e : entries)
      sequences[e.envelope.producer_id()].push_back(e.envelope.sequence());
    using numbers = std::vector<std::uint64_t>;
    CHECK(sequences[first.producer_id()] == numbers{1, 2});
    CHECK(sequences[second.producer_id()] == numbers{1, 2});
    CHECK(sequences["billing-7"] == numbers{1, 2});
    CHECK(sequences["origin"] == numbers{41});
    CHECK(sequences.size() == 4);
  });
  CHECK_THROWS_WITH_AS(
      [&] {
        asio::io_context io;
        client c(io.get_executor(), server.url());
        publisher_config config;
        config.producer_id = "two words";
        publisher bad(c, config);
      }(),
      doctest::Contains("producer_id"), std::invalid_argument);
}

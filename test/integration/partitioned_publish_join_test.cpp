// partitioned_publisher's joined publishes against redis-server: single publishes to one
// partition that start together go out as one script call (partitioned_publisher.cpp), and
// each still gets the ID of its own entry, in its own partition, with its own sequence number;
// publishes that start while a call to their partition is in flight wait for it and go
// together in the next (a group commit); a publish cancelled while joined reports
// publish_indeterminate and its entry may land.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::partition_topic;
using streamq::test::order_with_id;
using streamq::test::redis_server;
using streamq::test::wait_until;

namespace {
long evalsha_calls(redis_server& server) {
  const auto info = server.command({"INFO", "commandstats"});
  const auto at = info.find("cmdstat_evalsha:calls=");
  if (at == std::string::npos) return 0;
  return std::stol(info.substr(at + std::string("cmdstat_evalsha:calls=").size()));
}
}  // namespace

TEST_CASE("partitioned publisher: publishes started together share a script call, each with its own entry's ID") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr int publishes = 300;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::streams::set_partitions(c, topic, 2);
    streamq::streams::publisher plain(c);
    streamq::streams::partitioned_publisher pub(plain);
    co_await pub.publish(topic, order_with_id("warm-up"));  // the count read and the script loaded
    const long calls_before = evalsha_calls(server);
    std::map<std::string, std::string> returned;  // order id -> the ID its publish returned
    int done = 0;
    const auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < publishes; ++i) {
      asio::co_spawn(
          ex,
          [&, i]() -> asio::awaitable<void> {
            const std::string id = "o" + std::to_string(i);
            streamq::streams::envelope_options keyed;
            keyed.partition_key = "k" + std::to_string(i % 10);
            returned[id] = co_await pub.publish(topic, order_with_id(id), keyed);
            ++done;
          },
          asio::detached);
    }
    co_await wait_until([&] { return done == publishes; }, 10s);
    const long calls = evalsha_calls(server) - calls_before;
    MESSAGE(publishes << " publishes in " << calls << " script calls");
    CHECK(calls < publishes);  // joined
    CHECK(plain.stats().published == publishes + 1);
    // Every entry is where its key sends it, under the ID its own publish returned.
    std::set<std::uint64_t> sequences;
    int found = 0;
    for (std::uint32_t p = 0; p < 2; ++p) {
      for (const auto& e : co_await streamq::test::read_topic(c, partition_topic(topic, p))) {
        if (e.order.id() == "warm-up") continue;
        ++found;
        CAPTURE(e.order.id());
        CHECK(returned.at(e.order.id()) == e.id);
        CHECK(streamq::streams::partition_for_key(e.envelope.partition_key(), 2) == p);
        sequences.insert(e.envelope.sequence());
      }
    }
    CHECK(found == publishes);
    CHECK(sequences.size() == publishes);  // numbered once each
  });
}

TEST_CASE("partitioned publisher: a publish cancelled while joined reports publish_indeterminate, and its leader still writes it") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::streams::set_partitions(c, topic, 2);
    streamq::streams::publisher plain(c);
    streamq::streams::partitioned_publisher pub(plain);
    co_await pub.publish(topic, order_with_id("warm-up"));
    streamq::streams::envelope_options keyed;
    keyed.partition_key = "same";
    const auto ex = co_await asio::this_coro::executor;
    bool leader_done = false, follower_done = false;
    std::error_code follower_error;
    asio::cancellation_signal cancel;
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          co_await pub.publish(topic, order_with_id("leader"), keyed);
          leader_done = true;
        },
        asio::detached);
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          try {
            co_await pub.publish(topic, order_with_id("follower"), keyed);
          } catch (const boost::system::system_error& e) {
            follower_error = e.code();
          }
          follower_done = true;
        },
        asio::bind_cancellation_slot(cancel.slot(), asio::detached));
    // Both have started (the follower waits on its leader's call): cancel the follower.
    co_await asio::post(ex, asio::use_awaitable);
    cancel.emit(asio::cancellation_type::terminal);
    co_await wait_until([&] { return leader_done && follower_done; }, 10s);
    CHECK(follower_error == make_error_code(streamq::streams::errc::publish_indeterminate));
    std::set<std::string> landed;
    for (std::uint32_t p = 0; p < 2; ++p)
      for (const auto& e : co_await streamq::test::read_topic(c, partition_topic(topic, p)))
        landed.insert(e.order.id());
    CHECK(landed.count("leader") == 1);
    CHECK(landed.count("follower") == 1);  // written with its leader's call
  });
}

namespace {

// Publishes `ids` to `topic` under one key (one partition), the first at once and each next
// `gap` after the one before, while the server holds writes for `pause` (CLIENT PAUSE WRITE):
// the first call stays in flight while the others start. Those listed in `cancelled` are
// cancelled 50 ms after they start. Returns, per id, the error its publish ended with.
asio::awaitable<std::map<std::string, std::error_code>> publish_during_pause(
    redis_server& server, streamq::streams::partitioned_publisher& pub,
    const std::string& topic, std::vector<std::string> ids, std::set<std::string> cancelled) {
  const auto ex = co_await asio::this_coro::executor;
  std::map<std::string, std::error_code> errors;
  std::size_t done = 0;
  std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
  CHECK(server.command({"CLIENT", "PAUSE", "400", "WRITE"}) == "+OK\r\n");
  for (const auto& id : ids) {
    signals.push_back(std::make_unique<asio::cancellation_signal>());
    asio::co_spawn(
        ex,
        [&, id]() -> asio::awaitable<void> {
          streamq::streams::envelope_options keyed;
          keyed.partition_key = "same";
          try {
            co_await pub.publish(topic, order_with_id(id), keyed);
            errors[id] = {};
          } catch (const boost::system::system_error& e) {
            errors[id] = e.code();
          }
          ++done;
        },
        asio::bind_cancellation_slot(signals.back()->slot(), asio::detached));
    if (cancelled.contains(id)) {
      co_await streamq::test::sleep_for(50ms);
      signals.back()->emit(asio::cancellation_type::terminal);
    } else {
      co_await streamq::test::sleep_for(30ms);
    }
  }
  co_await wait_until([&] { return done == ids.size(); }, 10s);
  co_return errors;
}

// The order ids of a one-partition topic's entries, in stream order.
asio::awaitable<std::vector<std::string>> landed_in_order(client& c, const std::string& topic) {
  std::vector<std::string> out;
  for (std::uint32_t p = 0; p < 2; ++p)
    for (const auto& e : co_await streamq::test::read_topic(c, partition_topic(topic, p)))
      if (e.order.id() != "warm-up") out.push_back(e.order.id());
  co_return out;
}

// What the group-commit cases share: a 2-partition topic, a partitioned publisher warmed up
// (the count read, the script loaded), and the EVALSHA count after that.
struct warm_publisher {
  client& c;
  redis_server& server;
  streamq::streams::publisher& plain;
  streamq::streams::partitioned_publisher& pub;
  const std::string& topic;
  long calls_before;
};

void with_warm_publisher(const std::function<asio::awaitable<void>(warm_publisher&)>& body) {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::streams::set_partitions(c, topic, 2);
    streamq::streams::publisher plain(c);
    streamq::streams::partitioned_publisher pub(plain);
    co_await pub.publish(topic, order_with_id("warm-up"));
    warm_publisher w{c, server, plain, pub, topic, evalsha_calls(server)};
    co_await body(w);
  });
}

}  // namespace

TEST_CASE("partitioned publisher: publishes started while their partition's call is in flight wait and share the next call") {
  with_warm_publisher([](warm_publisher& w) -> asio::awaitable<void> {
    // "a" goes at once and waits in Redis; "b", "c" and "d" start 30 ms apart meanwhile, each
    // in a turn of its own: one call for the three once "a"'s is answered.
    // (Named, not braced in the co_await: GCC 12.)
    const std::vector<std::string> ids{"a", "b", "c", "d"};
    const auto errors = co_await publish_during_pause(w.server, w.pub, w.topic, ids, {});
    for (const auto& [id, ec] : errors) {
      INFO(id);
      CHECK_FALSE(ec);
    }
    CHECK(evalsha_calls(w.server) - w.calls_before == 2);
    CHECK(co_await landed_in_order(w.c, w.topic) == ids);
    CHECK(w.plain.stats().published == 5);
  });
}

TEST_CASE("partitioned publisher: when every publish waiting for the next call was cancelled, the leader still sends them") {
  with_warm_publisher([](warm_publisher& w) -> asio::awaitable<void> {
    // "b" and "c" wait for "a"'s call and are cancelled meanwhile: none of them can lead the
    // next call, so "a"'s publish sends it before it returns.
    const std::vector<std::string> ids{"a", "b", "c"};
    const std::set<std::string> cancelled{"b", "c"};
    const auto errors = co_await publish_during_pause(w.server, w.pub, w.topic, ids, cancelled);
    CHECK_FALSE(errors.at("a"));
    const auto indeterminate = make_error_code(streamq::streams::errc::publish_indeterminate);
    CHECK(errors.at("b") == indeterminate);
    CHECK(errors.at("c") == indeterminate);
    CHECK(evalsha_calls(w.server) - w.calls_before == 2);
    CHECK(co_await landed_in_order(w.c, w.topic) == ids);
    // Then the partition is free again: the next publish leads a call of its own at once.
    co_await w.pub.publish(w.topic, order_with_id("e"));
    CHECK(evalsha_calls(w.server) - w.calls_before == 3);
  });
}

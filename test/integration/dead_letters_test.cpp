// The dead-letter API (list, get, count, requeue, purge) against a real redis-server, with
// dead letters written by a real consumer.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/errc.hpp>

#include <cctype>
#include <map>
#include <set>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::dead_letter_entry;
using streamq::streams::dead_letters;
using streamq::streams::errc;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::sleep_for;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view group = "billing";

asio::awaitable<void> wait_until(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!done() && std::chrono::steady_clock::now() < until) co_await sleep_for(10ms);
  REQUIRE(done());
}

// What the consumer of a test saw: order ID -> attempts it was handled with.
using handled_map = std::map<std::string, std::vector<std::uint32_t>>;

// Runs a consumer of group `billing` on `topic` until `done` holds, then stops it. While
// `failing`, order-1 fails retryably (dead-lettered after 2 attempts) and order-3 and
// order-5 fail permanently; everything else succeeds.
asio::awaitable<void> consume(client& c, const std::string& topic, bool failing,
                              handled_map& handled, std::function<bool(const consumer&)> done) {
  consumer_config config{.group = std::string(group), .name = "c1"};
  config.retry = {.max_attempts = 2, .base = 10ms, .cap = 20ms, .jitter = 0};
  consumer cons(c, config);
  cons.subscribe<Order>(topic, [&](const Order& o, message_context& ctx) -> asio::awaitable<void> {
    handled[o.id()].push_back(ctx.attempt);
    if (failing && o.id() == "order-1") throw std::runtime_error("downstream down");
    if (failing && (o.id() == "order-3" || o.id() == "order-5"))
      throw boost::system::system_error(errc::permanent_failure, "invalid order");
    co_return;
  });
  std::exception_ptr failure;
  auto until_done = [&]() -> asio::awaitable<void> {
    try {
      co_await wait_until([&] { return done(cons); });
    } catch (...) {
      failure = std::current_exception();
    }
  };
  co_await (cons.run() || until_done());
  if (failure) std::rethrow_exception(failure);
}

Order order(int i) {
  Order o;
  o.set_id("order-" + std::to_string(i));
  o.set_amount_cents(100 + i);
  return o;
}

asio::awaitable<void> xadd(client& c, const std::string& stream, std::vector<std::string> fields) {
  request req;
  req.push("XADD", key{stream}, "*", fields);
  streamq::resp::generic_response reply;
  co_await c.async_exec(req, reply);
  REQUIRE_FALSE(reply.values().front().is_error());
}

// The entries of `stream`, as flat field lists.
asio::awaitable<std::vector<std::vector<std::string>>> stream_entries(client& c,
                                                                      const std::string& stream) {
  request req;
  req.push("XRANGE", key{stream}, "-", "+");
  streamq::resp::generic_response reply;
  co_await c.async_exec(req, reply);
  std::vector<std::vector<std::string>> out;
  for (const auto& e : reply.values().front().elements) {
    std::vector<std::string> f;
    for (const auto& x : e.elements[1].elements) f.push_back(x.text);
    out.push_back(std::move(f));
  }
  co_return out;
}

std::string order_id_of(const dead_letter_entry& e) {
  Order o;
  if (!e.letter.has_envelope() || !o.ParseFromString(e.letter.envelope().payload())) return {};
  return o.id();
}

// Publishes order-0..order-5 and a foreign entry {x: y}, and consumes them while failing:
// four dead letters (order-1 after 2 attempts, order-3, order-5, the foreign entry).
asio::awaitable<void> make_dead_letters(client& c, const std::string& topic) {
  publisher pub(c);
  for (int i = 0; i < 6; ++i) co_await pub.publish(topic, order(i));
  const std::vector<std::string> foreign{"x", "y"};  // (GCC 12: no braced lists in co_await)
  co_await xadd(c, streamq::streams::topic_keys(topic).stream(), foreign);
  handled_map handled;
  co_await consume(c, topic, true, handled, [](const consumer& cons) {
    return cons.stats().dead_lettered == 4 && cons.stats().acked == 3;
  });
}

bool is_not_found(const boost::system::system_error& e) {
  return e.code() == boost::system::errc::no_such_file_or_directory;
}
}  // namespace

TEST_CASE("dead letters are listed, inspected, counted and purged") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await make_dead_letters(c, topic);
    dead_letters dl(c, topic, group);
    CHECK(dl.key() == "streamq:{" + topic + "}:dead:billing");
    CHECK(co_await dl.count() == 4);

    // An entry that is no dead letter (a newer format): listed and flagged, not skipped.
    const std::vector<std::string> future{"v", "2", "d", "future"};
    co_await xadd(c, dl.key(), future);
    const auto all = co_await dl.list();
    REQUIRE(all.size() == 5);
    std::map<std::string, const dead_letter_entry*> by_order;
    for (const auto& e : all) {
      if (!e.decoded) continue;
      by_order[order_id_of(e)] = &e;
      CHECK(e.letter.topic() == topic);
      CHECK(e.letter.group() == group);
      CHECK(e.letter.consumer() == "c1");
      CHECK(e.letter.dead_lettered_at_unix_ms() > 0);
    }
    REQUIRE(by_order.size() == 4);
    REQUIRE(by_order.contains("order-1"));
    REQUIRE(by_order.contains("order-3"));
    REQUIRE(by_order.contains(""));  // the foreign entry
    CHECK(by_order["order-1"]->letter.error_code() == "streamq.streams:9");
    // A retry keeps the entry (and its envelope); the letter counts the runs.
    CHECK(by_order["order-1"]->letter.envelope().attempt() == 0);
    CHECK(by_order["order-1"]->letter.attempts() == 2);
    CHECK(by_order["order-3"]->letter.error_code() == "streamq.streams:10");
    CHECK(by_order["order-3"]->letter.last_error().find("invalid order") != std::string::npos);
    const auto& raw = by_order[""]->letter;
    CHECK(raw.error_code() == "streamq.streams:5");
    REQUIRE(raw.raw_fields_size() == 1);
    CHECK(raw.raw_fields(0).name() == "x");
    CHECK(raw.raw_fields(0).value() == "y");
    const auto& bad = all.back();
    CHECK_FALSE(bad.decoded);
    CHECK(bad.error == errc::unknown_envelope_version);
    CHECK(bad.letter.ByteSizeLong() == 0);

    // Paging.
    const auto first_two = co_await dl.list(2);
    REQUIRE(first_two.size() == 2);
    CHECK(first_two[1].id == all[1].id);
    const auto rest = co_await dl.list(100, first_two[1].id);
    REQUIRE(rest.size() == 3);
    CHECK(rest[0].id == all[2].id);

    // get.
    const auto got = co_await dl.get(all[2].id);
    REQUIRE(got.has_value());
    CHECK(got->decoded == all[2].decoded);
    CHECK(got->letter.SerializeAsString() == all[2].letter.SerializeAsString());
    CHECK_FALSE((co_await dl.get("1-1")).has_value());

    // A malformed entry cannot be requeued, but can be purged.
    bool refused = false;
    try {
      co_await dl.requeue(bad.id);
    } catch (const boost::system::system_error& e) {
      refused = e.code() == errc::malformed_entry;
    }
    CHECK(refused);
    CHECK(co_await dl.purge(bad.id));
    CHECK_FALSE(co_await dl.purge(bad.id));
    CHECK(co_await dl.count() == 4);
    CHECK_FALSE((co_await dl.get(bad.id)).has_value());

    CHECK(co_await dl.purge_all() == 4);
    CHECK(co_await dl.count() == 0);
    CHECK((co_await dl.list()).empty());
    CHECK(co_await dl.purge_all() == 0);
  });
}

TEST_CASE("requeued dead letters are handled again with attempt 0 and leave the dead letters") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto stream = streamq::streams::topic_keys(topic).stream();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await make_dead_letters(c, topic);
    dead_letters dl(c, topic, group);
    auto all = co_await dl.list();
    REQUIRE(all.size() == 4);
    std::map<std::string, std::string> id_of;  // order ID -> dead letter ID
    for (const auto& e : all) id_of[order_id_of(e)] = e.id;
    REQUIRE(id_of.size() == 4);

    // A missing ID fails, and changes nothing.
    bool not_found = false;
    try {
      co_await dl.requeue("1-1");
    } catch (const boost::system::system_error& e) {
      not_found = is_not_found(e);
    }
    CHECK(not_found);

    // One: order-1 (dead-lettered at attempt 1) comes back to the group under its own entry
    // ID, with attempt 0, and succeeds. Nothing is added to the stream.
    const auto entries_before = (co_await stream_entries(c, stream)).size();
    const auto letter_1 = co_await dl.get(id_of["order-1"]);
    const auto entry_id = co_await dl.requeue(id_of["order-1"]);
    CHECK(entry_id == letter_1->letter.original_entry_id());
    CHECK(co_await dl.count() == 3);
    CHECK_FALSE((co_await dl.get(id_of["order-1"])).has_value());
    CHECK((co_await stream_entries(c, stream)).size() == entries_before);
    not_found = false;
    try {
      co_await dl.requeue(id_of["order-1"]);  // already requeued
    } catch (const boost::system::system_error& e) {
      not_found = is_not_found(e);
    }
    CHECK(not_found);
    handled_map handled;
    co_await consume(c, topic, false, handled,
                     [](const consumer& cons) { return cons.stats().acked == 1; });
    REQUIRE(handled.size() == 1);
    REQUIRE(handled.contains("order-1"));
    CHECK(handled["order-1"] == std::vector<std::uint32_t>{0});
    CHECK(co_await dl.count() == 3);

    // The foreign entry is republished: a new entry with its fields unchanged.
    CHECK_FALSE((co_await dl.republish(id_of[""])).empty());
    const auto entries = co_await stream_entries(c, stream);
    const std::vector<std::string> foreign{"x", "y"};
    CHECK(entries.back() == foreign);
    CHECK(entries.size() == entries_before + 1);
    CHECK(co_await dl.count() == 2);

    // A range (order-3 and order-5 are left), then all of what is left.
    all = co_await dl.list();
    REQUIRE(all.size() == 2);
    CHECK(co_await dl.requeue_range("-", "+", 1) == 1);
    CHECK(co_await dl.count() == 1);
    CHECK((co_await dl.list()).front().id == all[1].id);
    CHECK(co_await dl.requeue_all() == 1);
    CHECK(co_await dl.count() == 0);
    CHECK(co_await dl.requeue_all() == 0);

    // order-3 and order-5 are handled once more, now successfully; the foreign entry
    // is dead-lettered again.
    handled.clear();
    co_await consume(c, topic, false, handled, [](const consumer& cons) {
      return cons.stats().acked == 2 && cons.stats().dead_lettered == 1;
    });
    CHECK(handled.size() == 2);
    CHECK(handled.contains("order-3"));
    CHECK(handled.contains("order-5"));
    for (const auto& [id, attempts] : handled) {
      CAPTURE(id);
      CAPTURE(attempts.size());
      CAPTURE(attempts.empty() ? 99 : attempts[0]);
      CHECK(attempts == std::vector<std::uint32_t>{0});
    }
    CHECK(co_await dl.count() == 1);
  });
}

TEST_CASE("requeue_range moves large ranges in batches and leaves letters whose entry is gone") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto stream = streamq::streams::topic_keys(topic).stream();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    dead_letters dl(c, topic, group);
    constexpr int n = 250;  // more than two batches
    {
      request req;
      req.push("XGROUP", "CREATE", key{stream}, group, "0", "MKSTREAM");
      response<std::string> created;
      co_await c.async_exec(req, created);
    }
    publisher pub(c);
    for (int i = 0; i < n; ++i) {
      // A wave-1 style letter (attempt 4 in its envelope) of an entry still in the stream.
      const auto entry_id = co_await pub.publish(topic, order(i));
      streamq::v1::DeadLetter letter;
      letter.set_topic(topic);
      letter.set_group(std::string(group));
      letter.set_original_entry_id(entry_id);
      *letter.mutable_envelope() = streamq::streams::make_envelope(order(i));
      letter.mutable_envelope()->set_attempt(4);
      auto f = streamq::streams::encode_dead_letter(letter);
      co_await xadd(c, dl.key(), std::vector<std::string>(f.begin(), f.end()));
    }
    const auto listed = co_await dl.list(n);
    REQUIRE(listed.size() == n);
    CHECK(co_await dl.requeue_range(listed[10].id, listed[19].id) == 10);
    CHECK_FALSE((co_await dl.get(listed[10].id)).has_value());
    CHECK((co_await dl.get(listed[9].id)).has_value());
    CHECK((co_await dl.get(listed[20].id)).has_value());
    CHECK(co_await dl.requeue_range("-", "+", 120) == 120);
    CHECK(co_await dl.count() == n - 130);
    // A letter whose entry was trimmed is refused by requeue (entry_gone) and left in place.
    const auto last = co_await dl.list(1, listed[n - 2].id);
    REQUIRE(last.size() == 1);
    {
      request req;
      req.push("XDEL", key{stream}, last[0].letter.original_entry_id());
      response<std::int64_t> deleted;
      co_await c.async_exec(req, deleted);
      CHECK(deleted.get<0>().value() == 1);
    }
    bool gone = false;
    try {
      co_await dl.requeue(last[0].id);
    } catch (const boost::system::system_error& e) {
      gone = e.code() == errc::entry_gone;
    }
    CHECK(gone);
    CHECK(co_await dl.requeue_all() == n - 131);
    CHECK(co_await dl.count() == 1);
    // Every requeued entry is pending in the group again, due for a retry now; nothing was
    // added to the stream.
    const auto entries = co_await stream_entries(c, stream);
    CHECK(entries.size() == n - 1);
    CHECK(co_await streamq::test::pending_count(c, topic, std::string(group)) == n - 1);
    request zcard;
    zcard.push("ZCARD", key{streamq::streams::topic_keys(topic).retries(group)});
    response<std::int64_t> retries;
    co_await c.async_exec(zcard, retries);
    CHECK(retries.get<0>().value() == n - 1);
  });
}

TEST_CASE("dead_letters refuses invalid names") {
  redis_server server;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    CHECK_THROWS_AS(dead_letters(c, "a b", "g"), std::invalid_argument);
    CHECK_THROWS_AS(dead_letters(c, "t", "g:x"), std::invalid_argument);
    co_return;
  });
}

// Redis out of memory (maxmemory below what it uses, noeviction): publishes fail with a typed
// OOM error and add nothing, scripts are all-or-nothing, consuming and acknowledging go on, and
// nothing published before is lost.
#include "support/async_test.hpp"
#include "support/ledger.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>

#include <cstdint>
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
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::streams::topic_keys;
using streamq::test::ledger;
using streamq::test::ledger_scope;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::wait_until;

namespace {

Order order(std::uint64_t seq) {
  Order o;
  o.set_id(ledger::label(seq));
  o.add_items(std::string(2000, 'x'));  // memory that counts
  return o;
}

// The error a failing call threw, or none.
template <class Call>
asio::awaitable<boost::system::error_code> refusal_of(Call call) {
  try {
    co_await call();
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
  co_return boost::system::error_code();
}

const boost::system::error_code oom(make_error_code(streamq::resp::server_errc::oom));

asio::awaitable<void> config_set(client& c, const std::string& name, const std::string& value) {
  request req;
  req.push("CONFIG", "SET", name, value);
  response<std::string> ok;
  co_await c.async_exec(req, ok);
  REQUIRE(ok.get<0>().has_value());
}

}  // namespace

TEST_CASE("out of memory: publishes fail typed and add nothing, acks go on, nothing is lost") {
  streamq::test::redis_server_options options;
  options.extra_args = {"--maxmemory-policy", "noeviction"};
  redis_server server(options);
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  // The memory limit is lifted only to show publishing works again, not as a recovery to time.
  ledger book("oom", ledger_scope{.recovery = false});
  constexpr std::uint64_t before = 100;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    for (std::uint64_t i = 0; i < before; ++i) {
      const auto seq = book.next_sequence();
      co_await pub.publish(topic, order(seq));
      book.record_publish(seq, ledger::outcome::ok);
    }

    // A publish under OOM, recorded as it ended (a refusal must have written nothing).
    auto refused = [&](auto call) -> asio::awaitable<bool> {
      const auto seq = book.next_sequence();
      const Order message = order(seq);  // outlives the publish, which holds a reference
      const auto why = co_await refusal_of([&]() { return call(message); });
      book.record_publish(seq, why ? ledger::outcome::failed : ledger::outcome::ok);
      co_return why == oom;
    };
    co_await config_set(c, "maxmemory", "1");  // far below what is used: every write is refused
    int failed = 0;
    for (int i = 0; i < 20; ++i)
      if (co_await refused([&](const Order& o) { return pub.publish(topic, o); })) ++failed;
    CHECK(failed == 20);
    // Scripts are refused at their first write: nothing of them happens.
    streamq::streams::envelope_options keyed;
    keyed.idempotency_key = "k-1";
    CHECK(co_await refused([&](const Order& o) { return pub.publish(topic, o, keyed); }));
    streamq::streams::scheduler s(c, streamq::streams::scheduler_config{});
    CHECK(co_await refused([&](const Order& o) { return s.publish_in(topic, o, 1s); }));
    request state;
    state.push("XLEN", key{keys.stream()});
    state.push("EXISTS", key{keys.dedup("k-1")});
    state.push("EXISTS", key{keys.delayed()}, key{keys.delayed_data()});
    state.push("HGET", key{keys.meta()}, "delayed_seq");
    response<std::int64_t, std::int64_t, std::int64_t, std::optional<std::string>> after;
    co_await c.async_exec(state, after);
    CHECK(after.get<0>().value() == static_cast<std::int64_t>(before));
    CHECK(after.get<1>().value() == 0);
    CHECK(after.get<2>().value() == 0);
    CHECK_FALSE(after.get<3>().value().has_value());
    CHECK(pub.stats().failed == 21);

    // Consuming and acknowledging do not allocate much and are allowed: the backlog drains.
    consumer_config config{.group = "g"};
    config.refuse_unsafe_eviction_policy = true;  // noeviction: fine
    // XGROUP CREATE is refused under OOM: create the group with memory, then take it away.
    co_await config_set(c, "maxmemory", "0");
    request create;
    create.push("XGROUP", "CREATE", key{keys.stream()}, "g", "0");
    streamq::resp::ignore_response ignored;
    co_await c.async_exec(create, ignored);
    co_await config_set(c, "maxmemory", "1");
    consumer cons(c, config);
    cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
      if (const auto seq = ledger::parse_label(o.id()))
        book.record_handled(*seq);
      else
        book.record_foreign_entry();
      co_return;
    });
    std::exception_ptr failure;
    co_await (cons.run() || streamq::test::capture_failure(
                                wait_until([&] { return cons.stats().acked == before; }), failure));
    if (failure) std::rethrow_exception(failure);
    CHECK(book.handled_count() == before);
    request pending;
    pending.push("XPENDING", key{keys.stream()}, "g");
    response<streamq::resp::value> summary;
    co_await c.async_exec(pending, summary);
    CHECK(summary.get<0>().value().elements.at(0).text == "0");
    // Read back while still out of memory (reads are allowed): what the ledger covers.
    co_await streamq::test::drain_into(c, topic, config.group, book);

    co_await config_set(c, "maxmemory", "0");  // memory back: publishing works again
    CHECK_FALSE((co_await pub.publish(topic, order(book.next_sequence()))).empty());
  });
  const auto r = book.print();
  CHECK(r.ok == before);  // none of the publishes under OOM succeeded
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  CHECK(r.reexecuted == 0);
  CHECK(r.unexpected == 0);  // no refused publish left anything in the stream
}

// Effectively-once processing (subscription_options::effectively_once) against redis-server:
// outputs sharing the input's slot are written in the commit script, the others through the
// group's outbox; a failed run writes nothing; a run whose input another consumer took over
// commits nothing; a republished copy is skipped; an outbox entry published twice adds one
// entry; an unreadable outbox entry is reported and passed by. The crash at every step is
// effectively_once_process_test.cpp.
#include "support/async_test.hpp"
#include "support/output_topics.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/outputs.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::consumer_event;
using streamq::streams::message_context;
using streamq::streams::outcome;
using streamq::streams::subscription_options;
using streamq::streams::topic_keys;
using streamq::test::order_with_id;
using streamq::test::outputs_by_id;
using streamq::test::redis_server;
using streamq::test::wait_until;

namespace {

consumer_config eo_config(const std::string& name, std::vector<consumer_event>* events = nullptr) {
  consumer_config cfg;
  cfg.group = "g";
  cfg.name = name;
  cfg.block = 100ms;
  cfg.claim_idle = 60s;
  cfg.retry.base = 5ms;
  cfg.retry.cap = 10ms;
  cfg.retry_poll_interval = 50ms;
  cfg.log = streamq::logger([](const streamq::log_record&) {});
  if (events) cfg.on_event = [events](const consumer_event& e) { events->push_back(e); };
  return cfg;
}

subscription_options eo_options() {
  subscription_options o;
  o.effectively_once = true;
  o.outbox_poll = 100ms;
  return o;
}

// Every message ID of `ids` exactly once, nothing else.
void check_once_each(const std::map<std::string, int>& got, const std::set<std::string>& ids) {
  CHECK(got.size() == ids.size());
  for (const auto& [id, n] : got) {
    CAPTURE(id);
    CHECK(n == 1);
    CHECK(ids.count(id) == 1);
  }
}

}  // namespace

TEST_CASE("effectively once: outputs in the input's slot go in the commit, others through the outbox, each once") {
  redis_server server;
  const auto in = streamq::test::unique_topic();
  const auto near = streamq::test::topic_in_slot_of(in, "near");
  const auto far = in + "-far";
  REQUIRE(topic_keys(far).slot() != topic_keys(in).slot());
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    std::vector<std::string> steps;
    auto options = eo_options();
    options.on_commit_step = [&](streamq::streams::commit_step s, std::string_view) {
      steps.push_back(s == streamq::streams::commit_step::handler_returned ? "returned"
                      : s == streamq::streams::commit_step::committed      ? "committed"
                                                                           : "relayed");
    };
    consumer con(c, eo_config("a"));
    con.subscribe<streamq::test::Order>(
        in,
        [&](const streamq::test::Order& o, message_context& ctx) -> asio::awaitable<void> {
          ctx.outputs->add(near, order_with_id(o.id() + "-near"));
          ctx.outputs->add(far, order_with_id(o.id() + "-far"));
          co_return;
        },
        options);
    constexpr int inputs = 40;
    std::set<std::string> near_ids, far_ids;
    auto scenario = [&]() -> asio::awaitable<void> {
      streamq::streams::publisher pub(c);
      for (int i = 0; i < inputs; ++i)
        co_await pub.publish(in, order_with_id("o" + std::to_string(i)));
      co_await wait_until([&] { return con.stats().outputs_relayed == inputs; }, 20s);
    };
    co_await streamq::run_until(con.run(), scenario());
    for (const auto& e : co_await streamq::test::read_topic(c, in)) {
      near_ids.insert("eo:g:" + e.envelope.message_id() + ":0");
      far_ids.insert("eo:g:" + e.envelope.message_id() + ":1");
    }
    REQUIRE(near_ids.size() == inputs);
    check_once_each(co_await outputs_by_id(c, near), near_ids);
    check_once_each(co_await outputs_by_id(c, far), far_ids);
    const auto stats = con.stats();
    CHECK(stats.acked == inputs);
    CHECK(stats.outputs_committed == 2 * inputs);
    CHECK(stats.outputs_relayed == inputs);  // the far ones; the near ones were in the commit
    CHECK(co_await streamq::test::pending_count(c, in, "g") == 0);
    CHECK(server.command({"XLEN", topic_keys(in).outbox("g")}) == ":0\r\n");
    CHECK(server.command({"ZCARD", topic_keys(in).processed("g")}) == ":40\r\n");
    // The outputs carry the derived key, so a consumer of them can tell a repeat too.
    for (const auto& e : co_await streamq::test::read_topic(c, far))
      CHECK(e.envelope.idempotency_key() == e.envelope.message_id());
    CHECK(steps.size() == 3 * inputs);

    // Published again (a relay that crashed before deleting): its key adds nothing.
    const auto first_far = (co_await streamq::test::read_topic(c, far)).at(0);
    std::vector<consumer_event> events;
    consumer again(c, eo_config("b", &events));
    again.subscribe<streamq::test::Order>(
        in, [](const streamq::test::Order&, message_context&) -> asio::awaitable<void> { co_return; },
        eo_options());
    CHECK(server.command({"XADD", topic_keys(in).outbox("g"), "*", "bad", "entry"}).size() > 0);
    CHECK(server.command({"XADD", topic_keys(in).outbox("g"), "*", "t", far, "e",
                          first_far.envelope.SerializeAsString(), "s", "1-0"})
              .size() > 0);
    auto relay = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return again.stats().outputs_relayed == 1; }, 10s);
    };
    co_await streamq::run_until(again.run(), relay());
    CHECK(co_await streamq::test::topic_length(c, far) == inputs);
    // The unreadable entry is reported and left in place; the good one after it went out.
    CHECK(server.command({"XLEN", topic_keys(in).outbox("g")}) == ":1\r\n");
    bool reported = false;
    for (const auto& e : events)
      reported |= e.what == consumer_event::kind::output_relay_failed &&
                  e.code == streamq::streams::errc::malformed_entry;
    CHECK(reported);
  });
}

TEST_CASE("effectively once: a failed run writes no outputs, its retry writes them once") {
  redis_server server;
  const auto in = streamq::test::unique_topic();
  const auto near = streamq::test::topic_in_slot_of(in, "near");
  const auto far = in + "-far";
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    consumer con(c, eo_config("a"));
    std::map<std::string, int> runs;
    con.subscribe<streamq::test::Order>(
        in,
        [&](const streamq::test::Order& o, message_context& ctx) -> asio::awaitable<outcome> {
          ctx.outputs->add(near, order_with_id(o.id()));
          ctx.outputs->add(far, order_with_id(o.id()));
          // Every other message fails twice after adding its outputs, then succeeds.
          if (std::stoi(o.id()) % 2 == 0 && ++runs[o.id()] <= 2) co_return outcome::retry("not yet");
          if (o.id() == "7") co_return outcome::drop("obsolete");  // recorded, no outputs
          co_return outcome::ack();
        },
        eo_options());
    auto scenario = [&]() -> asio::awaitable<void> {
      streamq::streams::publisher pub(c);
      for (int i = 0; i < 20; ++i) co_await pub.publish(in, order_with_id(std::to_string(i)));
      co_await wait_until([&] { return con.stats().acked + con.stats().dropped >= 20 &&
                                       con.stats().outputs_relayed == 19; },
                          20s);
    };
    co_await streamq::run_until(con.run(), scenario());
    CHECK(con.stats().retried == 20);
    CHECK(co_await streamq::test::topic_length(c, near) == 19);
    CHECK(co_await streamq::test::topic_length(c, far) == 19);
    std::set<std::string> ids;
    for (const auto& e : co_await streamq::test::read_topic(c, near)) ids.insert(e.order.id());
    CHECK(ids.size() == 19);
    CHECK(ids.count("7") == 0);
    CHECK(server.command({"ZCARD", topic_keys(in).processed("g")}) == ":20\r\n");
    CHECK(co_await streamq::test::pending_count(c, in, "g") == 0);
  });
}

TEST_CASE("effectively once: a run whose input another consumer took over commits nothing, a republished copy is skipped") {
  redis_server server;
  const auto in = streamq::test::unique_topic();
  const auto far = in + "-far";
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    consumer con(c, eo_config("a"));
    bool started = false, go = false;
    int runs = 0;
    con.subscribe<streamq::test::Order>(
        in,
        [&](const streamq::test::Order& o, message_context& ctx) -> asio::awaitable<void> {
          ++runs;
          ctx.outputs->add(far, order_with_id(o.id()));
          if (o.id() != "slow") co_return;
          started = true;
          co_await wait_until([&] { return go; }, 10s);
        },
        eo_options());
    auto scenario = [&]() -> asio::awaitable<void> {
      streamq::streams::publisher pub(c);
      const auto slow = co_await pub.publish(in, order_with_id("slow"));
      co_await wait_until([&] { return started; }, 10s);
      // Another consumer takes it over while the handler runs (as after claim_idle).
      CHECK(server.command({"XCLAIM", topic_keys(in).stream(), "g", "other", "0", slow})
                .rfind("*1\r\n", 0) == 0);
      go = true;
      co_await wait_until([&] { return con.stats().ownership_lost == 1; }, 10s);
      // A message published twice under one message ID (an upstream retry): the copy that
      // comes after the first committed is acknowledged without running; copies that run at
      // the same time both run, and the commit script lets the first one's outputs through
      // only.
      streamq::streams::envelope_options same;
      same.message_id = "upstream-1";
      co_await pub.publish(in, order_with_id("dup"), same);
      co_await wait_until([&] { return con.stats().acked == 1; }, 10s);
      co_await pub.publish(in, order_with_id("dup"), same);
      co_await wait_until([&] { return con.stats().skipped_processed == 1; }, 10s);
      same.message_id = "upstream-2";
      co_await pub.publish(in, order_with_id("twin"), same);
      co_await pub.publish(in, order_with_id("twin"), same);
      // (A copy skipped before running is acknowledged, and counted in `acked` too.)
      co_await wait_until([&] { return con.stats().skipped_processed == 2 &&
                                       con.stats().outputs_relayed == 2; },
                          10s);
    };
    co_await streamq::run_until(con.run(), scenario());
    // "slow" once, "dup" once (its copy skipped before running), "twin" once or twice.
    CHECK(runs >= 3);
    CHECK(runs <= 4);
    CHECK(con.stats().skipped_processed == 2);
    const auto outputs = co_await streamq::test::read_topic(c, far);
    REQUIRE(outputs.size() == 2);
    CHECK(outputs[0].order.id() == "dup");
    CHECK(outputs[0].envelope.message_id() == "eo:g:upstream-1:0");
    CHECK(outputs[1].order.id() == "twin");
    CHECK(outputs[1].envelope.message_id() == "eo:g:upstream-2:0");
    // The taken-over entry is still pending, the other consumer's: it commits.
    CHECK(co_await streamq::test::pending_count(c, in, "g") == 1);
  });
}

TEST_CASE("effectively once: two groups on one topic, one failing and ordered per key, each write their own outputs once") {
  redis_server server;
  const auto in = streamq::test::unique_topic();
  const auto far = in + "-far";
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    auto billing_cfg = eo_config("a");
    billing_cfg.group = "billing";
    auto email_cfg = eo_config("b");
    email_cfg.group = "email";
    consumer billing(c, billing_cfg), email(c, email_cfg);
    std::map<std::string, int> email_runs;
    std::vector<std::string> email_order;  // first successful runs, per key in order
    billing.subscribe<streamq::test::Order>(
        in,
        [&](const streamq::test::Order& o, message_context& ctx) -> asio::awaitable<void> {
          ctx.outputs->add(far, order_with_id("invoice-" + o.id()));
          co_return;
        },
        eo_options());
    auto email_options = eo_options();
    email_options.per_key_concurrency = 1;
    email.subscribe<streamq::test::Order>(
        in,
        [&](const streamq::test::Order& o, message_context& ctx) -> asio::awaitable<outcome> {
          ctx.outputs->add(far, order_with_id("mail-" + o.id()));
          // Every third message fails its first run: its retry holds its key back.
          if (++email_runs[o.id()] == 1 && std::stoi(o.id().substr(1)) % 3 == 0)
            co_return outcome::retry("smtp busy");
          email_order.push_back(o.id());
          co_return outcome::ack();
        },
        email_options);
    constexpr int inputs = 30;
    auto scenario = [&]() -> asio::awaitable<void> {
      streamq::streams::publisher pub(c);
      for (int i = 0; i < inputs; ++i) {
        streamq::streams::envelope_options keyed;
        keyed.partition_key = "k" + std::to_string(i % 3);
        co_await pub.publish(in, order_with_id("m" + std::to_string(i)), keyed);
      }
      co_await wait_until([&] { return billing.stats().outputs_relayed == inputs &&
                                       email.stats().outputs_relayed == inputs; },
                          20s);
    };
    co_await streamq::run_until(billing.run(), streamq::run_until(email.run(), scenario()));
    CHECK(email.stats().retried == inputs / 3);
    // Each group's outputs once per input, under IDs naming the group.
    std::map<std::string, int> by_order;
    for (const auto& e : co_await streamq::test::read_topic(c, far)) {
      ++by_order[e.order.id()];
      const bool invoice = e.order.id().rfind("invoice-", 0) == 0;
      CHECK(e.envelope.message_id().rfind(invoice ? "eo:billing:" : "eo:email:", 0) == 0);
    }
    CHECK(by_order.size() == 2 * inputs);
    for (const auto& [id, n] : by_order) CHECK_MESSAGE(n == 1, id);
    // The email group's failures kept their keys' order.
    std::map<std::string, int> last;  // key -> last message number handled
    for (const auto& id : email_order) {
      const int n = std::stoi(id.substr(1));
      const std::string key = "k" + std::to_string(n % 3);
      if (last.count(key)) CHECK_MESSAGE(n > last[key], id);
      last[key] = n;
    }
    for (const char* group : {"billing", "email"})
      CHECK(co_await streamq::test::pending_count(c, in, group) == 0);
  });
}

TEST_CASE("effectively once: an output topic that refuses publishes holds back only its own outputs, published once it accepts them") {
  redis_server server;
  const auto in = streamq::test::unique_topic();
  const auto good = in + "-good", bad = in + "-bad";
  // The bad topic's stream key holds a string: every publish to it is refused (WRONGTYPE).
  CHECK(server.command({"SET", topic_keys(bad).stream(), "not a stream"}) == "+OK\r\n");
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    std::vector<consumer_event> events;
    consumer con(c, eo_config("a", &events));
    con.subscribe<streamq::test::Order>(
        in,
        [&](const streamq::test::Order& o, message_context& ctx) -> asio::awaitable<void> {
          ctx.outputs->add(bad, order_with_id(o.id()));
          ctx.outputs->add(good, order_with_id(o.id()));
          co_return;
        },
        eo_options());
    constexpr int inputs = 10;
    auto scenario = [&]() -> asio::awaitable<void> {
      streamq::streams::publisher pub(c);
      for (int i = 0; i < inputs; ++i) co_await pub.publish(in, order_with_id(std::to_string(i)));
      // The good topic's outputs go out although the bad ones, committed first, are stuck.
      co_await wait_until([&] { return con.stats().outputs_relayed == inputs; }, 10s);
      CHECK(co_await streamq::test::topic_length(c, good) == inputs);
      CHECK(server.command({"XLEN", topic_keys(in).outbox("g")}) ==
            ":" + std::to_string(inputs) + "\r\n");
      bool reported = false;
      for (const auto& e : events)
        reported |= e.what == consumer_event::kind::output_relay_failed &&
                    e.code == streamq::resp::server_errc::wrongtype;
      CHECK(reported);
      // Once the topic takes publishes again, its outputs go out, once each.
      CHECK(server.command({"DEL", topic_keys(bad).stream()}) == ":1\r\n");
      co_await wait_until([&] { return con.stats().outputs_relayed == 2 * inputs; }, 20s);
    };
    co_await streamq::run_until(con.run(), scenario());
    const auto outputs = co_await outputs_by_id(c, bad);
    CHECK(outputs.size() == inputs);
    for (const auto& [id, n] : outputs) CHECK_MESSAGE(n == 1, id);
    CHECK(server.command({"XLEN", topic_keys(in).outbox("g")}) == ":0\r\n");
  });
}

// The metrics library against a real redis-server: a publisher, a consumer whose handler
// fails (a retry, two dead letters) and a second group that lags, read back from render()'s
// text and compared with what happened; lag after XTRIM past a group, after a read behind a
// trim (where Redis 7.0's own lag is wrong) and after XDEL ahead of a group; the sampler's
// errors with the server gone, readiness, and its stop on cancellation and on stop().
#include "support/async_test.hpp"
#include "support/prometheus_text.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/metrics/metrics.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace metrics = streamq::metrics;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::errc;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::wait_until;
using streamq::test::while_consuming;

namespace {

using streamq::test::labels;
using streamq::test::parse;
using streamq::test::value_of;
constexpr const char* dest = "messaging_destination_name";
constexpr const char* group = "messaging_consumer_group_name";

Order order(int i) {
  Order o;
  o.set_id("order-" + std::to_string(i));
  o.set_amount_cents(100 + i);
  return o;
}

// A command of the test's own (the server's state set up or changed by hand).
asio::awaitable<streamq::resp::value> command(client& c, request req) {
  streamq::resp::generic_response reply;
  co_await c.async_exec(req, reply);
  REQUIRE_FALSE(reply.values().front().is_error());
  co_return reply.values().front();
}

// Samples for a while (several ticks of 100 ms), then cancels the sampler.
asio::awaitable<void> sample(metrics::metrics& m) {
  co_await (m.run() || sleep_for(350ms));
}

metrics::metrics_config fast_sampling() {
  metrics::metrics_config config;
  config.sample_interval = 100ms;
  config.sample_timeout = 100ms;
  config.lag_page = 2;  // several counting pages
  return config;
}

}  // namespace

TEST_CASE("metrics: render shows what the publisher, the consumer and the sampler saw") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const streamq::streams::topic_keys keys(topic);
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    metrics::metrics m(c.get_executor(), fast_sampling());
    publisher pub(c);
    consumer_config config{.group = "billing", .name = "c1"};
    config.retry = {.max_attempts = 2, .base = 10ms, .cap = 20ms, .jitter = 0};
    consumer cons(c, config);
    cons.subscribe<Order>(topic, [](const Order& o, message_context&) -> asio::awaitable<void> {
      if (o.id() == "order-1") throw std::runtime_error("downstream down");
      if (o.id() == "order-3")
        throw boost::system::system_error(errc::permanent_failure, "invalid order");
      co_return;
    });
    auto watched_pub = m.watch(pub);
    auto watched_cons = m.watch(cons);
    auto watched_client = m.watch(c, "main");
    auto billing = m.watch_topic(c, topic, "billing");
    auto audit = m.watch_topic(c, topic, "audit");
    request create;
    create.push("XGROUP", "CREATE", key{keys.stream()}, "audit", "0", "MKSTREAM");
    co_await command(c, std::move(create));

    for (int i = 0; i < 10; ++i) co_await pub.publish(topic, order(i));
    // A duplicate and a refusal, on topics of their own.
    streamq::streams::envelope_options keyed;
    keyed.idempotency_key = "once";
    co_await pub.publish(topic + "-dup", order(0), keyed);
    co_await pub.publish(topic + "-dup", order(0), keyed);
    request wrong_type;
    wrong_type.push("SET", key{streamq::streams::topic_keys(topic + "-bad").stream()}, "x");
    co_await command(c, std::move(wrong_type));
    bool refused = false;
    try {
      co_await pub.publish(topic + "-bad", order(0));
    } catch (const boost::system::system_error&) {
      refused = true;
    }
    CHECK(refused);

    co_await while_consuming(cons, nullptr, [&]() -> asio::awaitable<void> {
      co_await wait_until([&] {
        const auto s = cons.stats();
        return s.acked == 8 && s.dead_lettered == 2;
      }, 10s);
    });
    // The per-topic counters themselves.
    const auto per_topic = cons.topic_stats();
    REQUIRE(per_topic.size() == 1);
    CHECK(per_topic[0].topic == topic);
    CHECK(per_topic[0].delivered == 11);  // 10, and order-1's retry
    CHECK(per_topic[0].acked == 8);
    CHECK(per_topic[0].retried == 1);
    CHECK(per_topic[0].dead_lettered == 2);
    CHECK(per_topic[0].in_flight == 0);
    std::uint64_t runs = 0;
    for (auto n : per_topic[0].handler_latency_log2_us) runs += n;
    CHECK(runs == 11);
    const auto published = pub.topic_stats();
    REQUIRE(published.size() == 3);  // name order: topic, topic-bad, topic-dup
    CHECK(published[0].published == 10);
    CHECK(published[1].failed == 1);
    CHECK(published[2].published == 1);
    CHECK(published[2].duplicates == 1);

    // A delayed task no scheduler moves (none runs): it waits, and is late once due.
    streamq::streams::scheduler_config schedule;
    schedule.topics = {topic};
    streamq::streams::scheduler sched(c, schedule);
    auto watched_sched = m.watch(sched);
    co_await sched.publish_in(topic, order(99), 10ms);
    // The audit group takes 3 entries and never acknowledges them.
    request read;
    read.push("XREADGROUP", "GROUP", "audit", "a1", "COUNT", 3, "STREAMS", key{keys.stream()}, ">");
    co_await command(c, std::move(read));
    co_await sleep_for(20ms);  // the oldest pending entry ages
    co_await sample(m);
    auto text = m.render();
    INFO(text);
    const labels t{{dest, topic}};
    const labels b{{dest, topic}, {group, "billing"}};
    const labels a{{dest, topic}, {group, "audit"}};
    auto with = [](labels l, const char* k, const std::string& v) {
      l[k] = v;
      return l;
    };
    CHECK(value_of(text, "streamq_publish_messages_total", with(t, "result", "ok")) == 10);
    CHECK(value_of(text, "streamq_publish_messages_total", with(t, "result", "failed")) == 0);
    CHECK(value_of(text, "streamq_publish_messages_total",
                   {{dest, topic + "-dup"}, {"result", "duplicate"}}) == 1);
    CHECK(value_of(text, "streamq_publish_messages_total",
                   {{dest, topic + "-dup"}, {"result", "ok"}}) == 1);
    CHECK(value_of(text, "streamq_publish_messages_total",
                   {{dest, topic + "-bad"}, {"result", "failed"}}) == 1);
    CHECK(value_of(text, "streamq_publish_duration_seconds_count", t) == 10);
    CHECK(value_of(text, "streamq_publish_duration_seconds_sum", t).value_or(0) > 0);
    CHECK(value_of(text, "streamq_publish_duration_seconds_bucket", with(t, "le", "+Inf")) == 10);
    CHECK(value_of(text, "streamq_consumer_deliveries_total", b) == 11);
    CHECK(value_of(text, "streamq_consumer_acks_total", b) == 8);
    CHECK(value_of(text, "streamq_consumer_retries_total", b) == 1);
    CHECK(value_of(text, "streamq_consumer_dead_letters_total", b) == 2);
    CHECK(value_of(text, "streamq_consumer_handler_duration_seconds_count", b) == 11);
    CHECK(value_of(text, "streamq_consumer_in_flight", b) == 0);
    CHECK(value_of(text, "streamq_stream_length", t) == 10);
    CHECK(value_of(text, "streamq_group_pending", b) == 0);
    CHECK(value_of(text, "streamq_group_lag", b) == 0);
    CHECK(value_of(text, "streamq_dead_letter_stream_length", b) == 2);
    CHECK(value_of(text, "streamq_dead_letter_stream_length", a) == 0);
    CHECK(value_of(text, "streamq_group_pending", a) == 3);
    CHECK(value_of(text, "streamq_group_lag", a) == 7);
    CHECK(value_of(text, "streamq_group_oldest_pending_age_seconds", a).value_or(0) > 0);
    CHECK(value_of(text, "streamq_delayed_tasks_waiting", t) == 1);
    CHECK(value_of(text, "streamq_delayed_tasks_lateness_seconds", t).value_or(0) > 0);
    CHECK(value_of(text, "streamq_recurring_fires_total", {}) == 0);
    CHECK(value_of(text, "streamq_connection_state",
                   {{"client", "main"}, {"state", "connected"}}) == 1);
    CHECK(value_of(text, "streamq_connection_state",
                   {{"client", "main"}, {"state", "connecting"}}) == 0);
    CHECK(value_of(text, "streamq_connection_requests_total", {{"client", "main"}}).value_or(0) > 0);
    // Rendered between requests: nothing is waiting for a reply.
    CHECK(value_of(text, "streamq_connection_requests_in_flight", {{"client", "main"}}) == 0);
    CHECK(value_of(text, "streamq_sampler_errors_total", t) == 0);
    // Bounded cardinality: topics, groups, client names and fixed words only.
    const std::set<std::string> allowed{dest, group, "result", "client", "state", "le"};
    for (const auto& s : parse(text))
      for (const auto& [k, v] : s.with) CHECK_MESSAGE(allowed.count(k), s.name << " " << k);
    // The consumer stopped: not ready, and says why.
    const auto r = m.ready();
    CHECK_FALSE(r.ok);
    bool consumer_reason = false;
    for (const auto& check : r.checks)
      if (check.name == "consumer billing") consumer_reason = !check.ok && check.reason == "not running";
    CHECK(consumer_reason);

    // Trimmed past the audit group: every remaining entry is its lag (Redis 7.0 says 7).
    request trim;
    trim.push("XTRIM", key{keys.stream()}, "MAXLEN", 5);
    co_await command(c, std::move(trim));
    co_await sample(m);
    text = m.render();
    CHECK(value_of(text, "streamq_stream_length", t) == 5);
    CHECK(value_of(text, "streamq_group_lag", a) == 5);
    CHECK(value_of(text, "streamq_group_pending", a) == 3);  // trimmed entries stay pending
    CHECK(value_of(text, "streamq_group_lag", b) == 0);
    // One more read behind the trim: Redis 7.0 now says lag 6 (entries-read 4); 4 are left.
    request more;
    more.push("XREADGROUP", "GROUP", "audit", "a1", "COUNT", 1, "STREAMS", key{keys.stream()}, ">");
    co_await command(c, std::move(more));
    co_await sample(m);
    text = m.render();
    CHECK(value_of(text, "streamq_group_lag", a) == 4);
    CHECK(value_of(text, "streamq_group_pending", a) == 4);
    // An entry deleted ahead of the group (Redis 7.0: lag null): 3 are left.
    request range;
    range.push("XRANGE", key{keys.stream()}, "-", "+");
    const auto entries = co_await command(c, std::move(range));
    REQUIRE(entries.elements.size() == 5);
    request del;
    del.push("XDEL", key{keys.stream()}, entries.elements[2].elements[0].text);
    co_await command(c, std::move(del));
    co_await sample(m);
    text = m.render();
    CHECK(value_of(text, "streamq_stream_length", t) == 4);
    CHECK(value_of(text, "streamq_group_lag", a) == 3);
    // Unwatched: its gauges go, its counters stay.
    audit.reset();
    watched_cons.reset();
    text = m.render();
    CHECK_FALSE(value_of(text, "streamq_group_lag", a));
    CHECK(value_of(text, "streamq_group_lag", b) == 0);
    CHECK(value_of(text, "streamq_consumer_acks_total", b) == 8);
    CHECK_FALSE(value_of(text, "streamq_consumer_in_flight", b));
  });
}

TEST_CASE("metrics: the sampler counts errors with the server gone, and stops on stop()") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    auto config = fast_sampling();
    config.sampler_failures_before_unready = 2;
    metrics::metrics m(c.get_executor(), config);
    auto watched_topic = m.watch_topic(c, topic, "g");
    auto watched_client = m.watch(c, "main");
    co_await sample(m);
    auto text = m.render();
    CHECK(m.ready().ok);
    CHECK(value_of(text, "streamq_stream_length", {{dest, topic}}) == 0);
    CHECK_FALSE(value_of(text, "streamq_group_pending", {{dest, topic}}));  // no such group
    CHECK(value_of(text, "streamq_sampler_errors_total", {{dest, topic}}) == 0);

    server.kill();
    auto errors = [&] {
      return value_of(m.render(), "streamq_sampler_errors_total", {{dest, topic}}).value_or(0);
    };
    auto stop_after_errors = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return errors() >= 3; }, 5000ms);
      m.stop();
    };
    const auto started = std::chrono::steady_clock::now();
    co_await (m.run() && stop_after_errors());
    // Three failed ticks of at most 100 ms plus 100 ms waits, and the stop: well under a second
    // each; the limit only guards against a sampler that does not stop.
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    CHECK(errors() >= 3);
    const auto r = m.ready();
    CHECK_FALSE(r.ok);
    std::set<std::string> failing;
    for (const auto& check : r.checks)
      if (!check.ok) failing.insert(check.name);
    CHECK(failing == std::set<std::string>{"client main", "sampler"});
    // A stopped sampler runs again.
    co_await (m.run() || sleep_for(150ms));
    CHECK(errors() >= 4);
  });
}

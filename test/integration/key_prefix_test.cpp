// Key prefixes (names.hpp): two deployments share one redis-server and one topic name, each
// under its own prefix. Everything of one (publishes, delayed tasks, retries, dead letters,
// trimming) stays under its prefix and is never seen by the other; no key falls back to
// "streamq:".
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/maintenance.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::run_until;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::resp::value;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::dead_letters;
using streamq::streams::message_context;
using streamq::streams::outcome;
using streamq::streams::publisher;
using streamq::streams::publisher_config;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::wait_until;

namespace {

Order order(const std::string& id) {
  Order o;
  o.set_id(id);
  o.set_amount_cents(1);
  return o;
}

consumer_config quick(std::string prefix) {
  consumer_config cfg{.group = "billing", .concurrency = 4};
  cfg.key_prefix = std::move(prefix);
  cfg.max_deliveries = 2;
  cfg.retry.base = 5ms;
  cfg.retry.cap = 10ms;
  cfg.retry_poll_interval = 50ms;
  cfg.claim_interval = 200ms;
  cfg.log = streamq::logger([](const streamq::log_record&) {});
  return cfg;
}

// Every key on the server (the test's server holds nothing else).
asio::awaitable<std::vector<std::string>> all_keys(client& c) {
  request req;
  req.push("KEYS", "*");
  response<value> reply;
  co_await c.async_exec(req, reply);
  std::vector<std::string> keys;
  for (const auto& k : reply.get<0>().value().elements) keys.push_back(k.text);
  co_return keys;
}

asio::awaitable<std::int64_t> stream_length(client& c, const std::string& stream) {
  request req;
  req.push("XLEN", key{stream});
  response<std::int64_t> n;
  co_await c.async_exec(req, n);
  co_return n.get<0>().value();
}

}  // namespace

TEST_CASE("two key prefixes on one server: the same topic and group, nothing shared") {
  redis_server server;
  const std::string topic = "orders";
  const std::string prefix_a = "shop:prod", prefix_b = "shop.test";
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher_config pa_cfg, pb_cfg;
    pa_cfg.key_prefix = prefix_a;
    pb_cfg.key_prefix = prefix_b;
    publisher pa(c, pa_cfg), pb(c, pb_cfg);
    scheduler_config sa_cfg;
    sa_cfg.key_prefix = prefix_a;
    sa_cfg.topics.push_back(topic);
    scheduler sa(c, sa_cfg);
    consumer ca(c, quick(prefix_a)), cb(c, quick(prefix_b));
    std::map<std::string, int> runs_a, runs_b;
    ca.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<outcome> {
      ++runs_a[o.id()];
      if (o.id() == "a-poison") throw std::runtime_error("always fails");
      co_return outcome::ack();
    });
    cb.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<outcome> {
      ++runs_b[o.id()];
      co_return outcome::ack();
    });
    auto scenario = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 5; ++i) co_await pa.publish(topic, order("a-" + std::to_string(i)));
      co_await pa.publish(topic, order("a-poison"));
      for (int i = 0; i < 3; ++i) co_await pb.publish(topic, order("b-" + std::to_string(i)));
      co_await sa.publish_in(topic, order("a-delayed"), 50ms);
      co_await wait_until([&] {
        return runs_a.size() == 7 && runs_b.size() == 3 && ca.stats().dead_lettered == 1;
      });
    };
    co_await run_until(sa.run(), run_until(ca.run(), run_until(cb.run(), scenario())));

    for (const auto& [id, runs] : runs_a) CHECK_MESSAGE(id.starts_with("a-"), id);
    for (const auto& [id, runs] : runs_b) CHECK_MESSAGE(id.starts_with("b-"), id);
    CHECK(runs_a.at("a-poison") == 2);  // max_deliveries, then its own dead letters

    // Dead letters are found under the consumer's prefix only.
    CHECK(co_await dead_letters(c, topic, "billing", prefix_a).count() == 1);
    CHECK(co_await dead_letters(c, topic, "billing", prefix_b).count() == 0);
    CHECK(co_await dead_letters(c, topic, "billing").count() == 0);

    const topic_keys keys_a(topic, prefix_a), keys_b(topic, prefix_b);
    CHECK(co_await stream_length(c, keys_a.stream()) == 7);
    CHECK(co_await stream_length(c, keys_b.stream()) == 3);
    // Trimming one deployment's topic leaves the other's alone.
    co_await streamq::streams::trim_topic(
        c, keys_a, streamq::streams::retention_policy{.max_length = 1, .trim_unacknowledged = true});
    CHECK(co_await stream_length(c, keys_b.stream()) == 3);

    std::set<std::string> seen_prefixes;
    for (const auto& k : co_await all_keys(c)) {
      CAPTURE(k);
      const bool a = k.starts_with(prefix_a + ":{" + topic + "}:");
      const bool b = k.starts_with(prefix_b + ":{" + topic + "}:");
      CHECK((a || b));
      seen_prefixes.insert(a ? prefix_a : prefix_b);
    }
    CHECK(seen_prefixes.size() == 2);
  });
}

TEST_CASE("a configuration with an invalid key prefix is refused, naming its field") {
  redis_server server;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher_config p;
    p.key_prefix = "a{b";
    CHECK_THROWS_WITH_AS(publisher(c, p),
                         doctest::Contains("publisher_config.key_prefix: character '{'"),
                         std::invalid_argument);
    scheduler_config s;
    s.key_prefix = "";
    CHECK_THROWS_WITH_AS(scheduler(c, s), doctest::Contains("scheduler_config.key_prefix"),
                         std::invalid_argument);
    streamq::streams::durability_config d;
    d.key_prefix = "has space";
    CHECK_THROWS_WITH_AS(streamq::streams::durable_publisher(c, d),
                         doctest::Contains("durability_config.key_prefix"),
                         std::invalid_argument);
    auto cc = quick("x}y");
    CHECK_THROWS_WITH_AS(consumer(c, cc), doctest::Contains("consumer_config.key_prefix"),
                         std::invalid_argument);
    CHECK_THROWS_AS(dead_letters(c, "orders", "g", "*"), std::invalid_argument);
    co_return;
  });
}

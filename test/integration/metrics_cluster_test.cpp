// The metrics sampler on a real local Redis Cluster (test/support/redis_cluster.hpp): topics
// whose hash tags land on every master are each sampled in one pipeline to their own master
// (every key of a sample is in the topic's slot), with the same figures as standalone.
//
// ctest label `cluster` (as well as `integration`): ctest -L cluster.
#include "support/async_test.hpp"
#include "support/cluster_topics.hpp"
#include "support/prometheus_text.hpp"
#include "support/redis_cluster.hpp"

#include <streamq/client.hpp>
#include <streamq/metrics/metrics.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <set>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;

namespace {

asio::awaitable<void> command(client& c, request req) {
  streamq::resp::generic_response reply;
  co_await c.async_exec(req, reply);
  REQUIRE_FALSE(reply.values().front().is_error());
}

// The value of the series `name` of `topic` in a text exposition; -1 when absent. (Labels are
// written in name order, the group's before the topic's.)
double value_of(const std::string& text, const std::string& name, const std::string& topic) {
  const std::string label = "messaging_destination_name=\"" + topic + "\"";
  std::size_t at = 0;
  while ((at = text.find("\n" + name + "{", at)) != std::string::npos) {
    const auto line_end = text.find('\n', at + 1);
    const std::string line = text.substr(at + 1, line_end - at - 1);
    at = line_end;
    if (line.find(label) == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

}  // namespace

TEST_CASE("metrics cluster: every master's topic is sampled through its own node") {
  streamq::test::redis_cluster cluster;
  const auto topics = streamq::test::topic_per_master(cluster, "sampled");
  REQUIRE(topics.size() == 3);
  streamq::test::run_with_client(
      streamq::test::cluster_url(cluster), [&](client& c) -> asio::awaitable<void> {
        streamq::metrics::metrics_config config;
        config.sample_interval = 100ms;
        config.sample_timeout = 100ms;
        streamq::metrics::metrics m(c.get_executor(), config);
        streamq::streams::publisher pub(c);
        std::vector<streamq::metrics::watch_handle> watches;
        for (const auto& topic : topics) {
          const streamq::streams::topic_keys keys(topic);
          request create;
          create.push("XGROUP", "CREATE", key{keys.stream()}, "g", "0", "MKSTREAM");
          co_await command(c, std::move(create));
          streamq::test::Order o;
          for (int i = 0; i < 5; ++i) {
            o.set_id(topic + "/" + std::to_string(i));
            co_await pub.publish(topic, o);
          }
          request read;
          read.push("XREADGROUP", "GROUP", "g", "c", "COUNT", 2, "STREAMS", key{keys.stream()}, ">");
          co_await command(c, std::move(read));
          watches.push_back(m.watch_topic(c, topic, "g"));
        }
        co_await (m.run() || streamq::test::sleep_for(400ms));
        const auto text = m.render();
        INFO(text);
        for (const auto& topic : topics) {
          CHECK(value_of(text, "streamq_stream_length", topic) == 5);
          CHECK(value_of(text, "streamq_group_pending", topic) == 2);
          CHECK(value_of(text, "streamq_group_lag", topic) == 3);
          CHECK(value_of(text, "streamq_sampler_errors_total", topic) == 0);
        }
        CHECK(m.ready().ok);
      });
}

TEST_CASE("metrics cluster: each master's connection is counted under its node") {
  streamq::test::redis_cluster cluster;
  const auto topics = streamq::test::topic_per_master(cluster, "by-node");
  REQUIRE(topics.size() == cluster.masters().size());
  streamq::test::run_with_client(
      streamq::test::cluster_url(cluster), [&](client& c) -> asio::awaitable<void> {
        streamq::metrics::metrics m(c.get_executor());
        auto watched = m.watch(c, "main");
        streamq::streams::publisher pub(c);
        constexpr int per_topic = 5;
        streamq::test::Order o;
        for (const auto& topic : topics)
          for (int i = 0; i < per_topic; ++i) {
            o.set_id(topic + "/" + std::to_string(i));
            co_await pub.publish(topic, o);
          }
        std::set<std::string> masters;
        for (const auto& mc : c.master_connections()) masters.insert(mc.node);
        CHECK(masters.size() == topics.size());
        const auto text = m.render();
        INFO(text);
        std::set<std::string> counted;
        for (const auto& s : streamq::test::parse(text)) {
          if (s.name != "streamq_connection_requests_total" || !s.with.contains("node")) continue;
          CHECK(s.with.at("client") == "main");
          counted.insert(s.with.at("node"));
          // Every master serves one topic's publishes (and nothing else here).
          CHECK(s.value >= per_topic);
        }
        CHECK(counted == masters);
        for (const auto& node : masters)
          CHECK(streamq::test::value_of(text, "streamq_connection_state",
                                        {{"client", "main"}, {"node", node}, {"state", "connected"}}) == 1);
      });
}

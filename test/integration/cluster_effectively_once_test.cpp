// Effectively-once processing on a real local Redis Cluster: outputs to a topic in the input's
// slot are written by the commit script on the input's master, outputs to a topic on another
// master go through the outbox and are published there; a partitioned input (partitions over
// every master, its commits fenced by each partition's lease) writes keyed outputs to a
// partitioned topic through the outbox, each routed to the partition its key picks. Every
// output exists once per input. ctest label `cluster`.
#include "support/async_test.hpp"
#include "support/cluster_topics.hpp"
#include "support/output_topics.hpp"
#include "support/redis_cluster.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::message_context;
using streamq::streams::partition_topic;
using streamq::streams::topic_keys;
using streamq::test::cluster_url;
using streamq::test::master_of;
using streamq::test::Order;
using streamq::test::redis_cluster;
using streamq::test::wait_until;

namespace {

Order order(const std::string& id) {
  Order o;
  o.set_id(id);
  return o;
}

streamq::streams::subscription_options eo_options() {
  streamq::streams::subscription_options o;
  o.effectively_once = true;
  o.outbox_poll = 100ms;
  return o;
}

}  // namespace

TEST_CASE("cluster effectively once: outputs in the input's slot and on other masters, from plain and partitioned inputs, once each") {
  redis_cluster cluster;
  const auto topics = streamq::test::topic_per_master(cluster, "eo-in");
  REQUIRE(topics.size() == 3);
  const std::string in = topics[0], far = topics[1];
  const auto near = streamq::test::topic_in_slot_of(in, "eo-near");
  REQUIRE(master_of(cluster, far) != master_of(cluster, in));
  const std::string pin = "eo-pin", pout = "eo-pout";
  constexpr int inputs = 60;
  streamq::test::run_with_client(
      cluster_url(cluster),
      [&](client& c) -> asio::awaitable<void> {
        co_await streamq::streams::set_partitions(c, pin, 4);
        co_await streamq::streams::set_partitions(c, pout, 3);
        streamq::streams::consumer_config cfg;
        cfg.group = "g";
        cfg.name = "plain";
        cfg.block = 200ms;
        cfg.log = streamq::logger([](const streamq::log_record&) {});
        streamq::streams::consumer plain(c, cfg);
        plain.subscribe<Order>(
            in,
            [&](const Order& o, message_context& ctx) -> asio::awaitable<void> {
              ctx.outputs->add(near, order(o.id()));
              ctx.outputs->add(far, order(o.id()));
              co_return;
            },
            eo_options());
        streamq::streams::partitioned_consumer_config pcfg;
        pcfg.consumer = cfg;
        pcfg.consumer.name = "member";
        pcfg.heartbeat = 200ms;
        pcfg.lease_ttl = 2000ms;
        pcfg.lease_margin = 500ms;
        streamq::streams::partitioned_consumer member(c, pcfg);
        member.subscribe<Order>(
            pin,
            [&](const Order& o, message_context& ctx) -> asio::awaitable<void> {
              streamq::streams::envelope_options keyed;
              keyed.partition_key = ctx.envelope->partition_key();
              ctx.outputs->add(pout, order(o.id()), keyed);
              co_return;
            },
            eo_options());
        auto scenario = [&]() -> asio::awaitable<void> {
          co_await wait_until([&] { return member.owned().size() == 4; }, 20s);
          streamq::streams::publisher pub(c);
          streamq::streams::partitioned_publisher ppub(pub);
          for (int i = 0; i < inputs; ++i) {
            co_await pub.publish(in, order("o" + std::to_string(i)));
            streamq::streams::envelope_options keyed;
            keyed.partition_key = "k" + std::to_string(i % 7);
            co_await ppub.publish(pin, order("p" + std::to_string(i)), keyed);
          }
          co_await wait_until(
              [&] {
                return plain.stats().outputs_relayed == inputs &&
                       member.stats().outputs_relayed == inputs;
              },
              60s);
        };
        co_await streamq::run_until(plain.run(), streamq::run_until(member.run(), scenario()));
        CHECK(plain.stats().outputs_committed == 2 * inputs);
        CHECK(member.stats().outputs_committed == inputs);

        // Each output once: by its ID derived from the input's message ID.
        std::set<std::string> input_ids;
        for (const auto& e : co_await streamq::test::read_topic(c, in))
          input_ids.insert(e.envelope.message_id());
        for (const auto& [topic, index] : {std::pair{near, 0}, std::pair{far, 1}}) {
          CAPTURE(topic);
          const auto got = co_await streamq::test::outputs_by_id(c, topic);
          CHECK(got.size() == inputs);
          for (const auto& id : input_ids)
            CHECK(got.count("eo:g:" + id + ":" + std::to_string(index)) == 1);
          for (const auto& [id, n] : got) CHECK(n == 1);
        }
        // The partitioned outputs, each in the partition its key picks, once.
        std::map<std::string, int> by_order;
        for (std::uint32_t p = 0; p < 3; ++p) {
          for (const auto& e : co_await streamq::test::read_topic(c, partition_topic(pout, p))) {
            ++by_order[e.order.id()];
            CHECK(streamq::streams::partition_for_key(e.envelope.partition_key(), 3) == p);
          }
        }
        CHECK(by_order.size() == inputs);
        for (const auto& [id, n] : by_order) CHECK_MESSAGE(n == 1, id);
        CHECK(co_await streamq::test::pending_count(c, in, "g") == 0);
      },
      120s);
  // The direct outputs were written on the input's master, the outbox's on the other.
  CHECK(cluster.command(master_of(cluster, near), {"XLEN", topic_keys(near).stream()}) ==
        ":" + std::to_string(inputs) + "\r\n");
  CHECK(cluster.command(master_of(cluster, in), {"XLEN", topic_keys(in).outbox("g")}) == ":0\r\n");
}

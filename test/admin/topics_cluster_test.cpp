// Tests of lib/admin/topics.* on a real local Redis Cluster (support/redis_cluster.hpp): a
// topic on each master and a partitioned topic whose partitions sit on every master are all
// listed with their figures, by a client that lists before it sent anything else (its list of
// masters is empty until a request is routed), with cluster=on and cluster=auto; a master
// whose SCAN fails fails the listing, with its code and its address, instead of leaving its
// topics out.
//
// ctest labels `integration` and `cluster` (as the other cluster tests): ctest -L cluster.
#include "support/async_test.hpp"
#include "support/cluster_topics.hpp"
#include "support/redis_cluster.hpp"
#include "support/stream_checks.hpp"

#include <streamq/admin/topics.hpp>
#include <streamq/client.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace admin = streamq::admin;
namespace streams = streamq::streams;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::test::order_with_id;
using streamq::test::redis_cluster;

namespace {

constexpr std::uint32_t partition_count = 3;

// Masters only: a replica holds its master's keys, so it adds nothing to a listing, and the
// cluster starts faster without.
redis_cluster::options masters_only() {
  redis_cluster::options opts;
  opts.replicas_per_master = 0;
  return opts;
}

// A command of the test's own (state set up by hand); REQUIREs it was not refused.
asio::awaitable<void> command(client& c, request req) {
  streamq::resp::generic_response reply;
  co_await c.async_exec(req, reply);
  for (const auto& v : reply.values()) REQUIRE_FALSE(v.is_error());
}

// A topic name ("<base>-<n>") whose partitions' streams are on as many different masters as
// the cluster has.
std::string topic_spread_over_masters(const redis_cluster& cluster, const std::string& base) {
  for (int n = 0;; ++n) {
    const std::string topic = base + "-" + std::to_string(n);
    std::set<std::size_t> masters;
    for (std::uint32_t p = 0; p < partition_count; ++p)
      masters.insert(streamq::test::master_of(cluster, streams::partition_topic(topic, p)));
    if (masters.size() == cluster.masters().size()) return topic;
  }
}

// The topics of per_master (topic i: 2(i+1) messages, i groups that read nothing) and the
// partitioned one (6 messages spread by key, group g on each partition), plus another prefix's
// stream.
asio::awaitable<void> make_topics(client& c, const std::vector<std::string>& per_master,
                                  const std::string& spread) {
  streams::publisher pub(c);
  for (std::size_t i = 0; i < per_master.size(); ++i) {
    const streams::topic_keys keys(per_master[i]);
    for (std::size_t m = 0; m < 2 * (i + 1); ++m)
      co_await pub.publish(per_master[i], order_with_id(per_master[i] + "/" + std::to_string(m)));
    for (std::size_t g = 0; g < i; ++g) {
      request create;
      create.push("XGROUP", "CREATE", key{keys.stream()}, "g" + std::to_string(g), "0");
      co_await command(c, std::move(create));
    }
  }
  co_await streams::set_partitions(c, spread, partition_count);
  streams::partitioned_publisher partitioned(pub);
  for (int i = 0; i < 6; ++i) {
    streams::envelope_options o;
    o.partition_key = "key-" + std::to_string(i);
    co_await partitioned.publish(spread, order_with_id("s" + std::to_string(i)), o);
  }
  for (std::uint32_t p = 0; p < partition_count; ++p) {
    request create;
    create.push("XGROUP", "CREATE",
                key{streams::topic_keys(streams::partition_topic(spread, p)).stream()}, "g", "0");
    co_await command(c, std::move(create));
  }
  request decoy;
  decoy.push("XADD", key{streams::topic_keys("elsewhere", "other").stream()}, "*", "f", "v");
  co_await command(c, std::move(decoy));
}

void check_listing(const std::vector<admin::topic_summary>& listed,
                   const std::vector<std::string>& per_master, const std::string& spread) {
  std::vector<std::string> want_names = per_master;
  want_names.push_back(spread);
  std::sort(want_names.begin(), want_names.end());
  std::vector<std::string> names;
  for (const auto& t : listed) names.push_back(t.topic);
  REQUIRE(names == want_names);
  for (const auto& t : listed) {
    INFO("topic " << t.topic);
    CHECK(t.pending == 0);
    CHECK(t.dead_letters == 0);
    CHECK(t.delayed == 0);
    CHECK(t.entries_added == t.length);
    if (t.topic == spread) {
      CHECK(t.partitions == partition_count);
      CHECK(t.length == 6);
      CHECK(t.groups == partition_count);
      CHECK(t.lag == 6u);  // every message undelivered to its partition's group
      continue;
    }
    const auto i = static_cast<std::size_t>(
        std::find(per_master.begin(), per_master.end(), t.topic) - per_master.begin());
    CHECK(t.partitions == 0);
    CHECK(t.length == 2 * (i + 1));
    CHECK(t.groups == i);
    if (i == 0)
      CHECK_FALSE(t.lag.has_value());
    else
      CHECK(t.lag == i * t.length);  // each group has every message still to read
  }
}

}  // namespace

TEST_CASE("admin cluster topics: topics on every master are listed with their figures") {
  redis_cluster cluster(masters_only());
  const auto per_master = streamq::test::topic_per_master(cluster, "listed");
  REQUIRE(per_master.size() == cluster.masters().size());
  const auto spread = topic_spread_over_masters(cluster, "spread");
  const auto url = streamq::test::cluster_url(cluster);
  streamq::test::run_with_client(url, [&](client& c) -> asio::awaitable<void> {
    co_await make_topics(c, per_master, spread);
    const auto listed = co_await admin::async_list_topics(c, "streamq");
    check_listing(listed, per_master, spread);
    const auto other = co_await admin::async_list_topics(c, "other");
    REQUIRE(other.size() == 1);
    CHECK(other[0].topic == "elsewhere");
  });
  // Clients whose first request is the listing: no master connection exists before it.
  for (const auto& first_url : {url, cluster.url(0) + "?cluster=auto"}) {
    INFO("url " << first_url);
    streamq::test::run_with_client(first_url, [&](client& c) -> asio::awaitable<void> {
      CHECK(c.master_connections().empty());
      const auto listed = co_await admin::async_list_topics(c, "streamq");
      check_listing(listed, per_master, spread);
      CHECK(c.master_connections().size() == cluster.masters().size());
    });
  }
}

TEST_CASE("admin cluster topics: a master whose scan fails fails the listing, named") {
  redis_cluster cluster(masters_only());
  const auto per_master = streamq::test::topic_per_master(cluster, "named");
  REQUIRE(per_master.size() == cluster.masters().size());
  // The last master in the client's order of masters is not known here: any one refusing
  // must fail the listing, whichever were scanned before it.
  const auto refusing = streamq::test::master_of(cluster, per_master.back());
  const std::string port = ":" + std::to_string(cluster.port(refusing));
  streamq::test::run_with_client(
      streamq::test::cluster_url(cluster), [&](client& c) -> asio::awaitable<void> {
        streams::publisher pub(c);
        for (const auto& topic : per_master) co_await pub.publish(topic, order_with_id("x"));
        const auto before = co_await admin::async_list_topics(c, "streamq");
        CHECK(before.size() == per_master.size());
        // That master's default user may no longer SCAN (PING and the topology still work).
        const auto acl = cluster.command(refusing, {"ACL", "SETUSER", "default", "-scan"});
        REQUIRE(acl.rfind("+OK", 0) == 0);
        const auto noperm = make_error_code(streamq::resp::server_errc::noperm);
        std::string failure;
        try {
          const auto listed = co_await admin::list_topics(c, "streamq");
          FAIL("listed " << listed.size() << " topics");
        } catch (const boost::system::system_error& e) {
          CHECK(e.code() == noperm);
          failure = e.what();
        }
        INFO("failure: " << failure);
        CHECK(failure.find("SCAN on master ") != std::string::npos);
        CHECK(failure.find(port) != std::string::npos);
        // Through a completion token: the code, and no list.
        const auto [ec, listed] =
            co_await admin::async_list_topics(c, "streamq", asio::as_tuple(asio::use_awaitable));
        CHECK(ec == noperm);
        CHECK(listed.empty());
      });
}

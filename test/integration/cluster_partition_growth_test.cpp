// Growing a partitioned topic on a real local Redis Cluster (support/redis_cluster.hpp): the
// partitions' hash tags put them on several masters, so each old partition's cut is a script
// on its own master and the topic's count one on yet another, while publishing and consuming
// go on (partition_growth_scenario.hpp). Every key keeps its order and nothing is lost.
//
// ctest label `cluster` (as well as `integration`): ctest -L cluster.
#include "partition_growth_scenario.hpp"
#include "support/async_test.hpp"
#include "support/cluster_topics.hpp"
#include "support/redis_cluster.hpp"

#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>

TEST_CASE("cluster partition growth: 4 to 8 over several masters under load keeps every key's order, loses nothing") {
  streamq::test::redis_cluster cluster;
  const auto topic = streamq::test::unique_topic();
  // The partitions must really spread, or this proves nothing a single server would not.
  std::set<std::size_t> masters;
  for (std::uint32_t p = 0; p < 8; ++p)
    masters.insert(streamq::test::master_of(cluster, streamq::streams::partition_topic(topic, p)));
  REQUIRE(masters.size() > 1);
  streamq::test::run_with_client(
      streamq::test::cluster_url(cluster),
      [&](streamq::client& c) -> boost::asio::awaitable<void> {
        const auto run = co_await streamq::test::growth::grow_under_load(c, topic, 4, 8);
        MESSAGE("masters " << masters.size() << ", published " << run.published << " ("
                           << run.after_growth << " after the growth began), in new partitions "
                           << run.in_new << ", duplicates " << run.duplicates
                           << ", drain waits reported " << run.drain_waits);
        CHECK(run.violations == 0);
        CHECK(run.handled == static_cast<std::size_t>(run.published));  // lost 0
        CHECK(run.in_new > 0);
        CHECK(run.stale_count == 8);
        CHECK(run.consumer_failures == 0);
      },
      std::chrono::seconds(110));
}

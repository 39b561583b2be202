// Consumer processes on a partitioned topic (P = 8) against a local Redis Cluster (3 masters,
// 3 replicas; support/redis_cluster.hpp), under load: the scenario of partition_process_test
// (support/partition_process_scenario.hpp) with the partitions spread over every master, so
// the members' leases, reads and fenced acknowledgements go to several nodes at once.
//
// ctest label `cluster` (as well as `integration`): ctest -L cluster.
#include "support/async_test.hpp"
#include "support/cluster_topics.hpp"
#include "support/partition_process_scenario.hpp"
#include "support/redis_cluster.hpp"

#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>

TEST_CASE("cluster partition processes: SIGKILL, SIGSTOP past the lease and a join keep every key's order and lose nothing") {
  streamq::test::redis_cluster cluster;
  constexpr std::uint32_t partitions = 8;
  // A topic whose partitions (each with its own hash tag) land on every master.
  const auto base = streamq::test::unique_topic();
  const auto masters = cluster.masters();
  std::string topic;
  for (int n = 0; topic.empty(); ++n) {
    const std::string candidate = base.substr(0, 90) + "-" + std::to_string(n);
    std::set<std::size_t> used;
    for (std::uint32_t p = 0; p < partitions; ++p)
      used.insert(streamq::test::master_of(cluster,
                                           streamq::streams::partition_topic(candidate, p)));
    if (used.size() == masters.size()) topic = candidate;
  }
  streamq::test::run_partition_process_scenario({
      .test_name = "cluster_partition_processes_kill_stop_join",
      .url = streamq::test::cluster_url(cluster),
      .topic = topic,
      .worker_program = STREAMQ_TEST_PARTITION_WORKER,
      .log_dir = cluster.server(0).dir(),
      .partitions = partitions,
      .keys = 32,
  });
}

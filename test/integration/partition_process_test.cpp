// Consumer processes on a partitioned topic (P = 8) against one redis-server, under load:
// three members, one SIGKILLed, one SIGSTOPped past its lease and resumed, a fourth joining
// mid-run. Per-key order violations 0, lost 0, re-executions only for messages a faulted
// member ran under the leases it held when the fault hit; rebalance times printed with the
// LEDGER line. The scenario and its rules: support/partition_process_scenario.hpp.
#include "support/async_test.hpp"
#include "support/partition_process_scenario.hpp"
#include "support/redis_server.hpp"

#include <doctest/doctest.h>

TEST_CASE("partition processes: SIGKILL, SIGSTOP past the lease and a join keep every key's order and lose nothing") {
  streamq::test::redis_server server;
  streamq::test::run_partition_process_scenario({
      .test_name = "partition_processes_kill_stop_join",
      .url = server.url(),
      .topic = streamq::test::unique_topic(),
      .worker_program = STREAMQ_TEST_PARTITION_WORKER,
      .log_dir = server.dir(),
      .partitions = 8,
      .keys = 32,
  });
}

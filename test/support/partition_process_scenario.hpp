#pragma once
// Consumer processes on a partitioned topic under process faults (issue 12), one scenario for
// a single redis-server and for a local Redis Cluster alike.
//
// The topic gets `partitions` partitions; a publisher in the test process publishes by key
// (`keys` keys in turn, four messages each, each message an Order whose id is a ledger label
// and whose amount_cents is its key's own sequence number, 0, 1, 2 ...) for the whole run.
// Three streamq-test-partition-worker processes (w1, w2, w3: partitioned_consumer, per-key
// order, lease 1500 ms, heartbeat 200 ms, 0 to 20 ms per message) share the partitions; then
//   1. w1 is SIGKILLed: its partitions must be held again by the others, not before its lease
//      could have run out (the time is printed);
//   2. w2 is SIGSTOPped until the others hold everything (so past its lease), then SIGCONTed:
//      it must get its share back;
//   3. w4 joins: it must get its share;
//   4. publishing stops, everything published must be handled, and SIGTERM stops the rest
//      gracefully (exit 0).
// Every handler run is recorded by the worker in Redis (the list "<topic>:partition-runs",
// partition_worker_main.cpp) and checked afterwards:
//   order_violations  a key's sequence number handled for the first time after a larger one
//                     of the same key was handled (first runs must come in publish order)
//   lost              published, never handled (also: no dead letters, nothing pending)
//   reexecuted        handler runs beyond the first of a message. Allowed only for a message
//                     one of whose runs was made by a faulted member under a lease it held
//                     when the fault hit it (w1's at the SIGKILL, w2's at the SIGSTOP, read
//                     with inspect_partitions right after the signal, while the leases are
//                     frozen): its in-flight and recorded-but-unacknowledged messages are the
//                     ones the next holder takes over and runs again, and w2 may run some
//                     under its old lease after SIGCONT, before it notices the lease ran out.
//                     A re-execution without such a run (a graceful hand-over, the join, the
//                     final stop) fails.
// plus: each run on the partition its key maps to (partition_for_key), and run records that
// match what was published under that label. Prints one line
//   LEDGER {"test":...,"ok":..,"lost":..,"duplicated":..,"reexecuted":..,"recovered":..,
//           "unexpected":..,"order_violations":..,"rebalance_ms":..}
// (ledger.hpp's keys, recovery_ms left out as it does not apply, then the two of this
// scenario; rebalance_ms is the longest of the three rebalances, each printed on its own).

#include <cstddef>
#include <cstdint>
#include <string>

namespace streamq::test {

struct partition_process_options {
  std::string test_name;       // the LEDGER line's "test"
  std::string url;             // for the test's client and the workers (cluster: ?cluster=on)
  std::string topic;           // a fresh topic; partitioned by the scenario
  std::string worker_program;  // the streamq-test-partition-worker executable
  std::string log_dir;         // the workers' stderr goes to <log_dir>/<name>.log
  std::uint32_t partitions = 8;
  std::size_t keys = 32;
};

// Runs the scenario on the calling thread (the workers are tied to it: PR_SET_PDEATHSIG),
// with doctest checks; a worker still running when it ends (a failed check) is killed and
// reaped. The tails of the workers' logs are printed when a check fails.
void run_partition_process_scenario(const partition_process_options& options);

}  // namespace streamq::test

#pragma once
// The scenario registry of streamq-bench. A scenario is a function that runs with the parsed
// options, prints its JSON line(s) on stdout, diagnostics on stderr, and returns the exit
// status (0 success, 1 failure or errors seen). To add one (e2e, delayed, ...): write
// bench_NAME.cpp defining run_NAME, declare it below, list it in registry(), and add the
// file to benchmarks/CMakeLists.txt.

#include "bench_util.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace streamq::bench {

struct scenario {
  std::string_view name;
  std::string_view summary;  // one line for the usage message
  int (*run)(const options&);
  // Without --redis (and --cluster-masters): 0 starts one throwaway redis-server, N a
  // throwaway Redis Cluster of N masters.
  std::size_t default_cluster_masters;
};

int run_xadd(const options& opt);
int run_e2e(const options& opt);
int run_delayed(const options& opt);
int run_fanout(const options& opt);
int run_routing(const options& opt);
int run_ordered(const options& opt);

// The ordered scenario's own flags, --keys K (default 64) and --fail-rate F (0..1, default
// 0.01): when argv[1] is "ordered", takes them off argv (argc shrinks) for run_ordered, so
// that parse_options() sees the common flags only. False with `error` set on a bad value.
bool take_ordered_flags(int& argc, char** argv, std::string& error);

inline std::span<const scenario> registry() {
  static constexpr scenario all[] = {
      {"xadd", "C coroutines XADD to one stream (or T) over one pipelined client", run_xadd, 0},
      {"e2e", "C coroutines publish typed messages that one consumer group handles and acks",
       run_e2e, 0},
      {"delayed", "C coroutines schedule tasks due over --window-ms that one scheduler moves",
       run_delayed, 0},
      {"fanout", "G consumer groups on one topic; group 0 fails each message K times first",
       run_fanout, 0},
      {"routing",
       "xadd on T keys of one cluster master: direct vs through the cluster client (ratio)",
       run_routing, 3},
      {"ordered",
       "P partitions, K keys, per-key order 1, first attempts fail at --fail-rate F: order "
       "violations, lost, duplicates (--keys K --fail-rate F)",
       run_ordered, 0},
  };
  return all;
}

}  // namespace streamq::bench

#pragma once
// The scenario registry of streamq-bench. A scenario is a function that runs with the parsed
// options, prints its JSON line(s) on stdout, diagnostics on stderr, and returns the exit
// status (0 success, 1 failure or errors seen). To add one (e2e, delayed, ...): write
// bench_NAME.cpp defining run_NAME, declare it below, list it in registry(), and add the
// file to benchmarks/CMakeLists.txt.

#include "bench_util.hpp"

#include <cstddef>
#include <span>
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
  };
  return all;
}

}  // namespace streamq::bench

#pragma once
// The scenario registry of streamq-bench. A scenario is a function that runs with the parsed
// options, prints its JSON line(s) on stdout, diagnostics on stderr, and returns the exit
// status (0 success, 1 failure or errors seen). To add one (e2e, delayed, ...): write
// bench_NAME.cpp defining run_NAME, declare it below, list it in registry(), and add the
// file to benchmarks/CMakeLists.txt.

#include "bench_util.hpp"

#include <span>
#include <string_view>

namespace streamq::bench {

struct scenario {
  std::string_view name;
  std::string_view summary;  // one line for the usage message
  int (*run)(const options&);
};

int run_xadd(const options& opt);
int run_e2e(const options& opt);
int run_delayed(const options& opt);
int run_fanout(const options& opt);

inline std::span<const scenario> registry() {
  static constexpr scenario all[] = {
      {"xadd", "C coroutines XADD to one stream over one pipelined client", run_xadd},
      {"e2e", "C coroutines publish typed messages that one consumer group handles and acks",
       run_e2e},
      {"delayed", "C coroutines schedule tasks due over --window-ms that one scheduler moves",
       run_delayed},
      {"fanout", "G consumer groups on one topic; group 0 fails each message K times first",
       run_fanout},
  };
  return all;
}

}  // namespace streamq::bench

#pragma once
// The xadd workload, shared by the `xadd` scenario and the `routing` scenario (which runs it
// against one cluster master twice: directly and through the cluster client).
//
// C coroutines share one streamq::client and each loops `XADD KEY * f <payload>` until N
// operations have completed, the keys taken round-robin by operation number. Latency is
// measured per operation from issue to completion; the first ~1% of operations (at least C)
// warm up the connection(s), allocator and server and are not counted.

#include "bench_runtime.hpp"

#include <streamq/redis/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::bench {

struct xadd_state {
  xadd_state(const options& o, std::vector<std::string> stream_keys);

  const options& opt;
  std::vector<std::string> keys;  // operation number i goes to keys[i % keys.size()]
  std::string payload;
  std::uint64_t warmup = 0;  // tickets [0, warmup) are not measured
  std::uint64_t total = 0;
  pacer pace;

  std::uint64_t next_ticket = 0;
  std::uint64_t completed = 0;      // every completion, warm-up included (watchdog progress)
  std::uint64_t measured_done = 0;  // completions of measured tickets
  std::uint64_t errors = 0;         // among measured tickets
  std::uint64_t warmup_errors = 0;
  std::string first_error;
  bool stop = false;  // set when the run cannot go on: workers take no more tickets

  latency_histogram latency;   // issue -> completion
  latency_histogram from_due;  // due time -> completion, only with --rate (no coordinated omission)
  bench_clock::time_point window_start{}, window_end{};
  double cpu_start = 0, cpu_end = -1;
  redis::connection_stats stats_start{}, stats_end{};
  std::vector<std::string> masters;         // per key: its master (empty: not a cluster)
  std::vector<std::uint64_t> key_messages;  // per key: measured operations that succeeded
  std::optional<worker_group> workers;      // outlives the body: workers may end after it
};

// Runs the workload through a client made from `config`. Returns false, with the failure on
// stderr as "streamq-bench NAME: ...", when the run could not be completed.
bool run_xadd_workload(xadd_state& s, std::string_view name,
                       const redis::connection_config& config);

// The run's JSON keys after "scenario": concurrency, payload, rate, warmup, the phase fields,
// requests_per_write (null in cluster mode: the per-master connections are the router's),
// the *_from_due_us keys with --rate, then topics, cluster and (cluster mode) nodes.
void add_xadd_fields(json_line& out, const xadd_state& s);

// The elapsed measured window in seconds.
[[nodiscard]] double xadd_elapsed_s(const xadd_state& s);

// Prints the run's errors on stderr, if any; returns whether there were none.
bool xadd_clean(const xadd_state& s, std::string_view name);

}  // namespace streamq::bench

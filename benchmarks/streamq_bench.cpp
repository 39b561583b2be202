// streamq-bench: client-side throughput, latency and CPU of streamq against a live Redis.
//
//   streamq-bench SCENARIO [--redis URL] [--count N] [--payload BYTES] [--concurrency C]
//                 [--rate R] [--window-ms W] [--drain-timeout S] [--groups G] [--fail-first K]
//                 [--topics T] [--cluster-masters N] [--rounds R] [--partitions P]
//                 [--consumer-concurrency H]
//   streamq-bench ordered --partitions P [--keys K] [--fail-rate F] [--count N] [...]
//
// Prints one JSON object per line on stdout; benchmarks/run.sh and other scripts parse it.
// The scenarios live in bench_*.cpp and are listed in bench_scenarios.hpp. Without --redis, a
// throwaway redis-server is started for the run (the test fixture: its own temp dir, a free
// loopback port, no persistence, killed with this process), so one command measures
// something anywhere; run.sh passes --redis to its own server, pinned to a CPU. With
// --cluster-masters N (the routing scenario: 3 by default) that throwaway is a Redis Cluster
// of N masters without replicas (the test fixture too). --redis may name any node of a
// cluster: without a cluster= option the client runs with cluster=auto.
#include "bench_cluster.hpp"
#include "bench_scenarios.hpp"
#include "redis_cluster.hpp"
#include "redis_server.hpp"

#include <streamq/redis/config.hpp>

#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

std::string usage(const char* program) {
  std::vector<std::pair<std::string_view, std::string_view>> listed;
  for (const auto& s : streamq::bench::registry()) listed.emplace_back(s.name, s.summary);
  return streamq::bench::usage_text(program, listed);
}

int usage_error(const char* program, const std::string& why) {
  std::fprintf(stderr, "streamq-bench: %s\n%s", why.c_str(), usage(program).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const char* program = argc > 0 ? argv[0] : "streamq-bench";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage(program).c_str(), stdout);
      return 0;
    }
  }

  std::string error;
  // The ordered scenario's --keys and --fail-rate (bench_ordered.cpp), before the common flags.
  if (!streamq::bench::take_ordered_flags(argc, argv, error)) return usage_error(program, error);
  auto opt = streamq::bench::parse_options(argc, argv, error);
  if (!opt) return usage_error(program, error);

  const streamq::bench::scenario* chosen = nullptr;
  for (const auto& s : streamq::bench::registry())
    if (s.name == opt->scenario) chosen = &s;
  if (chosen == nullptr) return usage_error(program, "unknown scenario '" + opt->scenario + "'");

  // One partitioned_consumer member serves one partitioned topic (bench_e2e.cpp).
  if (opt->partitions > 0 && opt->topics > 1)
    return usage_error(program, "--partitions takes one topic: not with --topics");
  if (!opt->redis_url.empty() && opt->cluster_masters_given)
    return usage_error(program, "--cluster-masters starts a throwaway cluster: not with --redis");
  if (!opt->redis_url.empty()) {
    try {
      (void)streamq::bench::client_config(opt->redis_url);  // a bad URL is a usage error
    } catch (const std::invalid_argument& e) {
      return usage_error(program, std::string("invalid --redis URL: ") + e.what());
    }
  }

  // Declared before the run so that they outlive every connection to them.
  std::optional<streamq::test::redis_server> own_server;
  std::optional<streamq::test::redis_cluster> own_cluster;
  const std::size_t masters =
      opt->cluster_masters_given ? opt->cluster_masters : chosen->default_cluster_masters;
  try {
    if (opt->redis_url.empty() && masters > 0) {
      streamq::test::redis_cluster_options cluster_options;
      cluster_options.masters = masters;
      cluster_options.replicas_per_master = 0;
      own_cluster.emplace(std::move(cluster_options));
      opt->redis_url = own_cluster->url(0);
      std::fprintf(stderr,
                   "streamq-bench: no --redis given: started a Redis Cluster of %zu masters, "
                   "reached at %s\n",
                   masters, opt->redis_url.c_str());
    } else if (opt->redis_url.empty()) {
      streamq::test::redis_server_options server_options;
      server_options.enable_debug_command = false;
      own_server.emplace(std::move(server_options));
      opt->redis_url = own_server->url();
      std::fprintf(stderr, "streamq-bench: no --redis given: started redis-server at %s\n",
                   opt->redis_url.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamq-bench: cannot start a redis-server: %s\n", e.what());
    return 1;
  }

  try {
    return chosen->run(*opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamq-bench %.*s failed: %s\n", static_cast<int>(chosen->name.size()),
                 chosen->name.data(), e.what());
    return 1;
  }
}

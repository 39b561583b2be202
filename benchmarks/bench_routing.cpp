// Scenario `routing`: what routing through the cluster client costs, measured against the
// same work sent straight to one master, in one run.
//
// On a Redis Cluster (--redis names any node; without --redis a throwaway cluster of 3
// masters is started), it picks one master M, preferably not the node --redis names, and T
// stream keys bench:route-N (--topics, default 4) whose slots M serves. It then runs the xadd
// workload (bench_xadd.hpp: --count, --concurrency, --payload, --rate) on those keys 2R times
// (--rounds R, default 2), alternating the order of the pair in each round so that a drift of
// the machine hits both alike:
//   direct   cluster=off to M's address: the standalone client, one pipelined connection;
//   routed   cluster=on through the --redis node: the topology is read, and each XADD is
//            routed by its slot to the client's own connection to M.
// M does the same work in both; only the client's path differs.
//
// Prints one JSON line per run (scenario "routing", mode, round, node, then xadd's keys), then
// a summary line: direct_ops_per_sec and routed_ops_per_sec (medians over the rounds), their
// ratio routing_ratio = routed / direct, the client CPU per operation of both and cpu_ratio,
// and the per-round figures. Exit status 1 when a run failed or saw errors, or when the keys
// did not stay on M (the topology changed under the run).
#include "bench_cluster.hpp"
#include "bench_scenarios.hpp"
#include "bench_xadd.hpp"

#include <streamq/resp/request.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace streamq::bench {
namespace {

constexpr std::uint16_t slot_count = 16384;

struct placement {
  std::string seed;  // the node --redis names, as host:port
  std::string node;  // M
  std::vector<std::string> keys;
};

std::string host_port(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Reads the topology through a cluster client and chooses M and the keys.
placement place(const std::string& url, std::size_t topics) {
  redis::connection_config config = client_config(url);
  // Found out here, whatever the URL says: a standalone server is reported, not waited for.
  config.cluster.mode = redis::cluster_mode::auto_detect;
  placement p;
  p.seed = host_port(config.host, config.port);
  const std::string failure =
      run_with_client(config, [&](streamq::client& c) -> asio::awaitable<void> {
        resp::request probe;  // a keyed request: it waits for the mode and the topology
        probe.push("EXISTS", resp::key{"bench:route-probe"});
        co_await setup_exec(c, probe, "EXISTS bench:route-probe");
        std::set<std::string> masters;
        for (std::uint32_t slot = 0; slot < slot_count; ++slot)
          masters.insert(c.node_for_slot(static_cast<std::uint16_t>(slot)));
        masters.erase("");
        if (masters.empty())
          throw std::runtime_error(url + " is not a Redis Cluster (or no master serves a slot)");
        p.node = *masters.begin();
        for (const auto& m : masters)
          if (m != p.seed) {
            p.node = m;
            break;
          }
        for (std::size_t n = 0; p.keys.size() < topics; ++n) {
          std::string key = "bench:route-" + std::to_string(n);
          if (c.node_for_slot(resp::hash_slot(key)) == p.node) p.keys.push_back(std::move(key));
        }
      });
  if (!failure.empty()) throw std::runtime_error("reading the cluster's topology: " + failure);
  return p;
}

redis::connection_config direct_config(const std::string& url, const std::string& node) {
  redis::connection_config config = redis::parse_url(url);
  const auto colon = node.rfind(':');
  std::string host = node.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  config.host = host;
  config.port = static_cast<std::uint16_t>(std::stoul(node.substr(colon + 1)));
  config.cluster.seeds.clear();
  config.cluster.mode = redis::cluster_mode::off;
  return config;
}

redis::connection_config routed_config(const std::string& url) {
  redis::connection_config config = redis::parse_url(url);
  config.cluster.mode = redis::cluster_mode::on;
  return config;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string json_array(const std::vector<double>& v, int decimals) {
  std::string out = "[";
  for (const double x : v) {
    if (out.size() > 1) out += ',';
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
    out += buf;
  }
  return out + "]";
}

struct mode_figures {
  std::vector<double> ops_per_sec, cpu_us_per_op, p50_us, p99_us;
};

}  // namespace

int run_routing(const options& given) {
  options opt = given;
  if (!opt.topics_given) opt.topics = 4;
  if (is_sentinel_url(opt.redis_url))
    throw std::invalid_argument("routing needs a Redis Cluster, not sentinels");
  const placement p = place(opt.redis_url, opt.topics);
  std::fprintf(stderr, "streamq-bench routing: %zu keys on master %s; routed via %s\n",
               p.keys.size(), p.node.c_str(), p.seed.c_str());
  const redis::connection_config direct = direct_config(opt.redis_url, p.node);
  const redis::connection_config routed = routed_config(opt.redis_url);

  bool ok = true;
  mode_figures figures[2];  // [0] direct, [1] routed
  for (std::size_t round = 1; round <= opt.rounds; ++round) {
    for (int i = 0; i < 2; ++i) {
      const bool is_routed = (round % 2 == 1) == (i == 1);  // odd rounds: direct first
      xadd_state s(opt, p.keys);
      if (!run_xadd_workload(s, "routing", is_routed ? routed : direct)) return 1;
      const bool placed =
          std::all_of(s.masters.begin(), s.masters.end(),
                      [&](const std::string& m) { return is_routed ? m == p.node : m.empty(); });
      if (!placed) {
        std::fprintf(stderr, "streamq-bench routing: the keys left %s during the %s run\n",
                     p.node.c_str(), is_routed ? "routed" : "direct");
        ok = false;
      }
      ok = xadd_clean(s, "routing") && ok;

      json_line out;
      out.text("scenario", "routing")
          .text("mode", is_routed ? "routed" : "direct")
          .integer("round", static_cast<std::int64_t>(round))
          .text("node", p.node);
      add_xadd_fields(out, s);
      std::printf("%s\n", out.str().c_str());
      std::fflush(stdout);

      const double elapsed = xadd_elapsed_s(s);
      const double n = static_cast<double>(s.measured_done);
      auto& f = figures[is_routed ? 1 : 0];
      f.ops_per_sec.push_back(elapsed > 0 ? n / elapsed : 0.0);
      f.cpu_us_per_op.push_back(n > 0 ? (s.cpu_end - s.cpu_start) * 1e6 / n : 0.0);
      f.p50_us.push_back(s.latency.quantile_ns(0.50) / 1e3);
      f.p99_us.push_back(s.latency.quantile_ns(0.99) / 1e3);
    }
  }

  const double d_ops = median(figures[0].ops_per_sec), r_ops = median(figures[1].ops_per_sec);
  const double d_cpu = median(figures[0].cpu_us_per_op), r_cpu = median(figures[1].cpu_us_per_op);
  json_line out;
  out.text("scenario", "routing")
      .text("node", p.node)
      .text("via", p.seed)
      .integer("topics", static_cast<std::int64_t>(p.keys.size()))
      .integer("count", static_cast<std::int64_t>(opt.count))
      .integer("concurrency", static_cast<std::int64_t>(opt.concurrency))
      .integer("payload", static_cast<std::int64_t>(opt.payload))
      .integer("rounds", static_cast<std::int64_t>(opt.rounds))
      .number("direct_ops_per_sec", d_ops, 0)
      .number("routed_ops_per_sec", r_ops, 0)
      .number("routing_ratio", d_ops > 0 ? r_ops / d_ops : 0.0, 3)
      .number("direct_cpu_us_per_op", d_cpu)
      .number("routed_cpu_us_per_op", r_cpu)
      .number("cpu_ratio", d_cpu > 0 ? r_cpu / d_cpu : 0.0, 3)
      .number("direct_p50_us", median(figures[0].p50_us))
      .number("routed_p50_us", median(figures[1].p50_us))
      .number("direct_p99_us", median(figures[0].p99_us))
      .number("routed_p99_us", median(figures[1].p99_us))
      .raw("direct_ops_per_sec_rounds", json_array(figures[0].ops_per_sec, 0))
      .raw("routed_ops_per_sec_rounds", json_array(figures[1].ops_per_sec, 0))
      .boolean("ok", ok);
  std::printf("%s\n", out.str().c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace streamq::bench

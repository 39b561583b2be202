// Scenario `xadd`: C coroutines share one streamq::client (one pipelined connection, or one
// per master on a cluster) and each loops `XADD bench:streamq * f <payload>` until N
// operations have completed; with --topics T the operations go round-robin to the streams
// bench:streamq-0 .. bench:streamq-(T-1). See bench_xadd.hpp for the workload.
#include "bench_xadd.hpp"

#include "bench_cluster.hpp"
#include "bench_observability.hpp"
#include "bench_scenarios.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace streamq::bench {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view stream_key = "bench:streamq";

void note_error(xadd_state& s, bool measured, const std::string& what) {
  ++(measured ? s.errors : s.warmup_errors);
  if (s.first_error.empty()) s.first_error = what;
}

asio::awaitable<void> xadd_worker(xadd_state& s, streamq::client& client) {
  // Built once and reused: a producer that knows its command shape pays for serialisation
  // of the payload only (here not even that), so what remains is the client's own cost.
  std::vector<resp::request> reqs(s.keys.size());
  for (std::size_t k = 0; k < s.keys.size(); ++k)
    reqs[k].push("XADD", resp::key{s.keys[k]}, "*", "f", s.payload);
  resp::response<std::string> reply;  // the entry ID, as a real producer would want it
  asio::steady_timer pace_timer(client.get_executor());

  while (!s.stop && s.next_ticket < s.total) {
    const std::uint64_t ticket = s.next_ticket++;
    const std::size_t k = static_cast<std::size_t>(ticket % s.keys.size());
    const bool measured = ticket >= s.warmup;
    bench_clock::time_point due{};
    if (s.pace.enabled()) {
      due = s.pace.due(ticket);
      if (due > bench_clock::now()) {
        pace_timer.expires_at(due);
        co_await pace_timer.async_wait(use_tuple);
      }
    }
    const auto issued = bench_clock::now();
    if (ticket == s.warmup) {
      s.window_start = issued;
      s.cpu_start = process_cpu_seconds();
      s.stats_start = client.shared_connection().stats();
    }

    auto [ec] = co_await client.async_exec(reqs[k], reply, use_tuple);

    const auto done = bench_clock::now();
    ++s.completed;
    if (measured) {
      s.latency.record(done - issued);
      if (s.pace.enabled()) s.from_due.record(done - due);
      s.window_end = done;
      if (++s.measured_done == s.opt.count) s.cpu_end = process_cpu_seconds();
    }
    if (ec) {
      note_error(s, measured, "XADD: " + ec.message());
      if (client.shared_connection().state() == redis::connection_state::stopped) s.stop = true;
    } else if (const auto& id = reply.get<0>(); !id.has_value()) {
      note_error(
          s, measured,
          "XADD reply: " + (id.diagnostic().empty() ? id.error().message() : id.diagnostic()));
    } else if (measured) {
      ++s.key_messages[k];
    }
  }
}

asio::awaitable<void> xadd_measured(xadd_state& s, streamq::client& client);

asio::awaitable<void> xadd_body(xadd_state& s, streamq::client& client) {
  // One DEL per key: independent commands of several slots, which a cluster client splits.
  resp::request del;
  for (const auto& key : s.keys) del.push("DEL", resp::key{key});
  co_await setup_exec(client, del, "DEL " + s.keys.front() + (s.keys.size() > 1 ? " ..." : ""));
  s.masters = masters_of(client, s.keys);  // the mode is known once a request has run
  // --http: the client's connection metrics served while the XADDs run.
  std::optional<observability> observed;
  if (!s.opt.http.empty()) observed.emplace(client, s.opt.http);
  if (observed)
    co_await observed->run_beside(xadd_measured(s, client));
  else
    co_await xadd_measured(s, client);
}

asio::awaitable<void> xadd_measured(xadd_state& s, streamq::client& client) {
  s.workers.emplace(client.get_executor());
  s.pace.start(bench_clock::now());
  for (std::size_t i = 0; i < s.opt.concurrency; ++i) s.workers->spawn(xadd_worker(s, client));

  // Far longer than any sane operation; with --rate, longer than the gap between two tickets.
  const auto limit = std::chrono::seconds(10) +
                     std::chrono::seconds(s.opt.rate > 0 ? static_cast<long>(2 / s.opt.rate) : 0);
  auto raced = co_await (s.workers->wait() || stall_watchdog(s.completed, limit));
  if (raced.index() == 1) {
    s.stop = true;
    throw std::runtime_error("no XADD completed for " + std::to_string(limit.count()) + " s (" +
                             std::to_string(s.completed) + " of " + std::to_string(s.total) +
                             " done)" +
                             (s.first_error.empty() ? "" : "; first error: " + s.first_error));
  }
  if (auto failure = s.workers->failure()) std::rethrow_exception(failure);
  if (s.cpu_end < 0) s.cpu_end = process_cpu_seconds();
  s.stats_end = client.shared_connection().stats();
}

bool is_cluster(const xadd_state& s) {
  return std::any_of(s.masters.begin(), s.masters.end(),
                     [](const std::string& m) { return !m.empty(); });
}

}  // namespace

xadd_state::xadd_state(const options& o, std::vector<std::string> stream_keys)
    : opt(o), keys(std::move(stream_keys)), payload(o.payload, 'x'), pace(o.rate) {
  if (keys.empty()) throw std::invalid_argument("xadd needs at least one stream key");
  warmup = std::max<std::uint64_t>(opt.count / 100, opt.concurrency);
  total = warmup + opt.count;
  key_messages.assign(keys.size(), 0);
}

bool run_xadd_workload(xadd_state& s, std::string_view name,
                       const redis::connection_config& config) {
  return run_scenario(name, config, [&s](streamq::client& c) { return xadd_body(s, c); });
}

double xadd_elapsed_s(const xadd_state& s) {
  return std::chrono::duration<double>(s.window_end - s.window_start).count();
}

void add_xadd_fields(json_line& out, const xadd_state& s) {
  const options& opt = s.opt;
  phase_result r;
  r.count = s.measured_done;
  r.errors = s.errors;
  r.elapsed_s = xadd_elapsed_s(s);
  r.cpu_s = s.cpu_end - s.cpu_start;
  r.latency = &s.latency;

  out.integer("concurrency", static_cast<std::int64_t>(opt.concurrency))
      .integer("payload", static_cast<std::int64_t>(opt.payload))
      .number("rate", opt.rate, opt.rate == std::floor(opt.rate) ? 0 : 3)
      .integer("warmup", static_cast<std::int64_t>(s.warmup));
  add_phase_fields(out, r);
  const auto requests = s.stats_end.requests - s.stats_start.requests;
  const auto writes = s.stats_end.writes - s.stats_start.writes;
  // In cluster mode the shared connection is the seed, which carries none of the XADDs.
  out.number("requests_per_write",
             is_cluster(s) ? std::numeric_limits<double>::quiet_NaN()
             : writes      ? static_cast<double>(requests) / static_cast<double>(writes)
                           : 0.0,
             1);
  if (opt.rate > 0) {
    // Measured from when each operation was due: includes time spent queued behind a client
    // that fell behind the schedule, which issue-to-completion latency hides.
    out.number("p50_from_due_us", s.from_due.quantile_ns(0.50) / 1e3)
        .number("p99_from_due_us", s.from_due.quantile_ns(0.99) / 1e3)
        .number("p999_from_due_us", s.from_due.quantile_ns(0.999) / 1e3);
  }
  add_topic_fields(out, s.masters, s.key_messages, r.elapsed_s);
}

bool xadd_clean(const xadd_state& s, std::string_view name) {
  if (s.errors + s.warmup_errors == 0) return true;
  std::fprintf(stderr, "streamq-bench %.*s: %llu operations failed; first: %s\n",
               static_cast<int>(name.size()), name.data(),
               static_cast<unsigned long long>(s.errors + s.warmup_errors), s.first_error.c_str());
  return false;
}

int run_xadd(const options& opt) {
  xadd_state s(opt, topic_names(stream_key, opt.topics));
  if (!run_xadd_workload(s, "xadd", client_config(opt.redis_url))) return 1;

  json_line out;
  out.text("scenario", "xadd");
  add_xadd_fields(out, s);
  std::printf("%s\n", out.str().c_str());
  std::fflush(stdout);
  return xadd_clean(s, "xadd") ? 0 : 1;
}

}  // namespace streamq::bench

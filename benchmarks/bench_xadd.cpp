// Scenario `xadd`: C coroutines share one streamq::client (one pipelined connection) and each
// loops `XADD bench:streamq * f <payload>` until N operations have completed. Latency is
// measured per operation from issue to completion; the first ~1% of operations (at least C)
// warm up the connection, allocator and server and are not counted.
#include "bench_runtime.hpp"
#include "bench_scenarios.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

namespace streamq::bench {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view stream_key = "bench:streamq";

struct xadd_state {
  explicit xadd_state(const options& o) : opt(o), payload(o.payload, 'x'), pace(o.rate) {
    warmup = std::max<std::uint64_t>(opt.count / 100, opt.concurrency);
    total = warmup + opt.count;
  }

  const options& opt;
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
  std::optional<worker_group> workers;  // outlives the body: workers may end after it
};

void note_error(xadd_state& s, bool measured, const std::string& what) {
  ++(measured ? s.errors : s.warmup_errors);
  if (s.first_error.empty()) s.first_error = what;
}

asio::awaitable<void> xadd_worker(xadd_state& s, streamq::client& client) {
  // Built once and reused: a producer that knows its command shape pays for serialisation
  // of the payload only (here not even that), so what remains is the client's own cost.
  resp::request req;
  req.push("XADD", resp::key{stream_key}, "*", "f", s.payload);
  resp::response<std::string> reply;  // the entry ID, as a real producer would want it
  asio::steady_timer pace_timer(client.get_executor());

  while (!s.stop && s.next_ticket < s.total) {
    const std::uint64_t ticket = s.next_ticket++;
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

    auto [ec] = co_await client.async_exec(req, reply, use_tuple);

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
    }
  }
}

asio::awaitable<void> xadd_body(xadd_state& s, streamq::client& client) {
  resp::request del;
  del.push("DEL", resp::key{stream_key});
  co_await setup_exec(client, del, "DEL " + std::string(stream_key));

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

}  // namespace

int run_xadd(const options& opt) {
  xadd_state s(opt);
  if (!run_scenario("xadd", opt.redis_url, [&s](streamq::client& c) { return xadd_body(s, c); }))
    return 1;

  phase_result r;
  r.count = s.measured_done;
  r.errors = s.errors;
  r.elapsed_s = std::chrono::duration<double>(s.window_end - s.window_start).count();
  r.cpu_s = s.cpu_end - s.cpu_start;
  r.latency = &s.latency;

  json_line out;
  out.text("scenario", "xadd")
      .integer("concurrency", static_cast<std::int64_t>(opt.concurrency))
      .integer("payload", static_cast<std::int64_t>(opt.payload))
      .number("rate", opt.rate, opt.rate == std::floor(opt.rate) ? 0 : 3)
      .integer("warmup", static_cast<std::int64_t>(s.warmup));
  add_phase_fields(out, r);
  const auto requests = s.stats_end.requests - s.stats_start.requests;
  const auto writes = s.stats_end.writes - s.stats_start.writes;
  out.number("requests_per_write",
             writes ? static_cast<double>(requests) / static_cast<double>(writes) : 0.0, 1);
  if (opt.rate > 0) {
    // Measured from when each operation was due: includes time spent queued behind a client
    // that fell behind the schedule, which issue-to-completion latency hides.
    out.number("p50_from_due_us", s.from_due.quantile_ns(0.50) / 1e3)
        .number("p99_from_due_us", s.from_due.quantile_ns(0.99) / 1e3)
        .number("p999_from_due_us", s.from_due.quantile_ns(0.999) / 1e3);
  }
  std::printf("%s\n", out.str().c_str());
  std::fflush(stdout);

  if (s.errors + s.warmup_errors > 0) {
    std::fprintf(stderr, "streamq-bench xadd: %llu operations failed; first: %s\n",
                 static_cast<unsigned long long>(s.errors + s.warmup_errors),
                 s.first_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace streamq::bench

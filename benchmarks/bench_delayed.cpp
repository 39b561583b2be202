// Scenario `delayed`: delayed tasks through streams::scheduler, scheduling side and moving side
// in one process on one io_context and one streamq::client.
//
// C coroutines (--concurrency) share one streams::scheduler and schedule N BenchEvent tasks
// (--count; seq = task number, P-byte body as in e2e) with publish_at. Task i is due at
//
//   t0 + lead + i * W / N   (integer milliseconds; W = --window-ms)
//
// where t0 is when scheduling starts and lead is long enough for the scheduling to end before
// the first task is due: a calibration round first schedules min(N, max(2000, 8 C)) tasks an
// hour ahead (then deletes them), and lead = 1.5 x the time N tasks take at that rate + 250 ms
// (at least 500 ms). The scheduler's run() polls from the start of scheduling on, as a
// deployed one would.
// Once scheduling has ended, a reader on a dedicated connection follows the topic stream with
// XREAD BLOCK and, for every entry, decodes the task number and takes
//
//   lateness = (entry ID milliseconds) - (due milliseconds)
//
// Both are the server's clock: the poll script moves a task when its due time (the sorted-set
// score) is <= the server's TIME, and XADD stamps the entry ID from the same clock, so the
// figure needs no clock agreement between client and server, and costs nothing to measure.
// Its resolution is 1 ms: lateness 0 means moved within the millisecond it fell due.
//
// The run ends when every task has been seen once; then the reader waits for two more polls
// and reads whatever else reached the stream (duplicates). It gives up once 10 s have passed
// since the last due time and since the last entry arrived; the tasks not seen by then are
// reported as missing.
//
// The topic is bench-delayed-<pid>; its keys are deleted before and after the run.
//
// Reported (one JSON line, also when tasks are missing): ops_per_sec = distinct tasks seen /
// (first due time -> the last entry's ID time), so at most the offered N / W;
// p50_us/p99_us/p999_us/max_us = lateness in microseconds, which is the millisecond figure x 1000
// (no finer resolution exists); client_cpu_us_per_op = process CPU from the end of scheduling to
// the last task seen (scheduler polls, the reader's XREAD and decoding) / tasks seen;
// schedule_per_sec = N / (first publish_at -> last reply). moved, early, duplicated, missing,
// lateness_*_ms are counts and whole milliseconds. The exit status is 1 if any task is missing,
// duplicated or early, or anything failed. --rate is ignored.
#include "bench_runtime.hpp"
#include "bench_scenarios.hpp"

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/scheduler.hpp>

#include <bench_messages.pb.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace streamq::bench {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::int64_t give_up_after_ms = 10'000;  // past the last due time, without progress
constexpr std::size_t read_batch = 1024;           // XREAD COUNT
constexpr int read_block_ms = 100;                 // XREAD BLOCK

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::system_clock::time_point unix_time(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

struct delayed_state {
  explicit delayed_state(const options& o)
      : opt(o),
        topic("bench-delayed-" + std::to_string(::getpid())),
        keys(topic),
        payload(o.payload, 'x'),
        type_name(bench::BenchEvent::descriptor()->full_name()) {}

  const options& opt;
  std::string topic;
  streams::topic_keys keys;
  std::string payload;
  std::string type_name;  // Envelope.type of our tasks

  // Scheduling. Tickets [next_ticket, ticket_end) are left; while calibrating, every task is
  // due at calibration_due_ms, otherwise task i at due_ms[i].
  std::vector<std::int64_t> due_ms;
  bool calibrating = false;
  std::int64_t calibration_due_ms = 0;
  std::uint64_t next_ticket = 0;
  std::uint64_t ticket_end = 0;
  std::uint64_t scheduled = 0;  // publish_at calls that returned a task ID (this phase)
  std::uint64_t schedule_errors = 0;
  std::string first_error;
  bool stop = false;
  std::optional<worker_group> workers;

  std::int64_t lead_ms = 0;
  bench_clock::time_point schedule_start{}, schedule_end{};
  double cpu_schedule_start = 0, cpu_schedule_end = 0;
  std::int64_t schedule_end_unix_ms = 0;

  // Reading the topic stream.
  std::string last_id = "0-0";
  std::vector<std::uint8_t> seen;      // per task: seen once already
  std::vector<std::int64_t> lateness;  // ms, one per distinct task seen
  std::uint64_t unique = 0;            // distinct tasks seen
  std::uint64_t duplicated = 0;        // entries of a task seen before
  std::uint64_t early = 0;             // tasks whose entry ID is before their due time
  std::uint64_t malformed = 0;         // entries that are not one of our tasks
  std::int64_t last_entry_ms = std::numeric_limits<std::int64_t>::min();
  bench_clock::time_point end{};
  double cpu_end = 0;

  std::uint64_t still_scheduled = 0;  // ZCARD of the delayed set at the end
  streams::scheduler_stats final_stats{};
  std::exception_ptr scheduler_failure;
  std::string failure;
};

streams::scheduler_config make_config(const std::string& topic) {
  streams::scheduler_config config;
  config.topics.push_back(topic);
  return config;
}

void note_error(delayed_state& s, const std::string& what) {
  ++s.schedule_errors;
  if (s.first_error.empty()) s.first_error = what;
}

asio::awaitable<void> schedule_worker(delayed_state& s, streams::scheduler& sched) {
  bench::BenchEvent event;
  event.set_body(s.payload);
  while (!s.stop && s.next_ticket < s.ticket_end) {
    const std::uint64_t ticket = s.next_ticket++;
    const std::int64_t due = s.calibrating ? s.calibration_due_ms : s.due_ms[ticket];
    event.set_seq(ticket);
    try {
      co_await sched.publish_at(s.topic, event, unix_time(due));
      ++s.scheduled;
    } catch (const std::exception& e) {
      note_error(s, std::string("publish_at: ") + e.what());
    }
  }
}

// Schedules tickets [0, count) with C workers and waits for all of them.
asio::awaitable<void> schedule_all(delayed_state& s, streams::scheduler& sched,
                                   streamq::client& client, std::uint64_t count) {
  s.next_ticket = 0;
  s.ticket_end = count;
  s.scheduled = 0;
  s.workers.emplace(client.get_executor());
  const auto workers = std::min<std::uint64_t>(s.opt.concurrency, count);
  for (std::uint64_t i = 0; i < workers; ++i) s.workers->spawn(schedule_worker(s, sched));
  co_await s.workers->wait();
  if (auto failure = s.workers->failure()) std::rethrow_exception(failure);
}

resp::request del_request(const streams::topic_keys& keys) {
  resp::request req;
  req.push("DEL", resp::key{keys.stream()}, resp::key{keys.delayed()},
           resp::key{keys.delayed_data()}, resp::key{keys.meta()}, resp::key{keys.cron()});
  return req;
}

resp::request xread_request(const delayed_state& s, bool block) {
  resp::request req;
  if (block)
    req.push("XREAD", "COUNT", read_batch, "BLOCK", read_block_ms, "STREAMS",
             resp::key{s.keys.stream()}, s.last_id);
  else
    req.push("XREAD", "COUNT", read_batch, "STREAMS", resp::key{s.keys.stream()}, s.last_id);
  return req;
}

resp::request zcard_request(const delayed_state& s) {
  resp::request req;
  req.push("ZCARD", resp::key{s.keys.delayed()});
  return req;
}

// The milliseconds part of a stream entry ID ("ms-seq"); -1 if it has none.
std::int64_t id_ms(std::string_view id) {
  std::int64_t ms = -1;
  const auto dash = id.find('-');
  const auto digits = id.substr(0, dash);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
  return ec == std::errc{} && ptr == digits.data() + digits.size() ? ms : -1;
}

void take_entry(delayed_state& s, resp::value& entry, std::vector<std::string>& fields,
                v1::Envelope& envelope, bench::BenchEvent& event) {
  if (entry.elements.size() != 2) {
    ++s.malformed;
    return;
  }
  s.last_id = entry.elements[0].text;
  const std::int64_t ms = id_ms(s.last_id);
  fields.clear();
  for (auto& f : entry.elements[1].elements) fields.push_back(std::move(f.text));
  if (ms < 0 || streams::decode_entry(std::span<const std::string>(fields), envelope) ||
      envelope.type() != s.type_name || !event.ParseFromString(envelope.payload()) ||
      event.seq() >= s.opt.count) {
    ++s.malformed;
    return;
  }
  auto& seen = s.seen[event.seq()];
  if (seen) {
    ++s.duplicated;
    return;
  }
  seen = 1;
  ++s.unique;
  const std::int64_t late = ms - s.due_ms[event.seq()];
  if (late < 0) ++s.early;
  s.lateness.push_back(late);
  s.last_entry_ms = std::max(s.last_entry_ms, ms);
}

// Takes every entry of an XREAD reply; returns how many there were.
std::size_t take_entries(delayed_state& s, resp::value& reply) {
  if (reply.is_null()) return 0;  // BLOCK timed out
  std::size_t n = 0;
  std::vector<std::string> fields;
  v1::Envelope envelope;
  bench::BenchEvent event;
  auto each_stream = [&](resp::value& entries) {
    for (auto& entry : entries.elements) {
      take_entry(s, entry, fields, envelope, event);
      ++n;
    }
  };
  // RESP3: a map stream -> entries; RESP2: an array of [stream, entries].
  if (reply.data_type == resp::type::map) {
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      each_stream(reply.elements[i + 1]);
  } else {
    for (auto& pair : reply.elements)
      if (pair.elements.size() == 2) each_stream(pair.elements[1]);
  }
  return n;
}

// One XREAD on the dedicated connection; returns the number of entries, or -1 after a
// transport error (already waited out). Throws on an error reply.
asio::awaitable<long> read_once(delayed_state& s, redis::connection& conn, bool block) {
  const resp::request req = xread_request(s, block);
  resp::response<resp::value> reply;
  auto [ec] = co_await conn.async_exec(req, reply, use_tuple);
  if (ec) {
    asio::steady_timer pause(conn.get_executor(), std::chrono::milliseconds(100));
    co_await pause.async_wait(use_tuple);
    co_return -1;
  }
  auto& result = reply.get<0>();
  if (!result.has_value()) throw std::runtime_error("XREAD refused: " + result.diagnostic());
  co_return static_cast<long>(take_entries(s, result.value()));
}

// Schedules, follows the stream until every task is seen (or gives up), then looks for
// duplicates. Never throws (it runs inside ||): failures go to s.failure.
asio::awaitable<void> drive(delayed_state& s, streams::scheduler& sched, redis::connection& conn,
                            streamq::client& client) {
  try {
    s.schedule_start = bench_clock::now();
    s.cpu_schedule_start = process_cpu_seconds();
    co_await schedule_all(s, sched, client, s.opt.count);
    s.schedule_end = bench_clock::now();
    s.cpu_schedule_end = process_cpu_seconds();
    s.schedule_end_unix_ms = unix_now_ms();

    const std::int64_t last_due = s.due_ms.back();
    std::int64_t last_progress_ms = unix_now_ms();
    while (s.unique < s.opt.count) {
      const long n = co_await read_once(s, conn, true);
      const std::int64_t now = unix_now_ms();
      if (n > 0) last_progress_ms = now;
      if (now >= std::max(last_due, last_progress_ms) + give_up_after_ms) break;
    }
    s.end = bench_clock::now();
    s.cpu_end = process_cpu_seconds();

    // Give a scheduler that would move a task twice the chance: two more polls (the first
    // may have started before the last task was seen), at most 3 s.
    const auto polls = sched.stats().polls;
    asio::steady_timer timer(client.get_executor());
    const auto until = bench_clock::now() + std::chrono::seconds(3);
    while (sched.stats().polls < polls + 2 && bench_clock::now() < until) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(use_tuple);
    }
    for (int tries = 0; tries < 10;) {
      const long n = co_await read_once(s, conn, false);
      if (n == 0) break;
      if (n < 0) ++tries;
    }

    const resp::request zcard = zcard_request(s);
    resp::response<std::int64_t> count;
    auto [ec] = co_await client.async_exec(zcard, count, use_tuple);
    if (!ec && count.get<0>().has_value())
      s.still_scheduled = static_cast<std::uint64_t>(count.get<0>().value());
    s.final_stats = sched.stats();
  } catch (const std::exception& e) {
    s.stop = true;
    s.failure = std::string("delayed driver: ") + e.what();
  }
}

asio::awaitable<void> run_scheduler(delayed_state& s, streams::scheduler& sched) {
  try {
    co_await sched.run();
  } catch (...) {
    s.scheduler_failure = std::current_exception();
  }
}

asio::awaitable<void> delayed_body(delayed_state& s, streamq::client& client) {
  const resp::request del = del_request(s.keys);
  co_await setup_exec(client, del, "DEL of the topic's keys");

  streams::scheduler sched(client, make_config(s.topic));

  // Calibration: how fast this client schedules, to choose the lead. It also loads the script.
  const std::uint64_t calibration =
      std::min<std::uint64_t>(s.opt.count, std::max<std::uint64_t>(2000, 8 * s.opt.concurrency));
  s.calibrating = true;
  s.calibration_due_ms = unix_now_ms() + 3'600'000;
  const auto calibration_start = bench_clock::now();
  co_await schedule_all(s, sched, client, calibration);
  const double calibration_s =
      std::chrono::duration<double>(bench_clock::now() - calibration_start).count();
  if (s.schedule_errors > 0)
    throw std::runtime_error("scheduling failed while calibrating: " + s.first_error);
  co_await setup_exec(client, del, "DEL of the topic's keys");
  s.calibrating = false;

  const double per_sec = static_cast<double>(calibration) / std::max(calibration_s, 1e-6);
  const double estimate_ms = 1000.0 * static_cast<double>(s.opt.count) / per_sec;
  s.lead_ms = std::max<std::int64_t>(500, static_cast<std::int64_t>(1.5 * estimate_ms) + 250);

  const std::uint64_t n = s.opt.count;
  const std::uint64_t w = s.opt.window_ms;
  const std::int64_t first_due = unix_now_ms() + s.lead_ms;
  s.due_ms.resize(n);
  for (std::uint64_t i = 0; i < n; ++i)
    s.due_ms[i] = first_due + static_cast<std::int64_t>(i * w / n);
  s.seen.assign(n, 0);
  s.lateness.reserve(n);

  auto conn = client.make_dedicated_connection("bench-delayed");
  auto raced = co_await (run_scheduler(s, sched) || conn->async_run(use_tuple) ||
                         drive(s, sched, *conn, client));
  s.stop = true;
  if (s.workers) co_await s.workers->wait();  // schedulers still running after a failure
  if (s.scheduler_failure) std::rethrow_exception(s.scheduler_failure);
  if (!s.failure.empty()) throw std::runtime_error(s.failure);
  if (raced.index() == 0) throw std::runtime_error("the scheduler stopped before the run ended");
  if (raced.index() == 1)
    throw std::runtime_error("the reader's connection stopped: " +
                             std::get<0>(std::get<1>(raced)).message());
  // The topic is this process's own: leave nothing behind on the server.
  co_await setup_exec(client, del, "DEL of the topic's keys");
}

// Nearest-rank quantile of sorted values; 0 when empty.
std::int64_t quantile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

int run_delayed(const options& given) {
  options opt = given;
  if (!opt.count_given) opt.count = 100'000;
  delayed_state s(opt);
  if (!run_scenario("delayed", opt.redis_url,
                    [&s](streamq::client& c) { return delayed_body(s, c); }))
    return 1;

  std::vector<std::int64_t> late = s.lateness;
  std::sort(late.begin(), late.end());
  double mean_ms = 0;
  for (const auto v : late) mean_ms += static_cast<double>(v);
  if (!late.empty()) mean_ms /= static_cast<double>(late.size());
  const std::int64_t first_due = s.due_ms.front();
  const double elapsed =
      s.unique > 0
          ? static_cast<double>(std::max<std::int64_t>(1, s.last_entry_ms - first_due)) / 1e3
          : 0.0;
  const double schedule_elapsed =
      std::chrono::duration<double>(s.schedule_end - s.schedule_start).count();
  const double unique = static_cast<double>(s.unique);
  const std::uint64_t missing = opt.count - s.unique;
  const std::uint64_t errors = s.schedule_errors + s.malformed;
  const auto us = [&](double q) { return static_cast<double>(quantile(late, q)) * 1e3; };
  const bool overlapped = s.schedule_end_unix_ms > first_due;

  json_line out;
  out.text("scenario", "delayed")
      .integer("concurrency", static_cast<std::int64_t>(opt.concurrency))
      .integer("payload", static_cast<std::int64_t>(opt.payload))
      .integer("window_ms", static_cast<std::int64_t>(opt.window_ms))
      .integer("lead_ms", s.lead_ms)
      .integer("count", static_cast<std::int64_t>(opt.count))
      .integer("scheduled", static_cast<std::int64_t>(s.scheduled))
      .integer("moved", static_cast<std::int64_t>(s.unique + s.duplicated))
      .integer("early", static_cast<std::int64_t>(s.early))
      .integer("duplicated", static_cast<std::int64_t>(s.duplicated))
      .integer("missing", static_cast<std::int64_t>(missing))
      .integer("still_scheduled", static_cast<std::int64_t>(s.still_scheduled))
      .integer("errors", static_cast<std::int64_t>(errors))
      .number("elapsed_s", elapsed, 3)
      .number("ops_per_sec", elapsed > 0 ? unique / elapsed : 0.0, 0)
      .number("schedule_elapsed_s", schedule_elapsed, 6)
      .number("schedule_per_sec",
              schedule_elapsed > 0 ? static_cast<double>(s.scheduled) / schedule_elapsed : 0.0, 0)
      .number("schedule_cpu_us_per_task", s.scheduled > 0
                                              ? (s.cpu_schedule_end - s.cpu_schedule_start) * 1e6 /
                                                    static_cast<double>(s.scheduled)
                                              : 0.0)
      .boolean("schedule_overlapped", overlapped)
      .number("mean_us", mean_ms * 1e3)
      .number("p50_us", us(0.50))
      .number("p90_us", us(0.90))
      .number("p99_us", us(0.99))
      .number("p999_us", us(0.999))
      .number("max_us", late.empty() ? 0.0 : static_cast<double>(late.back()) * 1e3)
      .integer("lateness_p50_ms", quantile(late, 0.50))
      .integer("lateness_p99_ms", quantile(late, 0.99))
      .integer("lateness_max_ms", late.empty() ? 0 : late.back())
      .number("client_cpu_us_per_op",
              unique > 0 ? (s.cpu_end - s.cpu_schedule_end) * 1e6 / unique : 0.0)
      .integer("polls", static_cast<std::int64_t>(s.final_stats.polls))
      .integer("poll_errors", static_cast<std::int64_t>(s.final_stats.poll_errors));
  std::printf("%s\n", out.str().c_str());
  std::fflush(stdout);

  if (overlapped)
    std::fprintf(stderr,
                 "streamq-bench delayed: note: scheduling ended %lld ms after the first task was "
                 "due (lead %lld ms was too short): early tasks were moved while scheduling\n",
                 static_cast<long long>(s.schedule_end_unix_ms - first_due),
                 static_cast<long long>(s.lead_ms));
  if (missing > 0 || s.duplicated > 0 || s.early > 0 || errors > 0) {
    std::fprintf(stderr,
                 "streamq-bench delayed: %llu missing, %llu duplicated, %llu early, %llu "
                 "scheduling errors, %llu foreign or malformed entries%s%s\n",
                 static_cast<unsigned long long>(missing),
                 static_cast<unsigned long long>(s.duplicated),
                 static_cast<unsigned long long>(s.early),
                 static_cast<unsigned long long>(s.schedule_errors),
                 static_cast<unsigned long long>(s.malformed),
                 s.first_error.empty() ? "" : "; first error: ", s.first_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace streamq::bench

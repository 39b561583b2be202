// Scenario `fanout`: one topic, G consumer groups (--groups), one failing. What one group's
// retries do to the other groups: the delivery promise is that every group handles each
// message once, whatever another group's handler does.
//
// G streams::consumer objects (groups fanout-0 .. fanout-<G-1>, each its own consumer on the
// one client and io_context) subscribe to the topic bench-fanout-<pid>. Group 0's handler
// throws on each message the first K times it sees it (--fail-first), then succeeds; the other
// groups' handlers never fail. Retries are quick (retry_policy base 1 ms, cap 10 ms) and
// allowed K + 1 runs (max_attempts, and max_deliveries at least that), so group 0 dead-letters
// nothing unless the consumer counts attempts wrongly. C coroutines (--concurrency, default
// 64) publish N messages (--count, default 10000), each carrying its sequence number, after
// every group exists.
//
// After the last publish the run drains (up to --drain-timeout S, default 30): it waits until
// every group has been delivered every entry that reached the stream and has acknowledged them
// all (XINFO STREAM and XINFO GROUPS: see wait_drained). The consumers then stop, and each
// group's pending count is read once more.
//
// One JSON line per group: group (its index), group_name, handled (handler runs), succeeded
// (runs that returned), duplicates (successful runs beyond the first per message), missing
// (published messages this group never succeeded on), dead_lettered and retried (the
// consumer's counters), pending_at_end, drained, and the run's groups, fail_first, count,
// published and elapsed_s (first publish to the end of the drain). Nothing about the expected
// figures is assumed here: duplicates in the groups that never fail are the measurement. The
// exit status is 1 when a publish failed, a consumer stopped with an error, or the drain did
// not finish within its timeout.
#include "bench_runtime.hpp"
#include "bench_scenarios.hpp"

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/publisher.hpp>

#include <bench_messages.pb.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace streamq::bench {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t consumer_concurrency = 256;
constexpr auto stall_limit = std::chrono::seconds(10);

// What one group's handler saw, per message (by sequence number) and in total.
struct group_tally {
  std::string name;
  std::vector<std::uint32_t> failures;   // planned failures so far (group 0 only)
  std::vector<std::uint32_t> successes;  // successful runs
  std::uint64_t handled = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t first_successes = 0;  // messages succeeded on at least once
  streams::consumer_stats final_stats{};
  std::uint64_t pending_at_end = 0;
};

struct fanout_state {
  explicit fanout_state(const options& o)
      : opt(o),
        topic("bench-fanout-" + std::to_string(::getpid())),
        payload(o.payload, 'x'),
        published_ok(o.count, 0) {
    for (std::size_t g = 0; g < o.groups; ++g) {
      group_tally t;
      t.name = "fanout-" + std::to_string(g);
      t.successes.assign(o.count, 0);
      if (g == 0) t.failures.assign(o.count, 0);
      tallies.push_back(std::move(t));
      group_names.push_back(tallies.back().name);
    }
  }

  const options& opt;
  std::string topic;
  std::string payload;
  std::vector<std::uint8_t> published_ok;  // per sequence number: its publish succeeded
  std::vector<group_tally> tallies;
  std::vector<std::string> group_names;

  std::uint64_t next_ticket = 0;
  std::uint64_t published = 0;
  std::uint64_t publish_errors = 0;
  std::uint64_t progress = 0;  // publishes and handler runs: the stall watchdog's input
  std::string first_error;
  bool stop = false;
  bool drained = false;
  bench_clock::time_point start{}, end{};
};

asio::awaitable<void> handle(fanout_state& s, std::size_t g, const bench::BenchEvent& e) {
  auto& t = s.tallies[g];
  ++t.handled;
  ++s.progress;
  const std::uint64_t seq = e.seq();
  if (seq < s.opt.count) {
    if (g == 0 && t.failures[seq] < s.opt.fail_first) {
      ++t.failures[seq];
      throw std::runtime_error("fanout: planned failure " + std::to_string(t.failures[seq]) +
                               " of message " + std::to_string(seq));
    }
    if (t.successes[seq]++ == 0)
      ++t.first_successes;
    else
      ++t.duplicates;
  }
  ++t.succeeded;
  co_return;
}

asio::awaitable<void> publish_worker(fanout_state& s, streams::publisher& pub) {
  bench::BenchEvent event;
  event.set_body(s.payload);
  while (!s.stop && s.next_ticket < s.opt.count) {
    const std::uint64_t ticket = s.next_ticket++;
    event.set_seq(ticket);
    try {
      co_await pub.publish(s.topic, event);
      s.published_ok[ticket] = 1;
      ++s.published;
    } catch (const std::exception& e) {
      ++s.publish_errors;
      if (s.first_error.empty()) s.first_error = std::string("publish: ") + e.what();
    }
    ++s.progress;
  }
}

// Waits for the groups, publishes, then drains. Throws on failure; the caller stops the
// consumers either way.
asio::awaitable<void> drive(fanout_state& s, streams::publisher& pub, worker_group& runs,
                            std::vector<std::unique_ptr<streams::consumer>>& consumers,
                            streamq::client& client) {
  const std::string stream = streams::topic_keys(s.topic).stream();
  const auto check_consumers = [&runs] {
    if (auto failure = runs.failure()) std::rethrow_exception(failure);
    if (runs.running() == 0) throw std::runtime_error("the consumers stopped on their own");
  };
  // Every consumer creates its group (MKSTREAM) as it starts: publish once all exist.
  asio::steady_timer timer(client.get_executor());
  for (const auto until = bench_clock::now() + std::chrono::seconds(10);;) {
    check_consumers();
    std::optional<stream_state> state;
    try {
      state = co_await read_stream_state(client, stream);
    } catch (const std::runtime_error&) {
      // no stream yet
    }
    if (state && std::all_of(s.group_names.begin(), s.group_names.end(),
                             [&](const std::string& g) { return state->group(g) != nullptr; }))
      break;
    if (bench_clock::now() > until)
      throw std::runtime_error("the consumer groups were not created in 10 s");
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(use_tuple);
  }

  worker_group publishers(client.get_executor());
  s.start = bench_clock::now();
  for (std::size_t i = 0; i < s.opt.concurrency; ++i) publishers.spawn(publish_worker(s, pub));
  co_await (publishers.wait() || stall_watchdog(s.progress, stall_limit));
  if (publishers.running() > 0) {
    s.stop = true;
    co_await publishers.wait();
    throw std::runtime_error("no progress for " + std::to_string(stall_limit.count()) +
                             " s while publishing (published " + std::to_string(s.published) +
                             " of " + std::to_string(s.opt.count) + ")");
  }
  if (auto failure = publishers.failure()) std::rethrow_exception(failure);

  s.drained = co_await wait_drained(
      client, stream, s.group_names, std::chrono::seconds(s.opt.drain_timeout_s), [&] {
        check_consumers();
        for (std::size_t g = 0; g < s.tallies.size(); ++g)
          if (s.tallies[g].first_successes + consumers[g]->stats().dead_lettered < s.published)
            return false;
        return true;
      });
  s.end = bench_clock::now();
}

asio::awaitable<void> fanout_body(fanout_state& s, streamq::client& client) {
  const streams::topic_keys keys(s.topic);
  resp::request del;
  del.push("DEL", resp::key{keys.stream()});
  for (const auto& g : s.group_names) del.push("DEL", resp::key{keys.dead_letters(g)});
  co_await setup_exec(client, del, "DEL " + keys.stream());

  const streams::consumer_config defaults{};
  std::vector<std::unique_ptr<streams::consumer>> consumers;
  for (std::size_t g = 0; g < s.tallies.size(); ++g) {
    streams::consumer_config cfg{.group = s.tallies[g].name, .concurrency = consumer_concurrency};
    cfg.block = std::chrono::milliseconds(100);  // bounds how long the stop at the end takes
    cfg.retry.base = std::chrono::milliseconds(1);
    cfg.retry.cap = std::chrono::milliseconds(10);
    cfg.retry.max_attempts = s.opt.fail_first + 1;
    cfg.max_deliveries = std::max(defaults.max_deliveries, s.opt.fail_first + 1);
    auto& c = *consumers.emplace_back(std::make_unique<streams::consumer>(client, cfg));
    c.subscribe<bench::BenchEvent>(
        s.topic,
        [&s, g](const bench::BenchEvent& e, streams::message_context&) { return handle(s, g, e); });
  }

  // Each consumer's run() is stopped through its own signal once the driver is done.
  std::vector<asio::cancellation_signal> stops(consumers.size());
  worker_group runs(client.get_executor());
  for (std::size_t g = 0; g < consumers.size(); ++g)
    runs.spawn(consumers[g]->run(), stops[g].slot());

  std::exception_ptr failure;
  try {
    streams::publisher pub(client);
    co_await drive(s, pub, runs, consumers, client);
  } catch (...) {
    failure = std::current_exception();
  }
  for (auto& stop : stops) stop.emit(asio::cancellation_type::terminal);
  co_await runs.wait();
  for (std::size_t g = 0; g < consumers.size(); ++g)
    s.tallies[g].final_stats = consumers[g]->stats();
  if (failure) std::rethrow_exception(failure);
  if (auto run_failure = runs.failure()) std::rethrow_exception(run_failure);

  // After the stop: what each group still holds once its consumer has flushed its acks.
  const stream_state final_state = co_await read_stream_state(client, keys.stream());
  for (auto& t : s.tallies) {
    const group_state* g = final_state.group(t.name);
    if (g == nullptr) throw std::runtime_error("group " + t.name + " is gone");
    t.pending_at_end = g->pending;
  }
}

}  // namespace

int run_fanout(const options& given) {
  options opt = given;
  if (!opt.count_given) opt.count = 10'000;
  if (!opt.concurrency_given) opt.concurrency = 64;  // publishing coroutines
  fanout_state s(opt);
  if (!run_scenario("fanout", opt.redis_url,
                    [&s](streamq::client& c) { return fanout_body(s, c); }))
    return 1;

  const double elapsed = std::chrono::duration<double>(s.end - s.start).count();
  for (std::size_t g = 0; g < s.tallies.size(); ++g) {
    const auto& t = s.tallies[g];
    std::uint64_t missing = 0;
    for (std::uint64_t i = 0; i < opt.count; ++i)
      missing += s.published_ok[i] && t.successes[i] == 0;
    json_line out;
    out.text("scenario", "fanout")
        .integer("group", static_cast<std::int64_t>(g))
        .text("group_name", t.name)
        .integer("groups", static_cast<std::int64_t>(opt.groups))
        .integer("fail_first", opt.fail_first)
        .integer("count", static_cast<std::int64_t>(opt.count))
        .integer("published", static_cast<std::int64_t>(s.published))
        .integer("handled", static_cast<std::int64_t>(t.handled))
        .integer("succeeded", static_cast<std::int64_t>(t.succeeded))
        .integer("duplicates", static_cast<std::int64_t>(t.duplicates))
        .integer("missing", static_cast<std::int64_t>(missing))
        .integer("dead_lettered", static_cast<std::int64_t>(t.final_stats.dead_lettered))
        .integer("retried", static_cast<std::int64_t>(t.final_stats.retried))
        .integer("pending_at_end", static_cast<std::int64_t>(t.pending_at_end))
        .boolean("drained", s.drained)
        .number("elapsed_s", elapsed, 6);
    std::printf("%s\n", out.str().c_str());
  }
  std::fflush(stdout);

  if (s.publish_errors > 0)
    std::fprintf(stderr, "streamq-bench fanout: %llu publishes failed; first: %s\n",
                 static_cast<unsigned long long>(s.publish_errors), s.first_error.c_str());
  if (!s.drained)
    std::fprintf(stderr, "streamq-bench fanout: not drained within --drain-timeout (%llu s)\n",
                 static_cast<unsigned long long>(opt.drain_timeout_s));
  if (s.publish_errors > 0 || !s.drained) return 1;
  return 0;
}

}  // namespace streamq::bench

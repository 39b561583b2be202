// Scenario `e2e`: typed messages through a consumer group, publisher and consumer in one
// process on one io_context and one streamq::client (one pipelined connection).
//
// C publishing coroutines (--concurrency) share one streams::publisher and publish N
// BenchEvent messages in total (--count) carrying P bytes (--payload), paced by --rate if
// given, to one topic, or with --topics T round-robin to T topics (bench-e2e-PID-0 ..); the
// consumer subscribes to all of them. On a cluster the client routes each topic to its
// master, and the JSON line adds each master's share (nodes). One consumer (group "bench",
// 256 handlers at once, or --consumer-concurrency H) runs a no-op handler that records the
// publish-to-handler latency from the steady-clock send time embedded in each message.
// While publishing, a stall watchdog ends the run with a failure if nothing progresses for
// 10 s. After the last publish the run drains: it waits (up to --drain-timeout S, default 30)
// until the group has been delivered every entry that reached each stream and has
// acknowledged them all (XINFO STREAM and XINFO GROUPS: see wait_drained), whatever the
// consumer's own counters say. Then the consumer stops and the groups' pending counts are
// read once more (pending_at_end is their sum).
//
// ops_per_sec is acked messages per second over the measured run: first publish to the first
// millisecond poll that sees stats().acked reach N (or, after publish errors, the number
// published), or to the end of the drain if that never happens; publish_per_sec is N over
// first publish to last publish confirmation. No warm-up: every message counts.
// pending_at_end is the group's pending count (summed over the topics) after the consumer
// stopped; lost counts messages whose publish succeeded but whose handler never ran, tracked
// by the sequence number each message carries. drained says whether the drain finished
// within its timeout.
// The exit status is 1 when any publish failed, the acknowledgements do not match N, the
// drain timed out, or something is pending or lost at the end.
//
// With --partitions P (issue 12) the one topic (bench-e2e-PID-pP-MS: fresh per run, since a
// count only grows) is made partitioned with set_partitions(P); each message carries the
// partition key "k<seq mod 1000>" and goes through a partitioned_publisher (by key), and ONE
// partitioned_consumer member reads it: alone in its group, it holds all P partitions, each
// with a consumer of the settings above (256 handlers each, so 256 * P in all). Measuring
// starts as without partitions, once the member holds all P leases, every partition's stream
// (and so its group) exists, and the publisher knows the count: the lease and count reads
// stay outside the measured window, as the group's creation does. The drain and pending_at_end
// cover every partition's stream; the JSON line adds `partitions` (0 without), and its
// `topics` stays the number of topics (1), on a cluster `nodes` counting partitions as topics.
//
// With --ordered as well (issue 12's key-ordered target; a flag without a value, a usage error
// without --partitions), the member subscribes with subscription_options::per_key_concurrency
// = 1: the messages of one key are handled one at a time, in the order of their partition's
// stream (a message waits, held back, while an earlier one of its key runs). Everything else is
// as with --partitions alone: 1000 keys, so about 1000 / P keys per partition and at most that
// many of its 256 handlers busy at once. The JSON line ends with `ordered` (false without).
#include "bench_cluster.hpp"
#include "bench_observability.hpp"
#include "bench_runtime.hpp"
#include "bench_scenarios.hpp"

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <bench_messages.pb.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace streamq::bench {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view group_name = "bench";
constexpr auto stall_limit = std::chrono::seconds(10);
constexpr std::size_t partition_keys = 1000;  // --partitions: message seq has key k<seq % 1000>

// The consumer of an unpartitioned run, and each partition's consumer of a partitioned one.
streams::consumer_config consumer_settings(const options& o) {
  streams::consumer_config c;
  c.group = std::string(group_name);
  c.concurrency = o.consumer_concurrency;  // 256 unless --consumer-concurrency
  return c;
}

// The topic base name: unchanged without partitions (scripts know it); with them, fresh per
// run, since a topic's partition count never shrinks and its leases outlive a crashed run.
std::string topic_base(const options& o) {
  std::string base = "bench-e2e-" + std::to_string(::getpid());
  if (o.partitions == 0) return base;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return base + "-p" + std::to_string(o.partitions) + "-" + std::to_string(ms);
}

std::int64_t steady_ns(bench_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct e2e_state {
  explicit e2e_state(const options& o)
      : opt(o),
        topics(topic_names(topic_base(o), o.topics)),
        payload(o.payload, 'x'),
        pace(o.rate) {
    if (o.partitions == 0) {
      for (const auto& t : topics) streams.push_back(streams::topic_keys(t).stream());
    } else {
      for (std::uint32_t p = 0; p < o.partitions; ++p)
        streams.push_back(
            streams::topic_keys(streams::partition_topic(topics.front(), p)).stream());
      for (std::size_t k = 0; k < partition_keys; ++k) keys.push_back("k" + std::to_string(k));
    }
    topic_handled.assign(streams.size(), 0);
  }

  const options& opt;
  std::vector<std::string> topics;   // message seq goes to topics[seq % topics.size()]
  // Their stream keys; with --partitions, those of the one topic's partitions.
  std::vector<std::string> streams;
  std::vector<std::string> keys;  // --partitions: the partition keys, k0 .. k999
  std::string payload;
  pacer pace;

  std::uint64_t next_ticket = 0;
  std::uint64_t published = 0;      // publish calls that returned an entry ID
  std::uint64_t publish_errors = 0;
  std::uint64_t handled = 0;        // handler runs
  std::vector<std::uint64_t> topic_handled;  // handler runs per stream (topic or partition)
  std::vector<std::string> masters;          // per stream: its master (empty: not a cluster)
  observability* observed = nullptr;         // --http: what serves the metrics
  std::vector<std::uint8_t> published_ok;  // per sequence number: its publish succeeded
  std::vector<std::uint8_t> seen;          // per sequence number: its handler ran
  std::uint64_t progress = 0;       // published + handled (+ failures): the watchdog's input
  std::string first_error;
  bool stop = false;

  latency_histogram latency;  // publish (send time in the message) -> handler start
  bench_clock::time_point start{}, publish_end{}, end{};
  double cpu_start = 0, cpu_end = 0;
  bool measured = false;  // end and cpu_end are set
  bool drained = false;
  std::uint64_t pending_at_end = 0;
  streams::consumer_stats final_stats{};
  std::optional<worker_group> workers;
};

void end_measurement(e2e_state& s) {
  if (s.measured) return;
  s.measured = true;
  s.end = bench_clock::now();
  s.cpu_end = process_cpu_seconds();
}

void note_error(e2e_state& s, const std::string& what) {
  ++s.publish_errors;
  ++s.progress;
  if (s.first_error.empty()) s.first_error = what;
}

// The handler's bookkeeping; `lane` is the index of the message's stream in s.streams.
void note_handled(e2e_state& s, const bench::BenchEvent& e, std::size_t lane) {
  const std::int64_t lat = steady_ns(bench_clock::now()) - e.sent_at_ns();
  s.latency.record(static_cast<std::uint64_t>(lat > 0 ? lat : 0));
  if (e.seq() < s.seen.size()) s.seen[e.seq()] = 1;
  ++s.handled;
  if (lane < s.topic_handled.size()) ++s.topic_handled[lane];
  ++s.progress;
}

// Publishes through `keyed` (with a partition key) when it is given, else through `pub`.
asio::awaitable<void> publish_worker(e2e_state& s, streams::publisher& pub,
                                     streams::partitioned_publisher* keyed) {
  bench::BenchEvent event;
  event.set_body(s.payload);
  streams::envelope_options keyed_options;  // named: GCC 12 and temporaries in co_await
  asio::steady_timer pace_timer(co_await asio::this_coro::executor);
  while (!s.stop && s.next_ticket < s.opt.count) {
    const std::uint64_t ticket = s.next_ticket++;
    if (s.pace.enabled()) {
      const auto due = s.pace.due(ticket);
      if (due > bench_clock::now()) {
        pace_timer.expires_at(due);
        co_await pace_timer.async_wait(use_tuple);
      }
    }
    event.set_seq(ticket);
    event.set_sent_at_ns(steady_ns(bench_clock::now()));
    try {
      if (keyed != nullptr) {
        keyed_options.partition_key = s.keys[ticket % s.keys.size()];
        co_await keyed->publish(s.topics.front(), event, keyed_options);
      } else {
        co_await pub.publish(s.topics[ticket % s.topics.size()], event);
      }
      s.published_ok[ticket] = 1;
      ++s.published;
      ++s.progress;
      s.publish_end = bench_clock::now();
    } catch (const std::exception& e) {
      note_error(s, std::string("publish: ") + e.what());
    }
  }
}

// The consumer side as drive() sees it: an unpartitioned consumer or a partitioned member.
struct consumer_view {
  std::function<streams::consumer_stats()> stats;
  std::function<bool()> ready;  // may publishing start (a member: it holds every partition)
};

// Publishes everything and waits for every acknowledgement. Never throws (it runs inside
// ||, where an exception would not stop the consumer): failures are returned as text.
// `keyed`: publish through it, by key (--partitions); null: through `pub`.
asio::awaitable<std::string> drive(e2e_state& s, streams::publisher& pub,
                                   streams::partitioned_publisher* keyed,
                                   const consumer_view& cons, streamq::client& client) {
  try {
    asio::steady_timer timer(client.get_executor());
    const auto until = bench_clock::now() + std::chrono::seconds(10);
    // A partitioned member takes its leases (and starts the partitions' consumers) on its
    // first heartbeat: wait for all of them, so no partition waits for a later one.
    while (!cons.ready()) {
      if (bench_clock::now() > until)
        co_return "the partitioned consumer did not hold all " +
                  std::to_string(s.opt.partitions) + " partitions within 10 s";
      timer.expires_after(std::chrono::milliseconds(5));
      co_await timer.async_wait(use_tuple);
    }
    // The consumer creates its group with MKSTREAM: once the stream exists, the group does,
    // and publishing can start without the group's creation inside the measured window.
    for (const auto& stream : s.streams) {
      resp::request exists;
      exists.push("EXISTS", resp::key{stream});
      while (true) {
        resp::response<std::int64_t> reply;
        auto [ec] = co_await client.async_exec(exists, reply, use_tuple);
        if (!ec && reply.get<0>().has_value() && reply.get<0>().value() == 1) break;
        if (bench_clock::now() > until)
          co_return "the consumer group of " + stream + " was not created in 10 s";
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(use_tuple);
      }
    }
    // The publisher reads a topic's count on its first publish: read it now, outside the
    // measured window (it is kept for refresh_interval, 5 s, then read again).
    if (keyed != nullptr) {
      const std::string& topic = s.topics.front();
      const std::uint32_t known = co_await keyed->partitions_of(topic);
      if (known != s.opt.partitions)
        co_return "the publisher sees " + std::to_string(known) + " partitions of " + topic +
                  ", not " + std::to_string(s.opt.partitions);
    }

    s.workers.emplace(client.get_executor());
    s.start = bench_clock::now();
    s.cpu_start = process_cpu_seconds();
    s.pace.start(s.start);
    for (std::size_t i = 0; i < s.opt.concurrency; ++i)
      s.workers->spawn(publish_worker(s, pub, keyed));

    // Poll the acknowledgements every millisecond while publishing; give up after stall_limit
    // without progress. With --rate, allow for the gap between two tickets too.
    const auto limit = stall_limit + std::chrono::duration_cast<bench_clock::duration>(
                                         std::chrono::duration<double>(
                                             s.opt.rate > 0 ? 2.0 / s.opt.rate : 0.0));
    // Everything published is acknowledged, as far as the consumer's counters tell.
    const auto all_acked = [&s](const streams::consumer_stats& st) {
      return st.acked >= s.opt.count || (s.workers->running() == 0 && st.acked >= s.published);
    };
    std::uint64_t last_progress = 0;
    auto last_change = bench_clock::now();
    while (s.workers->running() > 0) {
      const auto st = cons.stats();
      const auto now = bench_clock::now();
      if (all_acked(st)) end_measurement(s);
      const std::uint64_t p = s.progress + st.acked + st.retried + st.dead_lettered;
      if (p != last_progress) {
        last_progress = p;
        last_change = now;
      } else if (now - last_change >= limit) {
        s.stop = true;
        co_return "no progress for " + std::to_string(stall_limit.count()) + " s (published " +
                  std::to_string(s.published) + ", acked " + std::to_string(st.acked) + " of " +
                  std::to_string(s.opt.count) + ")" +
                  (s.first_error.empty() ? "" : "; first error: " + s.first_error);
      }
      timer.expires_after(std::chrono::milliseconds(1));
      co_await timer.async_wait(use_tuple);
    }
    const std::string group[] = {std::string(group_name)};
    s.drained = co_await wait_drained(client, s.streams, group,
                                      std::chrono::seconds(s.opt.drain_timeout_s), [&] {
                                        const bool acked = all_acked(cons.stats());
                                        if (acked) end_measurement(s);
                                        return acked;
                                      });
    end_measurement(s);  // the counters never got there: the run ends with the drain
    co_await s.workers->wait();
    if (auto failure = s.workers->failure()) std::rethrow_exception(failure);
    co_return "";
  } catch (const std::exception& e) {
    s.stop = true;
    co_return std::string("e2e driver: ") + e.what();
  }
}

// One consumer subscribed to every topic. Returns drive()'s failure ("" on success).
asio::awaitable<std::string> plain_run(e2e_state& s, streamq::client& client,
                                       streams::publisher& pub) {
  streams::consumer cons(client, consumer_settings(s.opt));
  metrics::watch_handle watched_consumer;  // dropped before cons
  if (s.observed != nullptr) watched_consumer = s.observed->watch(cons);
  for (std::size_t t = 0; t < s.topics.size(); ++t) {
    cons.subscribe<bench::BenchEvent>(
        s.topics[t],
        [&s, t](const bench::BenchEvent& e, streams::message_context&) -> asio::awaitable<void> {
          note_handled(s, e, t);
          co_return;
        });
  }
  const consumer_view view{[&cons] { return cons.stats(); }, [] { return true; }};
  std::string failure;
  auto driven = [&]() -> asio::awaitable<void> {
    failure = co_await drive(s, pub, nullptr, view, client);
  };
  co_await (cons.run() || driven());
  s.final_stats = cons.stats();
  co_return failure;
}

// The N of a partition's topic name "T#N" (names.hpp), or `otherwise`. Not
// parse_partition_topic, which validates the whole name: this runs for every message.
std::size_t partition_of(std::string_view topic, std::size_t otherwise) {
  const auto hash = topic.rfind('#');
  std::size_t n = 0;
  if (hash == std::string_view::npos) return otherwise;
  const auto [end, ec] = std::from_chars(topic.data() + hash + 1, topic.data() + topic.size(), n);
  return ec == std::errc{} && end == topic.data() + topic.size() ? n : otherwise;
}

// --partitions: the topic made partitioned, published to by key, read by one member.
asio::awaitable<std::string> partitioned_run(e2e_state& s, streamq::client& client,
                                             streams::publisher& pub) {
  const std::string& topic = s.topics.front();
  const std::uint32_t wanted = s.opt.partitions;
  const std::uint32_t count = co_await streams::set_partitions(client, topic, wanted);
  if (count != wanted)
    throw std::runtime_error(topic + " has " + std::to_string(count) + " partitions, not " +
                             std::to_string(wanted));
  streams::partitioned_publisher keyed(pub);
  streams::partitioned_consumer_config config;
  config.consumer = consumer_settings(s.opt);
  streams::partitioned_consumer member(client, std::move(config));
  streams::subscription_options sub_options;  // the defaults; --ordered: one per key at a time
  if (s.opt.ordered) sub_options.per_key_concurrency = 1;
  member.subscribe<bench::BenchEvent>(
      topic,
      [&s](const bench::BenchEvent& e, streams::message_context& ctx) -> asio::awaitable<void> {
        note_handled(s, e, partition_of(ctx.topic, s.topic_handled.size()));
        co_return;
      },
      sub_options);
  const consumer_view view{[&member] { return member.stats(); },
                           [&member, wanted] { return member.owned().size() == wanted; }};
  std::string failure;
  auto driven = [&]() -> asio::awaitable<void> {
    failure = co_await drive(s, pub, &keyed, view, client);
  };
  co_await (member.run() || driven());
  s.final_stats = member.stats();
  if (s.workers) co_await s.workers->wait();  // publishers still waiting out a stall use `keyed`
  co_return failure;
}

asio::awaitable<void> e2e_body(e2e_state& s, streamq::client& client) {
  // One DEL per stream: independent commands of several slots, which a cluster client splits.
  resp::request del;
  for (const auto& stream : s.streams) del.push("DEL", resp::key{stream});
  co_await setup_exec(client, del,
                      "DEL " + s.streams.front() + (s.streams.size() > 1 ? " ..." : ""));
  s.masters = masters_of(client, s.streams);  // the mode is known once a request has run

  streams::publisher pub(client);
  std::string failure;
  auto run = [&]() -> asio::awaitable<void> {
    if (s.opt.partitions > 0)
      failure = co_await partitioned_run(s, client, pub);
    else
      failure = co_await plain_run(s, client, pub);
  };
  if (s.opt.http.empty()) {
    co_await run();
  } else {
    // --http: the publisher, the consumer (plain topics), the client and each topic's group
    // watched while the run goes.
    observability observed(client, s.opt.http);
    const auto watched_publisher = observed.watch(pub);
    if (s.opt.partitions == 0)
      for (const auto& topic : s.topics) observed.watch_topic(topic, std::string(group_name));
    s.observed = &observed;
    co_await observed.run_beside(run());
    s.observed = nullptr;
  }
  if (s.workers) co_await s.workers->wait();  // publishers still waiting out a stall
  if (!failure.empty()) throw std::runtime_error(failure);
  // After the stop: what the group still holds once the consumer has flushed its acks.
  s.pending_at_end = 0;
  for (const auto& stream : s.streams) {
    const stream_state final_state = co_await read_stream_state(client, stream);
    const group_state* g = final_state.group(group_name);
    if (g == nullptr)
      throw std::runtime_error("group " + std::string(group_name) + " of " + stream + " is gone");
    s.pending_at_end += g->pending;
  }
}

}  // namespace

int run_e2e(const options& given) {
  options opt = given;
  if (!opt.concurrency_given) opt.concurrency = 64;  // publishing coroutines
  if (opt.ordered && opt.partitions == 0) {
    std::fprintf(stderr, "streamq-bench e2e: --ordered needs --partitions P (1..1024)\n");
    return 2;
  }
  e2e_state s(opt);
  s.published_ok.assign(opt.count, 0);
  s.seen.assign(opt.count, 0);
  if (!run_scenario("e2e", opt.redis_url,
                    [&s](streamq::client& c) { return e2e_body(s, c); }))
    return 1;

  const double elapsed = std::chrono::duration<double>(s.end - s.start).count();
  const double publish_elapsed = std::chrono::duration<double>(s.publish_end - s.start).count();
  const auto& st = s.final_stats;
  const std::uint64_t errors = s.publish_errors + st.retried + st.dead_lettered;
  const double acked = static_cast<double>(st.acked);
  std::uint64_t lost = 0;
  for (std::uint64_t i = 0; i < opt.count; ++i) lost += s.published_ok[i] && !s.seen[i];
  const auto us = [&](double q) { return s.latency.quantile_ns(q) / 1e3; };

  json_line out;
  out.text("scenario", "e2e")
      .integer("concurrency", static_cast<std::int64_t>(opt.concurrency))
      .integer("consumer_concurrency", static_cast<std::int64_t>(opt.consumer_concurrency))
      .integer("payload", static_cast<std::int64_t>(opt.payload))
      .number("rate", opt.rate, opt.rate == std::floor(opt.rate) ? 0 : 3)
      .integer("count", static_cast<std::int64_t>(opt.count))
      .integer("published", static_cast<std::int64_t>(s.published))
      .integer("acked", static_cast<std::int64_t>(st.acked))
      .integer("handled", static_cast<std::int64_t>(s.handled))
      .integer("errors", static_cast<std::int64_t>(errors))
      .number("elapsed_s", elapsed, 6)
      .number("ops_per_sec", elapsed > 0 ? acked / elapsed : 0.0, 0)
      .number("publish_per_sec",
              publish_elapsed > 0 ? static_cast<double>(s.published) / publish_elapsed : 0.0, 0)
      .number("mean_us", s.latency.mean_ns() / 1e3)
      .number("p50_us", us(0.50))
      .number("p90_us", us(0.90))
      .number("p99_us", us(0.99))
      .number("p999_us", us(0.999))
      .number("max_us", static_cast<double>(s.latency.max_ns()) / 1e3)
      .number("client_cpu_us_per_op", acked > 0 ? (s.cpu_end - s.cpu_start) * 1e6 / acked : 0.0)
      .integer("pending_at_end", static_cast<std::int64_t>(s.pending_at_end))
      .integer("lost", static_cast<std::int64_t>(lost))
      .boolean("drained", s.drained);
  if (opt.partitions > 0)
    add_topic_fields(out, s.topics.size(), s.masters, s.topic_handled, elapsed);
  else
    add_topic_fields(out, s.masters, s.topic_handled, elapsed);
  out.integer("partitions", static_cast<std::int64_t>(opt.partitions));
  out.boolean("ordered", opt.ordered);
  std::printf("%s\n", out.str().c_str());
  std::fflush(stdout);

  if (!s.drained || s.pending_at_end > 0 || lost > 0) {
    std::fprintf(stderr,
                 "streamq-bench e2e: %s; %llu pending in the group at the end, %llu published "
                 "messages never handled\n",
                 s.drained ? "drained" : "not drained within --drain-timeout",
                 static_cast<unsigned long long>(s.pending_at_end),
                 static_cast<unsigned long long>(lost));
  }
  if (errors > 0 || st.acked != opt.count || !s.drained || s.pending_at_end > 0 || lost > 0) {
    std::fprintf(stderr,
                 "streamq-bench e2e: %llu errors (publish %llu, retried %llu, dead-lettered "
                 "%llu), %llu of %llu acked; first: %s\n",
                 static_cast<unsigned long long>(errors),
                 static_cast<unsigned long long>(s.publish_errors),
                 static_cast<unsigned long long>(st.retried),
                 static_cast<unsigned long long>(st.dead_lettered),
                 static_cast<unsigned long long>(st.acked),
                 static_cast<unsigned long long>(opt.count), s.first_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace streamq::bench

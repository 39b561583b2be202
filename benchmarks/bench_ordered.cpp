// Scenario `ordered`: per-key ordering on a partitioned topic under transient failures.
//
//   streamq-bench ordered --partitions P --keys K --fail-rate F [--count N] [--redis URL]
//                 [--concurrency C] [--consumer-concurrency H] [--drain-timeout S]
//
// The topic (bench-ordered-PID-pP-MS: fresh per run, since a partition count only grows) is
// made partitioned with set_partitions(P). N BenchEvent messages (--count, default 20000) go
// through a partitioned_publisher with partition key "k<i % K>"; the message's seq is i, so
// it carries its key (i % K) and its sequence number within the key (i / K). Publishing
// keeps each key's order: C coroutines (--concurrency, default 64, at most K) each own the
// keys k with k % C == their index and publish those messages one after another, in order.
//
// ONE partitioned_consumer member ("bench-a", group "bench-ordered") reads the topic with
// subscription_options{.per_key_concurrency = 1}; its consumers retry with base 5 ms, cap
// 20 ms, no jitter, up to 50 attempts, and look at the retry set every 20 ms. The handler
// throws a transient std::runtime_error on a message's first attempt (ctx.attempt == 0) with
// probability F, decided by a PRNG seeded with the message's seq (deterministic), so every
// message eventually succeeds.
//
// The ledger: per key, the sequence number of its last successful handler run. A success
// whose sequence is not last + 1 is an order violation; a message that succeeds a second time
// is a duplicate; lost = N - distinct successes. The run ends once all N succeeded, or
// --drain-timeout S (default 30) after the last publish (then lost > 0), never hanging.
// One JSON line: order_violations, lost, duplicates, ops_per_sec (distinct successes per
// second from the first publish to the last success), rebalance_ms (null: the members do not
// change in this run), partitions, keys, fail_rate, count, retries (consumer stats retried),
// and a few more. Exit status 1 when order_violations > 0 or lost > 0 (or the run failed).
#include "bench_runtime.hpp"
#include "bench_scenarios.hpp"

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <bench_messages.pb.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
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
constexpr std::string_view group_name = "bench-ordered";
constexpr std::string_view member_name = "bench-a";
constexpr std::uint64_t default_count = 20'000;

// --keys and --fail-rate: taken off the command line by take_ordered_flags().
std::size_t flag_keys = 64;
double flag_fail_rate = 0.01;

// splitmix64: the message's seq decides whether its first attempt fails.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool first_attempt_fails(std::uint64_t seq, double rate) noexcept {
  const double u = static_cast<double>(mix(seq) >> 11) * 0x1.0p-53;  // [0, 1)
  return u < rate;
}

std::string topic_name(std::uint32_t partitions) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return "bench-ordered-" + std::to_string(::getpid()) + "-p" + std::to_string(partitions) +
         "-" + std::to_string(ms);
}

struct ordered_state {
  ordered_state(const options& o, std::size_t k, double f)
      : opt(o), keys(k), fail_rate(f), topic(topic_name(o.partitions)) {
    for (std::size_t i = 0; i < keys; ++i) key_names.push_back("k" + std::to_string(i));
    last_seq.assign(keys, -1);
    successes.assign(opt.count, 0);
  }

  const options& opt;
  std::size_t keys;
  double fail_rate;
  std::string topic;
  std::vector<std::string> key_names;  // k0 .. k<K-1>

  // The ledger.
  std::vector<std::int64_t> last_seq;    // per key: sequence of its last success (-1: none)
  std::vector<std::uint8_t> successes;   // per message: successful handler runs (capped)
  std::uint64_t distinct = 0;            // messages that succeeded at least once
  std::uint64_t order_violations = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t injected = 0;            // first attempts made to fail
  std::uint64_t out_of_range = 0;        // messages whose seq is not one of this run's

  std::uint64_t published = 0;
  std::uint64_t publish_errors = 0;
  std::string first_error;
  bool stop = false;

  bench_clock::time_point start{}, publish_end{}, last_success{};
  bool timed_out = false;
  streams::consumer_stats final_stats{};
  std::optional<worker_group> workers;
};

// The handler: fails the first attempt at rate F, else records the success in the ledger.
asio::awaitable<void> handle(ordered_state& s, const bench::BenchEvent& e,
                             const streams::message_context& ctx) {
  const std::uint64_t seq = e.seq();
  if (ctx.attempt == 0 && first_attempt_fails(seq, s.fail_rate)) {
    ++s.injected;
    throw std::runtime_error("injected transient failure");
  }
  if (seq >= s.opt.count) {
    ++s.out_of_range;
    co_return;
  }
  const std::size_t key = static_cast<std::size_t>(seq % s.keys);
  const auto key_seq = static_cast<std::int64_t>(seq / s.keys);
  if (key_seq != s.last_seq[key] + 1) ++s.order_violations;
  s.last_seq[key] = key_seq;
  if (s.successes[seq] == 0) {
    ++s.distinct;
    s.last_success = bench_clock::now();
  } else {
    ++s.duplicates;
  }
  if (s.successes[seq] < 255) ++s.successes[seq];
  co_return;
}

// Publisher `index` of `workers`: the messages of the keys k with k % workers == index, in order.
asio::awaitable<void> publish_worker(ordered_state& s, streams::partitioned_publisher& keyed,
                                     std::size_t index, std::size_t workers) {
  bench::BenchEvent event;
  streams::envelope_options keyed_options;  // named: GCC 12 and temporaries in co_await
  for (std::uint64_t i = 0; i < s.opt.count && !s.stop; ++i) {
    const std::size_t key = static_cast<std::size_t>(i % s.keys);
    if (key % workers != index) continue;
    event.set_seq(i);
    event.set_sent_at_ns(
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            bench_clock::now().time_since_epoch())
            .count());
    keyed_options.partition_key = s.key_names[key];
    try {
      co_await keyed.publish(s.topic, event, keyed_options);
      ++s.published;
      s.publish_end = bench_clock::now();
    } catch (const std::exception& e) {
      ++s.publish_errors;
      if (s.first_error.empty()) s.first_error = std::string("publish: ") + e.what();
    }
  }
}

// Waits for the member to hold every partition, publishes everything, then waits until all N
// succeeded or the drain timeout passed. Never throws (it runs inside ||): returns a failure.
asio::awaitable<std::string> drive(ordered_state& s, streams::partitioned_publisher& keyed,
                                   streams::partitioned_consumer& member,
                                   streamq::client& client) {
  try {
    asio::steady_timer timer(client.get_executor());
    const auto until = bench_clock::now() + std::chrono::seconds(10);
    while (member.owned().size() != s.opt.partitions) {
      if (bench_clock::now() > until)
        co_return "the partitioned consumer did not hold all " +
                  std::to_string(s.opt.partitions) + " partitions within 10 s";
      timer.expires_after(std::chrono::milliseconds(5));
      co_await timer.async_wait(use_tuple);
    }
    const std::uint32_t known = co_await keyed.partitions_of(s.topic);
    if (known != s.opt.partitions)
      co_return "the publisher sees " + std::to_string(known) + " partitions of " + s.topic +
                ", not " + std::to_string(s.opt.partitions);

    const std::size_t publishers = std::max<std::size_t>(1, std::min(s.opt.concurrency, s.keys));
    s.workers.emplace(client.get_executor());
    s.start = bench_clock::now();
    for (std::size_t w = 0; w < publishers; ++w)
      s.workers->spawn(publish_worker(s, keyed, w, publishers));

    std::optional<bench_clock::time_point> deadline;
    while (s.distinct < s.opt.count) {
      if (!deadline && s.workers->running() == 0)
        deadline = bench_clock::now() + std::chrono::seconds(s.opt.drain_timeout_s);
      if (deadline && bench_clock::now() >= *deadline) {
        s.timed_out = true;
        break;
      }
      timer.expires_after(std::chrono::milliseconds(1));
      co_await timer.async_wait(use_tuple);
    }
    s.stop = true;
    co_await s.workers->wait();
    if (auto failure = s.workers->failure()) std::rethrow_exception(failure);
    co_return "";
  } catch (const std::exception& e) {
    s.stop = true;
    co_return std::string("ordered driver: ") + e.what();
  }
}

asio::awaitable<void> ordered_body(ordered_state& s, streamq::client& client) {
  const std::uint32_t wanted = s.opt.partitions;
  const std::uint32_t count = co_await streams::set_partitions(client, s.topic, wanted);
  if (count != wanted)
    throw std::runtime_error(s.topic + " has " + std::to_string(count) + " partitions, not " +
                             std::to_string(wanted));

  streams::publisher pub(client);
  streams::partitioned_publisher keyed(pub);
  streams::partitioned_consumer_config config;
  config.consumer.group = std::string(group_name);
  config.consumer.name = std::string(member_name);
  config.consumer.concurrency = s.opt.consumer_concurrency;
  config.consumer.retry.base = std::chrono::milliseconds(5);
  config.consumer.retry.cap = std::chrono::milliseconds(20);
  config.consumer.retry.jitter = 0;
  config.consumer.retry.max_attempts = 50;
  config.consumer.retry_poll_interval = std::chrono::milliseconds(20);
  streams::partitioned_consumer member(client, std::move(config));
  streams::subscription_options sub_options;
  sub_options.per_key_concurrency = 1;
  member.subscribe<bench::BenchEvent>(
      s.topic,
      [&s](const bench::BenchEvent& e, streams::message_context& ctx) {
        return handle(s, e, ctx);
      },
      sub_options);

  std::string failure;
  auto driven = [&]() -> asio::awaitable<void> {
    failure = co_await drive(s, keyed, member, client);
  };
  co_await (member.run() || driven());
  s.final_stats = member.stats();
  if (s.workers) co_await s.workers->wait();  // publishers use `keyed`
  if (!failure.empty()) throw std::runtime_error(failure);
}

// Removes `--flag value` / `--flag=value` at argv[i] when it is `name`; false if not it.
bool take_flag(int& argc, char** argv, int i, std::string_view name, std::string_view& value,
               bool& missing) {
  std::string_view arg = argv[i];
  if (!arg.starts_with(name)) return false;
  int taken = 0;
  if (arg.size() == name.size()) {
    if (i + 1 >= argc) {
      missing = true;
      return true;
    }
    value = argv[i + 1];
    taken = 2;
  } else if (arg[name.size()] == '=') {
    value = arg.substr(name.size() + 1);
    taken = 1;
  } else {
    return false;
  }
  for (int j = i; j + taken <= argc; ++j) argv[j] = argv[j + taken];  // argv[argc] is null
  argc -= taken;
  return true;
}

}  // namespace

bool take_ordered_flags(int& argc, char** argv, std::string& error) {
  if (argc < 2 || std::string_view(argv[1]) != "ordered") return true;
  for (int i = 2; i < argc;) {
    std::string_view value;
    bool missing = false;
    std::string_view flag;
    if (take_flag(argc, argv, i, "--keys", value, missing)) {
      flag = "--keys";
      if (!missing) {
        const char* end = value.data() + value.size();
        auto [ptr, ec] = std::from_chars(value.data(), end, flag_keys);
        if (value.empty() || ec != std::errc{} || ptr != end || flag_keys == 0 ||
            flag_keys > 1'000'000) {
          error = "invalid value for --keys: '" + std::string(value) + "'";
          return false;
        }
      }
    } else if (take_flag(argc, argv, i, "--fail-rate", value, missing)) {
      flag = "--fail-rate";
      if (!missing) {
        const char* end = value.data() + value.size();
        auto [ptr, ec] = std::from_chars(value.data(), end, flag_fail_rate);
        if (value.empty() || ec != std::errc{} || ptr != end || !std::isfinite(flag_fail_rate) ||
            flag_fail_rate < 0 || flag_fail_rate > 1) {
          error = "invalid value for --fail-rate: '" + std::string(value) + "'";
          return false;
        }
      }
    } else {
      // Skip another flag and its value (parse_options judges them).
      const std::string_view arg = argv[i];
      i += arg.starts_with("--") && arg.find('=') == std::string_view::npos ? 2 : 1;
      continue;
    }
    if (missing) {
      error = "missing value for " + std::string(flag);
      return false;
    }
  }
  return true;
}

int run_ordered(const options& given) {
  options opt = given;
  if (!opt.count_given) opt.count = default_count;
  if (!opt.concurrency_given) opt.concurrency = 64;  // publishing coroutines (at most K)
  if (opt.partitions == 0) {
    std::fprintf(stderr, "streamq-bench ordered: --partitions P (1..1024) is required\n");
    return 2;
  }
  ordered_state s(opt, flag_keys, flag_fail_rate);
  if (!run_scenario("ordered", opt.redis_url,
                    [&s](streamq::client& c) { return ordered_body(s, c); }))
    return 1;

  const std::uint64_t lost = opt.count - std::min(s.distinct, opt.count);
  const double elapsed =
      s.distinct > 0 ? std::chrono::duration<double>(s.last_success - s.start).count() : 0.0;
  const auto& st = s.final_stats;

  json_line out;
  out.text("scenario", "ordered")
      .integer("order_violations", static_cast<std::int64_t>(s.order_violations))
      .integer("lost", static_cast<std::int64_t>(lost))
      .integer("duplicates", static_cast<std::int64_t>(s.duplicates))
      .number("ops_per_sec", elapsed > 0 ? static_cast<double>(s.distinct) / elapsed : 0.0, 0)
      .raw("rebalance_ms", "null")
      .integer("partitions", static_cast<std::int64_t>(opt.partitions))
      .integer("keys", static_cast<std::int64_t>(s.keys))
      .number("fail_rate", s.fail_rate, 4)
      .integer("count", static_cast<std::int64_t>(opt.count))
      .integer("retries", static_cast<std::int64_t>(st.retried))
      .integer("published", static_cast<std::int64_t>(s.published))
      .integer("publish_errors", static_cast<std::int64_t>(s.publish_errors))
      .integer("succeeded", static_cast<std::int64_t>(s.distinct))
      .integer("injected_failures", static_cast<std::int64_t>(s.injected))
      .integer("acked", static_cast<std::int64_t>(st.acked))
      .integer("dead_lettered", static_cast<std::int64_t>(st.dead_lettered))
      .number("elapsed_s", elapsed, 6)
      .boolean("timed_out", s.timed_out);
  std::printf("%s\n", out.str().c_str());
  std::fflush(stdout);

  if (s.order_violations > 0 || lost > 0 || s.out_of_range > 0) {
    std::fprintf(stderr,
                 "streamq-bench ordered: %llu order violations, %llu of %llu lost%s (published "
                 "%llu, publish errors %llu, dead-lettered %llu, foreign messages %llu)%s%s\n",
                 static_cast<unsigned long long>(s.order_violations),
                 static_cast<unsigned long long>(lost),
                 static_cast<unsigned long long>(opt.count),
                 s.timed_out ? " at the drain timeout" : "",
                 static_cast<unsigned long long>(s.published),
                 static_cast<unsigned long long>(s.publish_errors),
                 static_cast<unsigned long long>(st.dead_lettered),
                 static_cast<unsigned long long>(s.out_of_range),
                 s.first_error.empty() ? "" : "; first error: ", s.first_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace streamq::bench

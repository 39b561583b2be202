#include "bench_util.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace streamq::bench {

// ---- command line ------------------------------------------------------------------------

std::string usage_text(
    std::string_view program,
    const std::vector<std::pair<std::string_view, std::string_view>>& scenarios) {
  std::string s = "usage: ";
  s += program;
  s += " SCENARIO [--redis URL] [--count N] [--payload BYTES] [--concurrency C] [--rate R]\n"
       "       [--window-ms W] [--drain-timeout S] [--groups G] [--fail-first K] [--topics T]\n"
       "       [--cluster-masters N] [--rounds R] [--partitions P] [--consumer-concurrency H]\n"
       "       [--ordered] [--http HOST:PORT]\n"
       "  --redis URL        redis://[user[:password]@]host[:port][/db] (rediss://, unix://,\n"
       "                     redis+sentinel://S1,S2/MASTER too: whatever redis::parse_url\n"
       "                     takes); any node of a Redis Cluster will do: without a cluster=\n"
       "                     option a redis:// URL runs with cluster=auto (a standalone server\n"
       "                     is then used directly, as before). Without --redis a throwaway\n"
       "                     redis-server (from PATH, or $STREAMQ_REDIS_SERVER) is started on a\n"
       "                     free loopback port\n"
       "  --count N          measured operations, > 0 (default 1000000; delayed: 100000;\n"
       "                     fanout: 10000); ~1% more warm up first (xadd)\n"
       "  --payload BYTES    bytes in each field value (default 100)\n"
       "  --concurrency C    coroutines with an operation in flight, > 0 (default 256;\n"
       "                     e2e, fanout: 64)\n"
       "  --rate R           operations per second over all coroutines (default 0: unpaced)\n"
       "  --window-ms W      delayed: the tasks fall due uniformly over W ms, > 0 (default 2000)\n"
       "  --drain-timeout S  e2e, fanout: after the last publish, wait up to S s for every entry\n"
       "                     to be handled and acknowledged (default 30)\n"
       "  --groups G         fanout: consumer groups on the one topic, 1..64 (default 3)\n"
       "  --fail-first K     fanout: group 0's handler fails each message K times, then\n"
       "                     succeeds, 0..1000 (default 2)\n"
       "  --topics T         xadd, e2e, routing: spread the messages round-robin over T\n"
       "                     streams (topics) NAME-0..NAME-T-1, 1..1024 (default 1: the one\n"
       "                     stream of before, its name unchanged; routing: 4)\n"
       "  --cluster-masters N  without --redis: start a throwaway Redis Cluster of N masters,\n"
       "                     1..16, instead of one redis-server (default 0; routing: 3)\n"
       "  --rounds R         routing: direct/routed pairs of xadd runs, 1..20 (default 2)\n"
       "  --partitions P     e2e: make the topic partitioned with P partitions, 0..1024\n"
       "                     (default 0: a plain topic); messages keyed k0..k999, published by\n"
       "                     key and read by one partitioned_consumer; not with --topics\n"
       "  --consumer-concurrency H  e2e: handlers at once per consumer (with --partitions:\n"
       "                     per partition's consumer), 1..100000 (default 256)\n"
       "  --ordered          e2e, with --partitions only (no value): the partitioned consumer\n"
       "                     subscribes with per_key_concurrency 1, each key's messages handled\n"
       "                     one at a time, in order (default: off)\n"
       "  --http HOST:PORT   xadd, e2e: serve /metrics, /healthz and /readyz there while the\n"
       "                     run goes (streamq::metrics on the client, publisher, consumer and\n"
       "                     topics; port 0: any free one, told on stderr); without it metrics\n"
       "                     are off\n"
       "prints one JSON object per line on stdout (scenario, count, ops_per_sec, p50_us, p99_us,\n"
       "p999_us, client_cpu_us_per_op, concurrency, payload, errors, ...; fanout: one line per\n"
       "group; xadd, e2e: also topics, cluster and, on a cluster, nodes: per master its topics,\n"
       "messages and msgs_per_sec; e2e: partitions, ordered; routing: one line per run, then\n"
       "routing_ratio); exit status 0 on success, 1 when the run failed or saw errors, 2 on a\n"
       "usage error\n"
       "scenarios:\n";
  for (const auto& [name, summary] : scenarios) {
    s += "  ";
    s += name;
    s.append(name.size() < 12 ? 12 - name.size() : 1, ' ');
    s += summary;
    s += '\n';
  }
  return s;
}

namespace {

template <class T>
bool parse_integer(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end && !text.empty();
}

bool parse_double(std::string_view text, double& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end && !text.empty() && std::isfinite(out);
}

}  // namespace

std::optional<options> parse_options(int argc, char** argv, std::string& error) {
  options opt;
  if (argc < 2 || argv[1][0] == '-') {
    error = "missing SCENARIO";
    return std::nullopt;
  }
  opt.scenario = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string_view flag = argv[i];
    std::string_view value;
    if (flag == "--ordered") {  // the one flag without a value
      opt.ordered = true;
      continue;
    }
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (flag.starts_with("--") && i + 1 < argc) {
      value = argv[++i];
    } else {
      error = flag.starts_with("--") ? "missing value for " + std::string(flag)
                                     : "unexpected argument " + std::string(flag);
      return std::nullopt;
    }
    bool ok = true;
    if (flag == "--redis") {
      opt.redis_url = std::string(value);
      ok = !value.empty();
    } else if (flag == "--count") {
      opt.count_given = true;
      ok = parse_integer(value, opt.count) && opt.count > 0;
    } else if (flag == "--payload") {
      // Redis refuses bulk strings over proto-max-bulk-len (512 MB by default) by closing the
      // connection; a benchmark has no business near that.
      ok = parse_integer(value, opt.payload) && opt.payload <= 64 * 1024 * 1024;
    } else if (flag == "--concurrency") {
      opt.concurrency_given = true;
      ok = parse_integer(value, opt.concurrency) && opt.concurrency > 0 &&
           opt.concurrency <= 1'000'000;
    } else if (flag == "--rate") {
      ok = parse_double(value, opt.rate) && opt.rate >= 0;
    } else if (flag == "--window-ms") {
      // Up to a day: due times are computed in integer milliseconds as i * W / N.
      ok = parse_integer(value, opt.window_ms) && opt.window_ms > 0 &&
           opt.window_ms <= 24ull * 3600 * 1000;
    } else if (flag == "--drain-timeout") {
      ok = parse_integer(value, opt.drain_timeout_s) && opt.drain_timeout_s <= 24ull * 3600;
    } else if (flag == "--groups") {
      ok = parse_integer(value, opt.groups) && opt.groups > 0 && opt.groups <= 64;
    } else if (flag == "--fail-first") {
      // The handler must be allowed K + 1 runs (retry_policy::max_attempts is 32-bit).
      ok = parse_integer(value, opt.fail_first) && opt.fail_first <= 1000;
    } else if (flag == "--topics") {
      opt.topics_given = true;
      ok = parse_integer(value, opt.topics) && opt.topics > 0 && opt.topics <= 1024;
    } else if (flag == "--cluster-masters") {
      opt.cluster_masters_given = true;
      ok = parse_integer(value, opt.cluster_masters) && opt.cluster_masters <= 16;
    } else if (flag == "--http") {
      opt.http = std::string(value);
      ok = !value.empty();
    } else if (flag == "--partitions") {
      ok = parse_integer(value, opt.partitions) && opt.partitions <= 1024;  // max_partitions
    } else if (flag == "--consumer-concurrency") {
      ok = parse_integer(value, opt.consumer_concurrency) && opt.consumer_concurrency > 0 &&
           opt.consumer_concurrency <= 100'000;
    } else if (flag == "--rounds") {
      ok = parse_integer(value, opt.rounds) && opt.rounds > 0 && opt.rounds <= 20;
    } else {
      error = "unknown flag " + std::string(flag);
      return std::nullopt;
    }
    if (!ok) {
      error = "invalid value for " + std::string(flag) + ": '" + std::string(value) + "'";
      return std::nullopt;
    }
  }
  return opt;
}

bool url_sets_cluster_mode(std::string_view url) noexcept {
  // As redis::parse_url reads it: the user info ends at the last '@', the query starts at the
  // first '?' after it, options are separated by '&'.
  if (const auto at = url.rfind('@'); at != std::string_view::npos) url = url.substr(at + 1);
  const auto q = url.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view query = url.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.substr(0, pair.find('=')) == "cluster") return true;
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return false;
}

double process_cpu_seconds() noexcept {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

// ---- latency histogram -------------------------------------------------------------------

std::uint64_t latency_histogram::bucket_low(std::size_t index) noexcept {
  const std::size_t group = index >> sub_bucket_bits;
  if (group <= 1) return index;  // exact region: 0..255 ns
  const unsigned shift = static_cast<unsigned>(group - 1);
  const std::uint64_t mantissa =
      (index & ((std::size_t{1} << sub_bucket_bits) - 1)) | (std::size_t{1} << sub_bucket_bits);
  return mantissa << shift;
}

std::uint64_t latency_histogram::bucket_width(std::size_t index) noexcept {
  const std::size_t group = index >> sub_bucket_bits;
  return group <= 1 ? 1 : std::uint64_t{1} << (group - 1);
}

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  sum_ns_ += other.sum_ns_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
}

void latency_histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = sum_ns_ = max_ns_ = 0;
}

double latency_histogram::quantile_ns(double q) const noexcept {
  if (total_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const double mid =
          static_cast<double>(bucket_low(i)) + static_cast<double>(bucket_width(i) - 1) / 2.0;
      return std::min(mid, static_cast<double>(max_ns_));
    }
  }
  return static_cast<double>(max_ns_);
}

// ---- JSON --------------------------------------------------------------------------------

void json_line::key(std::string_view k) {
  if (out_.size() > 1) out_ += ',';
  quoted(k);
  out_ += ':';
}

void json_line::quoted(std::string_view s) {
  out_ += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
          out_ += esc;
        } else {
          out_ += c;
        }
    }
  }
  out_ += '"';
}

json_line& json_line::text(std::string_view k, std::string_view value) {
  key(k);
  quoted(value);
  return *this;
}

json_line& json_line::integer(std::string_view k, std::int64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

json_line& json_line::number(std::string_view k, double value, int decimals) {
  key(k);
  if (!std::isfinite(value)) {
    out_ += "null";
    return *this;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 9), value);
  out_ += buf;
  return *this;
}

json_line& json_line::boolean(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

json_line& json_line::raw(std::string_view k, std::string_view json) {
  key(k);
  out_ += json;
  return *this;
}

void add_phase_fields(json_line& out, const phase_result& r) {
  const double ops = static_cast<double>(r.count);
  const auto us = [&](double q) { return r.latency ? r.latency->quantile_ns(q) / 1e3 : 0.0; };
  out.integer("count", static_cast<std::int64_t>(r.count))
      .integer("errors", static_cast<std::int64_t>(r.errors))
      .number("elapsed_s", r.elapsed_s, 6)
      .number("ops_per_sec", r.elapsed_s > 0 ? ops / r.elapsed_s : 0.0, 0)
      .number("mean_us", r.latency ? r.latency->mean_ns() / 1e3 : 0.0)
      .number("p50_us", us(0.50))
      .number("p90_us", us(0.90))
      .number("p99_us", us(0.99))
      .number("p999_us", us(0.999))
      .number("max_us", r.latency ? static_cast<double>(r.latency->max_ns()) / 1e3 : 0.0)
      .number("client_cpu_us_per_op", ops > 0 ? r.cpu_s * 1e6 / ops : 0.0);
}

}  // namespace streamq::bench

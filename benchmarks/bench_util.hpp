#pragma once
// Plumbing shared by every streamq-bench scenario: the command line, a latency histogram
// cheap enough to feed on every operation, process CPU time, and one-line JSON output.

#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::bench {

using bench_clock = std::chrono::steady_clock;

// What the command line says. Defaults are listed in usage_text().
struct options {
  std::string scenario;
  std::string redis_url;            // empty: streamq-bench starts a throwaway redis-server
  std::uint64_t count = 1'000'000;  // measured operations (warm-up comes on top)
  bool count_given = false;         // --count was given (delayed, fanout have their own default)
  std::size_t payload = 100;        // bytes in the field value
  std::size_t concurrency = 256;    // coroutines with an operation in flight
  bool concurrency_given = false;   // --concurrency was on the command line (e2e, fanout: 64)
  double rate = 0;                  // operations per second over all coroutines; 0: unpaced
  std::uint64_t window_ms = 2000;   // delayed: tasks fall due uniformly over this many ms
  // e2e, fanout: how long to wait after the last publish for every entry to be handled and
  // acknowledged before reporting what is left.
  std::uint64_t drain_timeout_s = 30;
  std::size_t groups = 3;        // fanout: consumer groups on the one topic
  std::uint32_t fail_first = 2;  // fanout: group 0's handler fails each message this often
  // xadd, e2e, routing: the messages go round-robin to this many streams (topics); 1 is the
  // single stream of earlier versions, with its name unchanged.
  std::size_t topics = 1;
  bool topics_given = false;
  // Without --redis: 0 starts one throwaway redis-server, N > 0 a throwaway Redis Cluster of N
  // masters without replicas (routing: 3 unless given).
  std::size_t cluster_masters = 0;
  bool cluster_masters_given = false;
  std::size_t rounds = 2;  // routing: direct/routed pairs, in alternating order
  // e2e: 0 publishes to plain topics; P > 0 makes the one topic partitioned with P partitions,
  // published to by key and read by one partitioned_consumer member (which holds them all).
  std::uint32_t partitions = 0;
  // e2e: handlers running at once in each consumer (with --partitions, in each partition's).
  std::size_t consumer_concurrency = 256;
  // e2e --ordered (with --partitions only): the member subscribes with
  // subscription_options::per_key_concurrency = 1, one message of a key at a time, in order.
  // A flag without a value.
  bool ordered = false;
  // xadd, e2e: HOST:PORT where /metrics, /healthz and /readyz are served while the run goes
  // (bench_observability.hpp); empty: metrics off.
  std::string http;
};

// True when the query of `url` (redis://...?a=b&cluster=on) sets the option `cluster`: the
// bench then leaves the mode to it; otherwise it asks for cluster=auto (see client_config).
[[nodiscard]] bool url_sets_cluster_mode(std::string_view url) noexcept;

// The usage message, listing `scenarios` (name and one-line summary each).
std::string usage_text(std::string_view program,
                       const std::vector<std::pair<std::string_view, std::string_view>>& scenarios);

// Parses argv[1..]: SCENARIO then flags (`--flag value` or `--flag=value`). On failure returns
// nullopt with the reason in `error`; the scenario name is not checked here.
std::optional<options> parse_options(int argc, char** argv, std::string& error);

// CPU time of this process so far (user + system, getrusage), in seconds.
double process_cpu_seconds() noexcept;

// Latencies in nanoseconds, in log-linear buckets: exact below 128 ns, then 128 linear
// sub-buckets per power of two (relative error under 0.8%), up to 2^36 ns (~69 s; larger
// values are clamped into the top bucket). Recording is a count-leading-zeros, two shifts and
// an increment. Not thread-safe: one per thread, merge() afterwards.
class latency_histogram {
 public:
  static constexpr unsigned sub_bucket_bits = 7;
  static constexpr unsigned max_value_bits = 36;
  static constexpr std::size_t bucket_count = std::size_t{max_value_bits - sub_bucket_bits + 1}
                                              << sub_bucket_bits;

  latency_histogram() : counts_(bucket_count, 0) {}

  void record(std::uint64_t ns) noexcept {
    constexpr std::uint64_t top = (std::uint64_t{1} << max_value_bits) - 1;
    if (ns > top) ns = top;
    ++counts_[index_of(ns)];
    ++total_;
    sum_ns_ += ns;
    if (ns > max_ns_) max_ns_ = ns;
  }
  void record(bench_clock::duration d) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    record(ns > 0 ? static_cast<std::uint64_t>(ns) : 0);
  }

  void merge(const latency_histogram& other);
  void reset();

  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }
  [[nodiscard]] std::uint64_t max_ns() const noexcept { return max_ns_; }
  [[nodiscard]] double mean_ns() const noexcept {
    return total_ ? static_cast<double>(sum_ns_) / static_cast<double>(total_) : 0.0;
  }
  // The value at quantile q (0..1): the midpoint of the bucket holding the ceil(q*total)-th
  // smallest sample, never above the largest sample; 0 when empty.
  [[nodiscard]] double quantile_ns(double q) const noexcept;

  static std::size_t index_of(std::uint64_t ns) noexcept {
    const unsigned msb = static_cast<unsigned>(std::bit_width(ns | 1)) - 1;
    const unsigned shift = msb > sub_bucket_bits ? msb - sub_bucket_bits : 0;
    return (std::size_t{shift} << sub_bucket_bits) + static_cast<std::size_t>(ns >> shift);
  }
  // Lowest value and width of bucket `index`.
  static std::uint64_t bucket_low(std::size_t index) noexcept;
  static std::uint64_t bucket_width(std::size_t index) noexcept;

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t sum_ns_ = 0;
  std::uint64_t max_ns_ = 0;
};

// Builds one JSON object on one line: json_line().text("scenario", "xadd").integer(...).str()
class json_line {
 public:
  json_line& text(std::string_view key, std::string_view value);
  json_line& integer(std::string_view key, std::int64_t value);
  json_line& number(std::string_view key, double value, int decimals = 3);  // null if not finite
  json_line& boolean(std::string_view key, bool value);
  // `json` must be valid JSON already (an array or object built elsewhere).
  json_line& raw(std::string_view key, std::string_view json);
  [[nodiscard]] std::string str() const { return out_ + "}"; }

 private:
  void key(std::string_view k);
  void quoted(std::string_view s);
  std::string out_ = "{";
};

// The fields every scenario reports about one measured phase.
struct phase_result {
  std::uint64_t count = 0;   // operations measured
  std::uint64_t errors = 0;  // operations that failed (transport or server error reply)
  double elapsed_s = 0;      // first measured issue to last measured completion
  double cpu_s = 0;          // process CPU over the same window
  const latency_histogram* latency = nullptr;  // issue -> completion
};

// Appends count, ops_per_sec, latency quantiles (µs), client_cpu_us_per_op and errors.
void add_phase_fields(json_line& out, const phase_result& r);

}  // namespace streamq::bench

// Tests of the metrics library with no server (lib/metrics/histogram.*, metrics.cpp): the
// names of every family follow Prometheus's rules and conventions, the log2 µs buckets map to
// seconds bounds, counters and histograms advance by what was counted, and the configuration
// is validated field by field.
#include "metrics/histogram.hpp"
#include "metrics/state.hpp"

#include <streamq/metrics/metrics.hpp>

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <prometheus/check_names.h>
#include <prometheus/registry.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>

namespace metrics = streamq::metrics;
using namespace std::chrono_literals;

namespace {
bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
}  // namespace

TEST_CASE("metrics: every family is named by Prometheus's rules and conventions") {
  prometheus::Registry registry;
  const metrics::detail::families families(registry);
  REQUIRE(families.catalog.size() >= 29);
  std::set<std::string> names;
  for (const auto& f : families.catalog) {
    INFO(f.name);
    CHECK(prometheus::CheckMetricName(f.name));
    CHECK(f.name.starts_with("streamq_"));
    CHECK_FALSE(f.help.empty());
    CHECK(names.insert(f.name).second);
    // Counters end in _total; durations are histograms in seconds; nothing else says _total.
    CHECK((f.type == prometheus::MetricType::Counter) == ends_with(f.name, "_total"));
    if (f.type == prometheus::MetricType::Histogram) CHECK(ends_with(f.name, "_seconds"));
  }
  for (const char* label : {metrics::detail::destination_label, metrics::detail::group_label,
                            metrics::detail::result_label, metrics::detail::client_label,
                            metrics::detail::state_label})
    CHECK(prometheus::CheckLabelName(label));
}

TEST_CASE("metrics: docs/observability.md describes every metric") {
  prometheus::Registry registry;
  const metrics::detail::families families(registry);
  std::ifstream in(std::string(STREAMQ_SOURCE_DIR) + "/docs/observability.md");
  REQUIRE(in);
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& f : families.catalog) {
    INFO(f.name);
    CHECK(doc.find("`" + f.name + "`") != std::string::npos);
  }
}

TEST_CASE("metrics: a user's registry receives the series") {
  boost::asio::io_context io;
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::metrics m(io.get_executor(), {}, registry);
  CHECK(m.registry() == registry);
  // Nothing watched: nothing to render, and ready.
  CHECK(m.render().empty());
  CHECK(m.ready().ok);
  CHECK(m.ready().checks.empty());
  streamq::client c(io.get_executor(), "redis://127.0.0.1:1");
  auto watched = m.watch_topic(c, "orders", "billing");
  CHECK(m.render().find("streamq_sampler_errors_total{messaging_destination_name=\"orders\"} 0") !=
        std::string::npos);
  // Watched but never sampled: the sampler check passes (no failed tick yet).
  CHECK(m.ready().ok);
}

TEST_CASE("metrics: log2 microsecond buckets are seconds bounds 2^(b+1) µs") {
  const auto bounds = metrics::detail::log2_us_bounds_seconds();
  REQUIRE(bounds.size() == metrics::detail::log2_buckets - 1);
  CHECK(bounds.front() == doctest::Approx(2e-6));
  CHECK(bounds[9] == doctest::Approx(1024e-6));
  CHECK(bounds.back() == doctest::Approx(std::ldexp(1.0, 31) / 1e6));
  for (std::size_t i = 1; i < bounds.size(); ++i) CHECK(bounds[i] == doctest::Approx(2 * bounds[i - 1]));
}

TEST_CASE("metrics: bucket increments are what was added - a reset counts anew") {
  metrics::detail::log2_counts before{}, now{};
  before[0] = 3;
  now[0] = 5;
  now[31] = 1;  // the last bucket is +Inf
  before[4] = 7;
  now[4] = 2;  // went down: a new component under the watch
  const auto inc = metrics::detail::bucket_increments(before, now);
  REQUIRE(inc.size() == 32);
  CHECK(inc[0] == 2);
  CHECK(inc[4] == 2);
  CHECK(inc[31] == 1);
  CHECK(inc[1] == 0);
  CHECK(metrics::detail::increase(10, 15) == 5);
  CHECK(metrics::detail::increase(10, 4) == 4);
}

TEST_CASE("metrics: the configuration is validated field by field") {
  boost::asio::io_context io;
  auto refused = [&](metrics::metrics_config c, std::string_view field) {
    try {
      metrics::metrics m(io.get_executor(), c);
      FAIL("accepted an invalid " << field);
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find(std::string("metrics_config.") + std::string(field)) !=
            std::string::npos);
    }
  };
  metrics::metrics_config c;
  c.sample_interval = 10ms;
  refused(c, "sample_interval");
  c = {};
  c.sample_timeout = 0ms;
  refused(c, "sample_timeout");
  c = {};
  c.sample_timeout = c.sample_interval + 1ms;
  refused(c, "sample_timeout");
  c = {};
  c.lag_count_limit = 0;
  refused(c, "lag_count_limit");
  c = {};
  c.lag_page = c.lag_count_limit + 1;
  refused(c, "lag_page");
  c = {};
  c.sampler_failures_before_unready = 0;
  refused(c, "sampler_failures_before_unready");
  c = {};
  c.consumer_error_window = -1ms;
  refused(c, "consumer_error_window");
  CHECK_NOTHROW(metrics::metrics(io.get_executor(), metrics::metrics_config{}));
}

TEST_CASE("metrics: watch_topic refuses invalid names") {
  boost::asio::io_context io;
  metrics::metrics m(io.get_executor());
  streamq::client c(io.get_executor(), "redis://127.0.0.1:1");
  CHECK_THROWS_AS((void)m.watch_topic(c, "bad topic", "g"), std::invalid_argument);
  CHECK_THROWS_AS((void)m.watch_topic(c, "t", "bad group"), std::invalid_argument);
  auto h = m.watch_topic(c, "t", "g");
  CHECK(h.active());
  h.reset();
  CHECK_FALSE(h.active());
}

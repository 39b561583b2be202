#pragma once
// What a metrics object shares with its watch_handles and its sampler: the metric families,
// the watches with their last readings, the last sample of each topic. Guarded by `mutex`.

#include <streamq/metrics/metrics.hpp>
#include <streamq/redis/connection.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include "commands/sampling_requests.hpp"
#include "histogram.hpp"

#include <boost/asio/steady_timer.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_type.h>
#include <prometheus/registry.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace streamq::metrics::detail {

// Label names (OpenTelemetry messaging attributes with '.' as '_': Prometheus label names
// cannot contain dots). Only topics, groups, fixed client names and enumerations are label
// values: no message IDs or keys.
inline constexpr const char* destination_label = "messaging_destination_name";
inline constexpr const char* group_label = "messaging_consumer_group_name";
inline constexpr const char* result_label = "result";
inline constexpr const char* client_label = "client";
inline constexpr const char* node_label = "node";  // a cluster master, "host:port"
inline constexpr const char* state_label = "state";

using counter_family = prometheus::Family<prometheus::Counter>;
using gauge_family = prometheus::Family<prometheus::Gauge>;
using histogram_family = prometheus::Family<prometheus::Histogram>;

// Every family's name, type and help, in registration order: what the unit tests and the
// documentation check read (a family with no series yet is not in Registry::Collect()).
struct family_info {
  std::string name;
  prometheus::MetricType type;
  std::string help;
};

struct families {
  explicit families(prometheus::Registry& r);
  std::vector<family_info> catalog;  // first: filled while the families below are made
  counter_family& publish_messages;
  histogram_family& publish_duration;
  counter_family &deliveries, &acks, &retries, &dead_letters, &claims, &lost, &consumer_errors;
  histogram_family& handler_duration;
  gauge_family& in_flight;
  gauge_family& partitions_owned;
  gauge_family &stream_length, &group_pending, &group_lag, &oldest_pending_age,
      &dead_letter_length, &delayed_waiting, &delayed_lateness;
  counter_family &recurring_fires, &delayed_moved, &scheduler_poll_errors;
  gauge_family& connection_state;
  counter_family &reconnects, &connection_losses, &connection_requests, &connection_writes;
  gauge_family &pipeline_batch, &pending_peak, &in_flight_requests;
  counter_family& sampler_errors;
};

struct publisher_watch {
  streams::publisher* target;
  std::map<std::string, streams::publisher_topic_stats> last;
};
struct consumer_watch {
  streams::consumer* target;
  std::map<std::string, streams::topic_consumer_stats> last;
  std::uint64_t last_errors = 0;
};
// A partitioned_consumer: its counters under the partitioned topic's name (not its partitions').
struct partitioned_watch {
  streams::partitioned_consumer* target;
  std::map<std::string, streams::topic_consumer_stats> last;
  std::uint64_t last_errors = 0;
};
struct scheduler_watch {
  streams::scheduler* target;
  streams::scheduler_stats last;
};
struct client_watch {
  client* target;
  std::string name;
  redis::connection_stats last;  // of the shared connection
  std::map<std::string, redis::connection_stats> last_by_node;  // of each master's (cluster)
};
// What one tick found for a topic and group, kept until the next.
struct topic_sample {
  streams::detail::topic_sample_reply reply;
  std::optional<std::uint64_t> lag;  // with reply.group
  double oldest_pending_age_s = 0;
  double lateness_s = 0;
};
struct topic_watch {
  client* target;
  streams::topic_keys keys;
  std::string group;
  std::optional<topic_sample> sample;
};

// Gauges set anew at each refresh: those not set this time are removed from their family.
class gauge_set {
 public:
  void add(gauge_family& family, const prometheus::Labels& labels, double value);
  // Sets what was added since the last apply(), removes what was not.
  void apply();

 private:
  struct key {
    gauge_family* family;
    prometheus::Labels labels;
    friend bool operator<(const key& a, const key& b) {
      return a.family != b.family ? a.family < b.family : a.labels < b.labels;
    }
  };
  std::map<key, double> next_;
  std::map<key, prometheus::Gauge*> live_;
};

struct metrics_state {
  metrics_state(metrics_config c, std::shared_ptr<prometheus::Registry> r);

  metrics_config config;
  std::shared_ptr<prometheus::Registry> registry;
  std::vector<double> bounds;  // log2_us_bounds_seconds()

  mutable std::mutex mutex;
  families f;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, publisher_watch> publishers;
  std::map<std::uint64_t, consumer_watch> consumers;
  std::map<std::uint64_t, partitioned_watch> partitioned;
  std::map<std::uint64_t, scheduler_watch> schedulers;
  std::map<std::uint64_t, client_watch> clients;
  std::map<std::uint64_t, topic_watch> topics;
  gauge_set gauges;
  std::uint32_t failed_ticks = 0;  // sampler ticks in a row with a failed topic
  std::string last_sample_error;

  std::atomic<bool> running{false};
  std::atomic<bool> stop_requested{false};
  // The running sampler's wait, which stop() cuts short; used on the sampler's executor only.
  boost::asio::steady_timer* wait = nullptr;

  // All under `mutex`.
  void read_publisher(publisher_watch& w);
  // A consumer's or a member's per-topic counters and failed requests, labelled with `group`.
  void read_consumer_counts(const std::string& group,
                            std::vector<streams::topic_consumer_stats> per_topic,
                            std::map<std::string, streams::topic_consumer_stats>& last,
                            std::uint64_t errors, std::uint64_t& last_errors);
  void read_consumer(consumer_watch& w);
  void read_partitioned(partitioned_watch& w);
  void read_scheduler(scheduler_watch& w);
  // One connection's counters and gauges under `labels` (its client's, and its node's).
  void read_connection(const prometheus::Labels& labels, redis::connection& conn,
                       redis::connection_stats& last);
  void read_client(client_watch& w);
  void read_topic(const topic_watch& w, bool topic_gauges);
  void refresh_locked();
  void unwatch(std::uint64_t id);
};

}  // namespace streamq::metrics::detail

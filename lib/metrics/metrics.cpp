// The metrics object: its families, its watches, refresh(), render() and ready(). The
// sampler (run()) is in sampler.cpp.
#include <streamq/metrics/metrics.hpp>

#include "state.hpp"

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <prometheus/text_serializer.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <utility>

namespace streamq::metrics {

namespace detail {

namespace {

counter_family& counter(prometheus::Registry& r, std::vector<family_info>& catalog,
                        const char* name, const char* help) {
  catalog.push_back({name, prometheus::MetricType::Counter, help});
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
gauge_family& gauge(prometheus::Registry& r, std::vector<family_info>& catalog, const char* name,
                    const char* help) {
  catalog.push_back({name, prometheus::MetricType::Gauge, help});
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}
histogram_family& histogram(prometheus::Registry& r, std::vector<family_info>& catalog,
                            const char* name, const char* help) {
  catalog.push_back({name, prometheus::MetricType::Histogram, help});
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

prometheus::Labels topic_labels(const std::string& topic) { return {{destination_label, topic}}; }
prometheus::Labels group_labels(const std::string& topic, const std::string& group) {
  return {{destination_label, topic}, {group_label, group}};
}

void add(counter_family& family, const prometheus::Labels& labels, std::uint64_t before,
         std::uint64_t now) {
  const auto by = increase(before, now);
  // Add() returns the series of these labels, made (at 0, so that rate() sees the first
  // increase) on first use.
  auto& series = family.Add(labels);
  if (by > 0) series.Increment(static_cast<double>(by));
}

void observe(histogram_family& family, const prometheus::Labels& labels,
             const std::vector<double>& bounds, const log2_counts& before, const log2_counts& now,
             std::uint64_t sum_before_us, std::uint64_t sum_now_us) {
  auto increments = bucket_increments(before, now);
  double total = 0;
  for (double n : increments) total += n;
  auto& h = family.Add(labels, bounds);
  if (total > 0)
    h.ObserveMultiple(increments,
                      static_cast<double>(increase(sum_before_us, sum_now_us)) / 1e6);
}

}  // namespace

families::families(prometheus::Registry& r)
    : publish_messages(counter(r, catalog, "streamq_publish_messages_total",
                               "Messages published, by result (ok, failed, indeterminate, duplicate)")),
      publish_duration(histogram(r, catalog, "streamq_publish_duration_seconds",
                                 "Duration of publish calls (a batch is one call)")),
      deliveries(counter(r, catalog, "streamq_consumer_deliveries_total",
                         "Entries handed to handlers (retries and recoveries included)")),
      acks(counter(r, catalog, "streamq_consumer_acks_total", "Entries handled and acknowledged")),
      retries(counter(r, catalog, "streamq_consumer_retries_total", "Failures scheduled for another attempt")),
      dead_letters(counter(r, catalog, "streamq_consumer_dead_letters_total",
                           "Entries moved to the dead-letter stream")),
      claims(counter(r, catalog, "streamq_consumer_claims_total", "Entries taken over from idle consumers")),
      lost(counter(r, catalog, "streamq_consumer_lost_total",
                   "Pending entries whose data was trimmed or deleted before being handled")),
      consumer_errors(counter(r, catalog, "streamq_consumer_errors_total",
                              "Failed requests of consumers (see consumer events)")),
      handler_duration(histogram(r, catalog, "streamq_consumer_handler_duration_seconds",
                                 "Handler run times, successful or not")),
      in_flight(gauge(r, catalog, "streamq_consumer_in_flight", "Entries queued for or running in handlers")),
      partitions_owned(gauge(r, catalog, "streamq_partitioned_consumer_partitions_owned",
                             "Partitions of the topic the watched members of the group hold now")),
      stream_length(gauge(r, catalog, "streamq_stream_length", "Entries in the topic's stream (sampled)")),
      group_pending(gauge(r, catalog, "streamq_group_pending",
                          "Entries delivered to the group, not acknowledged (sampled)")),
      group_lag(gauge(r, catalog, "streamq_group_lag",
                      "Entries not yet delivered to the group, computed by streamq (sampled)")),
      oldest_pending_age(gauge(r, catalog, "streamq_group_oldest_pending_age_seconds",
                               "Age of the group's oldest pending entry by its ID (sampled)")),
      dead_letter_length(gauge(r, catalog, "streamq_dead_letter_stream_length",
                               "Entries in the group's dead-letter stream (sampled)")),
      delayed_waiting(gauge(r, catalog, "streamq_delayed_tasks_waiting",
                            "Delayed messages waiting in the topic's schedule (sampled)")),
      delayed_lateness(gauge(r, catalog, "streamq_delayed_tasks_lateness_seconds",
                             "How far past its due time the earliest delayed message is (sampled)")),
      recurring_fires(counter(r, catalog, "streamq_recurring_fires_total",
                              "Recurring occurrences this process claimed and published")),
      delayed_moved(counter(r, catalog, "streamq_delayed_tasks_moved_total",
                            "Due delayed messages moved into their topics")),
      scheduler_poll_errors(counter(r, catalog, "streamq_scheduler_poll_errors_total",
                                    "Failed polls of schedulers")),
      connection_state(gauge(r, catalog, "streamq_connection_state",
                             "1 for the connection's current state, 0 for the others")),
      reconnects(counter(r, catalog, "streamq_connection_reconnects_total",
                         "Successful handshakes after the first")),
      connection_losses(counter(r, catalog, "streamq_connection_losses_total",
                                "Sessions that ended with an error")),
      connection_requests(counter(r, catalog, "streamq_connection_requests_total",
                                  "Requests completed with a reply")),
      connection_writes(counter(r, catalog, "streamq_connection_writes_total", "Socket writes")),
      pipeline_batch(gauge(r, catalog, "streamq_connection_pipeline_batch_size",
                           "Requests per socket write since the previous refresh")),
      pending_peak(gauge(r, catalog, "streamq_connection_requests_in_flight_peak",
                         "Most requests admitted at once since the connection was made")),
      in_flight_requests(gauge(r, catalog, "streamq_connection_requests_in_flight",
                               "Requests taken and not yet answered")),
      sampler_errors(counter(r, catalog, "streamq_sampler_errors_total",
                             "Failed samples of a topic (timeouts, refusals, connection loss)")) {}

void gauge_set::add(gauge_family& family, const prometheus::Labels& labels, double value) {
  next_[key{&family, labels}] += value;
}

void gauge_set::apply() {
  for (auto it = live_.begin(); it != live_.end();) {
    if (next_.count(it->first) == 0) {
      it->first.family->Remove(it->second);
      it = live_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [k, value] : next_) {
    auto [it, inserted] = live_.try_emplace(k, nullptr);
    if (inserted) it->second = &k.family->Add(k.labels);
    it->second->Set(value);
  }
  next_.clear();
}

metrics_state::metrics_state(metrics_config c, std::shared_ptr<prometheus::Registry> r)
    : config(std::move(c)),
      registry(r ? std::move(r) : std::make_shared<prometheus::Registry>()),
      bounds(log2_us_bounds_seconds()),
      f(*registry) {}

void metrics_state::read_publisher(publisher_watch& w) {
  for (auto& now : w.target->topic_stats()) {
    auto& before = w.last[now.topic];
    auto labels = topic_labels(now.topic);
    const std::pair<const char*, std::uint64_t streams::publisher_topic_stats::*> results[] = {
        {"ok", &streams::publisher_topic_stats::published},
        {"failed", &streams::publisher_topic_stats::failed},
        {"indeterminate", &streams::publisher_topic_stats::indeterminate},
        {"duplicate", &streams::publisher_topic_stats::duplicates}};
    for (const auto& [result, field] : results) {
      auto with_result = labels;
      with_result.emplace(result_label, result);
      // published may lag a duplicate for a moment (publisher_topic_stats): never backwards.
      if (now.*field >= before.*field) add(f.publish_messages, with_result, before.*field, now.*field);
      else now.*field = before.*field;
    }
    observe(f.publish_duration, labels, bounds, before.latency_log2_us, now.latency_log2_us,
            before.latency_sum_us, now.latency_sum_us);
    before = std::move(now);
  }
}

void metrics_state::read_consumer_counts(const std::string& group,
                                         std::vector<streams::topic_consumer_stats> per_topic,
                                         std::map<std::string, streams::topic_consumer_stats>& last,
                                         std::uint64_t errors, std::uint64_t& last_errors) {
  for (auto& now : per_topic) {
    auto& before = last[now.topic];
    const auto labels = group_labels(now.topic, group);
    add(f.deliveries, labels, before.delivered, now.delivered);
    add(f.acks, labels, before.acked, now.acked);
    add(f.retries, labels, before.retried, now.retried);
    add(f.dead_letters, labels, before.dead_lettered, now.dead_lettered);
    add(f.claims, labels, before.claimed, now.claimed);
    add(f.lost, labels, before.lost, now.lost);
    observe(f.handler_duration, labels, bounds, before.handler_latency_log2_us,
            now.handler_latency_log2_us, before.handler_latency_sum_us,
            now.handler_latency_sum_us);
    gauges.add(f.in_flight, labels, static_cast<double>(now.in_flight));
    before = std::move(now);
  }
  add(f.consumer_errors, {{group_label, group}}, last_errors, errors);
  last_errors = errors;
}

void metrics_state::read_consumer(consumer_watch& w) {
  read_consumer_counts(w.target->config().group, w.target->topic_stats(), w.last,
                       w.target->stats().errors, w.last_errors);
}

void metrics_state::read_partitioned(partitioned_watch& w) {
  const std::string& group = w.target->config().consumer.group;
  auto per_topic = w.target->topic_stats();
  for (const auto& t : per_topic)
    gauges.add(f.partitions_owned, group_labels(t.topic, group),
               static_cast<double>(w.target->partitions_owned()));
  read_consumer_counts(group, std::move(per_topic), w.last, w.target->health().errors,
                       w.last_errors);
}

void metrics_state::read_scheduler(scheduler_watch& w) {
  const auto now = w.target->stats();
  add(f.recurring_fires, {}, w.last.recurring_fired, now.recurring_fired);
  add(f.delayed_moved, {}, w.last.moved, now.moved);
  add(f.scheduler_poll_errors, {}, w.last.poll_errors, now.poll_errors);
  w.last = now;
}

void metrics_state::read_connection(const prometheus::Labels& labels, redis::connection& conn,
                                    redis::connection_stats& last) {
  const auto now = conn.stats();
  // Reconnects: handshakes after the first.
  const auto reconnects = [](std::uint64_t connects) { return connects > 0 ? connects - 1 : 0; };
  add(f.reconnects, labels, reconnects(last.connects), reconnects(now.connects));
  add(f.connection_losses, labels, last.connection_losses, now.connection_losses);
  add(f.connection_requests, labels, last.requests, now.requests);
  add(f.connection_writes, labels, last.writes, now.writes);
  const auto writes = increase(last.writes, now.writes);
  if (writes > 0)
    gauges.add(f.pipeline_batch, labels,
               static_cast<double>(increase(last.requests, now.requests)) /
                   static_cast<double>(writes));
  gauges.add(f.pending_peak, labels, static_cast<double>(now.peak_pending));
  gauges.add(f.in_flight_requests, labels, static_cast<double>(now.in_flight));
  const auto state = conn.state();
  const std::pair<const char*, redis::connection_state> states[] = {
      {"idle", redis::connection_state::idle},
      {"connecting", redis::connection_state::connecting},
      {"connected", redis::connection_state::connected},
      {"stopped", redis::connection_state::stopped}};
  for (const auto& [name, s] : states) {
    auto with_state = labels;
    with_state.emplace(state_label, name);
    gauges.add(f.connection_state, with_state, state == s ? 1.0 : 0.0);
  }
  last = now;
}

void metrics_state::read_client(client_watch& w) {
  read_connection({{client_label, w.name}}, w.target->shared_connection(), w.last);
  // In cluster mode, each master's connection too, by node: the shared one only reads the
  // topology there.
  for (const auto& m : w.target->master_connections())
    read_connection({{client_label, w.name}, {node_label, m.node}}, *m.connection,
                    w.last_by_node[m.node]);
}

void metrics_state::read_topic(const topic_watch& w, bool topic_gauges) {
  if (!w.sample) return;
  const auto& s = *w.sample;
  const auto& topic = w.keys.topic();
  const auto labels = group_labels(topic, w.group);
  if (topic_gauges) {
    gauges.add(f.stream_length, topic_labels(topic), static_cast<double>(s.reply.stream.length));
    gauges.add(f.delayed_waiting, topic_labels(topic), static_cast<double>(s.reply.delayed));
    gauges.add(f.delayed_lateness, topic_labels(topic), s.lateness_s);
  }
  gauges.add(f.dead_letter_length, labels, static_cast<double>(s.reply.dead_letters));
  if (!s.reply.group) return;  // no such group (yet): no pending, lag or age to show
  gauges.add(f.group_pending, labels, static_cast<double>(s.reply.group->pending));
  if (s.lag) gauges.add(f.group_lag, labels, static_cast<double>(*s.lag));
  gauges.add(f.oldest_pending_age, labels, s.oldest_pending_age_s);
}

void metrics_state::refresh_locked() {
  for (auto& [id, w] : publishers) read_publisher(w);
  for (auto& [id, w] : consumers) read_consumer(w);
  for (auto& [id, w] : partitioned) read_partitioned(w);
  for (auto& [id, w] : schedulers) read_scheduler(w);
  for (auto& [id, w] : clients) read_client(w);
  // Several groups of one topic sample the same stream: its topic gauges are set once (gauges
  // of equal labels add up, as the in-flight handlers of consumers of one group do).
  std::set<std::string> sampled;
  for (const auto& [id, w] : topics)
    read_topic(w, w.sample && sampled.insert(w.keys.topic()).second);
  gauges.apply();
}

void metrics_state::unwatch(std::uint64_t id) {
  const std::lock_guard lock(mutex);
  // A last reading, so that what the object counted since the last refresh is kept.
  if (auto it = publishers.find(id); it != publishers.end()) {
    read_publisher(it->second);
    publishers.erase(it);
  } else if (auto c = consumers.find(id); c != consumers.end()) {
    read_consumer(c->second);
    consumers.erase(c);
  } else if (auto pc = partitioned.find(id); pc != partitioned.end()) {
    read_partitioned(pc->second);
    partitioned.erase(pc);
  } else if (auto s = schedulers.find(id); s != schedulers.end()) {
    read_scheduler(s->second);
    schedulers.erase(s);
  } else {
    clients.erase(id);
    topics.erase(id);
  }
  refresh_locked();  // its gauges go
}

}  // namespace detail

void metrics_config::validate() const {
  auto invalid = [](const char* field, const char* why) {
    throw std::invalid_argument(std::string("streamq metrics_config.") + field + ": " + why);
  };
  using std::chrono::hours;
  using std::chrono::milliseconds;
  if (sample_interval < milliseconds(100) || sample_interval > hours(1))
    invalid("sample_interval", "must lie within [100 ms, 1 h]");
  if (sample_timeout.count() <= 0 || sample_timeout > sample_interval)
    invalid("sample_timeout", "must be positive and at most sample_interval");
  if (lag_count_limit == 0) invalid("lag_count_limit", "must be at least 1");
  if (lag_page == 0 || lag_page > lag_count_limit)
    invalid("lag_page", "must lie within [1, lag_count_limit]");
  if (sampler_failures_before_unready == 0)
    invalid("sampler_failures_before_unready", "must be at least 1");
  if (consumer_error_window.count() < 0 || consumer_error_window > hours(24))
    invalid("consumer_error_window", "must lie within [0, 24 h]");
}

watch_handle::watch_handle(watch_handle&& other) noexcept
    : state_(std::move(other.state_)), id_(std::exchange(other.id_, 0)) {}

watch_handle& watch_handle::operator=(watch_handle&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

watch_handle::~watch_handle() { reset(); }

void watch_handle::reset() noexcept {
  if (id_ == 0) return;
  if (auto state = state_.lock()) {
    try {
      state->unwatch(id_);
    } catch (...) {  // NOLINT: a last reading that fails (bad_alloc) must not escape a destructor
    }
  }
  id_ = 0;
  state_.reset();
}

metrics::metrics(boost::asio::any_io_executor ex, metrics_config config,
                 std::shared_ptr<prometheus::Registry> registry)
    : ex_(std::move(ex)) {
  config.validate();
  state_ = std::make_shared<detail::metrics_state>(std::move(config), std::move(registry));
}

metrics::~metrics() { stop(); }

const std::shared_ptr<prometheus::Registry>& metrics::registry() const noexcept {
  return state_->registry;
}

const metrics_config& metrics::config() const noexcept { return state_->config; }

namespace {
template <class Map, class Watch>
watch_handle add_watch(const std::shared_ptr<detail::metrics_state>& state, Map& map, Watch w) {
  const std::lock_guard lock(state->mutex);
  const auto id = state->next_id++;
  map.emplace(id, std::move(w));
  return watch_handle(state, id);
}
}  // namespace

watch_handle metrics::watch(streams::publisher& p) {
  return add_watch(state_, state_->publishers, detail::publisher_watch{&p, {}});
}

watch_handle metrics::watch(streams::consumer& c) {
  return add_watch(state_, state_->consumers, detail::consumer_watch{&c, {}, 0});
}

watch_handle metrics::watch(streams::partitioned_consumer& c) {
  return add_watch(state_, state_->partitioned, detail::partitioned_watch{&c, {}, 0});
}

watch_handle metrics::watch(streams::scheduler& s) {
  // Counted from now: what it did before it was watched is not this registry's.
  return add_watch(state_, state_->schedulers, detail::scheduler_watch{&s, s.stats()});
}

watch_handle metrics::watch(client& c, std::string name) {
  return add_watch(state_, state_->clients, detail::client_watch{&c, std::move(name), {}, {}});
}

watch_handle metrics::watch_topic(client& c, std::string topic, std::string group) {
  return watch_topic(c, std::move(topic), std::move(group), std::string(streams::default_key_prefix));
}

watch_handle metrics::watch_topic(client& c, std::string topic, std::string group,
                                  std::string key_prefix) {
  streams::topic_keys keys(topic, key_prefix);
  (void)keys.dead_letters(group);  // throws std::invalid_argument for an invalid group name
  {
    const std::lock_guard lock(state_->mutex);
    state_->f.sampler_errors.Add({{detail::destination_label, topic}});  // at 0 from now on
  }
  return add_watch(state_, state_->topics,
                   detail::topic_watch{&c, std::move(keys), std::move(group), std::nullopt});
}

void metrics::refresh() {
  const std::lock_guard lock(state_->mutex);
  state_->refresh_locked();
}

std::string metrics::render() {
  refresh();
  return prometheus::TextSerializer().Serialize(state_->registry->Collect());
}

readiness metrics::ready() const {
  readiness out;
  auto check = [&out](std::string name, bool ok, std::string reason) {
    out.ok = out.ok && ok;
    out.checks.push_back({std::move(name), ok, ok ? std::string() : std::move(reason)});
  };
  const std::lock_guard lock(state_->mutex);
  for (const auto& [id, w] : state_->clients) {
    const auto& conn = w.target->shared_connection();
    const bool connected = conn.state() == redis::connection_state::connected;
    const auto why = conn.last_error();
    check("client " + w.name, connected,
          "not connected" + (why ? " (" + why.message() + ")" : std::string()));
  }
  const auto now = std::chrono::system_clock::now();
  // Running on a connected client, no failed request within consumer_error_window.
  auto consumer_check = [&](std::string name, const streams::consumer_health& h) {
    const auto& window = state_->config.consumer_error_window;
    const bool recent_error = window.count() > 0 && h.last_error &&
                              now - h.last_error_at < window;
    std::string reason = !h.running ? "not running"
                         : h.connection != redis::connection_state::connected
                             ? "client not connected"
                             : "request failed: " + h.last_error.message() + " " +
                                   h.last_error_detail;
    check(std::move(name), h.healthy() && !recent_error, std::move(reason));
  };
  for (const auto& [id, w] : state_->consumers)
    consumer_check("consumer " + w.target->config().group, w.target->health());
  for (const auto& [id, w] : state_->partitioned)
    consumer_check("partitioned consumer " + w.target->config().consumer.group,
                   w.target->health());
  for (const auto& [id, w] : state_->schedulers) {
    const auto h = w.target->health();
    check("scheduler", h.healthy(),
          !h.running ? "not running" : "failing: " + h.last_error.text);
  }
  if (!state_->topics.empty())
    check("sampler", state_->failed_ticks < state_->config.sampler_failures_before_unready,
          std::to_string(state_->failed_ticks) + " failed ticks in a row: " +
              state_->last_sample_error);
  return out;
}

}  // namespace streamq::metrics

#include "consume/partition_stats.hpp"

#include <algorithm>

namespace streamq::streams::detail {

void add_counts(topic_consumer_stats& to, const topic_consumer_stats& from, bool running) {
  to.delivered += from.delivered;
  to.acked += from.acked;
  to.retried += from.retried;
  to.dead_lettered += from.dead_lettered;
  to.claimed += from.claimed;
  to.lost += from.lost;
  if (running) to.in_flight += from.in_flight;
  for (std::size_t b = 0; b < from.handler_latency_log2_us.size(); ++b)
    to.handler_latency_log2_us[b] += from.handler_latency_log2_us[b];
  to.handler_latency_sum_us += from.handler_latency_sum_us;
}

void add_counts(consumer_stats& to, const consumer_stats& s) {
  to.delivered += s.delivered;
  to.acked += s.acked;
  to.retried += s.retried;
  to.retries_taken += s.retries_taken;
  to.dropped += s.dropped;
  to.ack_failures += s.ack_failures;
  to.errors += s.errors;
  to.dead_lettered += s.dead_lettered;
  to.claimed += s.claimed;
  to.lost += s.lost;
  to.data_loss_events += s.data_loss_events;
  to.in_flight += s.in_flight;
  to.claims_refreshed += s.claims_refreshed;
  to.ownership_lost += s.ownership_lost;
  to.skipped_processed += s.skipped_processed;
  to.outputs_committed += s.outputs_committed;
  to.outputs_relayed += s.outputs_relayed;
  for (std::size_t b = 0; b < s.handler_latency_log2_us.size(); ++b)
    to.handler_latency_log2_us[b] += s.handler_latency_log2_us[b];
}

void keep_latest(failure_note& to, const failure_note& from) {
  if (from.code && (!to.code || from.at >= to.at)) to = from;
}

namespace {
failure_note last_failure(const consumer_health& h) {
  return {h.last_error, h.last_error_detail, h.last_error_at};
}
}  // namespace

void partition_stats::started(const consumer& c) {
  const std::lock_guard lock(mutex_);
  live_.push_back(&c);
}

void partition_stats::retired(const consumer& c) {
  const std::lock_guard lock(mutex_);
  const auto it = std::find(live_.begin(), live_.end(), &c);
  if (it == live_.end()) return;
  live_.erase(it);
  for (const auto& t : c.topic_stats()) add_counts(retired_counts_, t, false);
  const auto h = c.health();
  retired_errors_ += h.errors;
  keep_latest(last_, last_failure(h));
}

void partition_stats::failed(const error_code& code, std::string detail) {
  const std::lock_guard lock(mutex_);
  ++member_errors_;
  keep_latest(last_, {code, std::move(detail), std::chrono::system_clock::now()});
}

topic_consumer_stats partition_stats::topic_stats(const std::string& topic) const {
  const std::lock_guard lock(mutex_);
  topic_consumer_stats total = retired_counts_;
  total.topic = topic;
  for (const consumer* c : live_)
    for (const auto& t : c->topic_stats()) add_counts(total, t, true);
  return total;
}

consumer_health partition_stats::health() const {
  const std::lock_guard lock(mutex_);
  consumer_health out;
  out.errors = retired_errors_ + member_errors_;
  failure_note last = last_;
  for (const consumer* c : live_) {
    const auto h = c->health();
    out.in_flight += h.in_flight;
    out.errors += h.errors;
    keep_latest(last, last_failure(h));
  }
  out.last_error = last.code;
  out.last_error_detail = std::move(last.detail);
  out.last_error_at = last.at;
  return out;
}

}  // namespace streamq::streams::detail

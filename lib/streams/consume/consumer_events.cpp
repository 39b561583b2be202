// consumer_impl: what the consumer tells people. Events go to on_event and the logger (one
// record each, with a stable event name); health() gathers the connection's state and the last
// failed request.
#include "consumer_impl.hpp"
#include "support/failure_log.hpp"

#include <array>
#include <span>

namespace streamq::streams::detail {

namespace {
std::string_view event_name(consumer_event::kind what) {
  using k = consumer_event::kind;
  switch (what) {
    case k::data_loss_detected: return "data_loss_detected";
    case k::entries_lost: return "entries_lost";
    case k::unsafe_eviction_policy: return "unsafe_eviction_policy";
    case k::eviction_policy_unknown: return "eviction_policy_unknown";
    case k::dead_lettered: return "dead_lettered";
    case k::ownership_lost: return "ownership_lost";
    case k::ack_failed: return "ack_failed";
    case k::retry_failed: return "retry_failed";
    case k::dead_letter_failed: return "dead_letter_failed";
    case k::claim_failed: return "claim_failed";
    case k::keepalive_failed: return "keepalive_failed";
    case k::recovery_failed: return "recovery_failed";
    case k::cleanup_failed: return "cleanup_failed";
    case k::read_failed: return "read_failed";
    case k::topics_rerouted: return "topics_rerouted";
    case k::key_released: return "key_released";
    case k::key_held: return "key_held";
    case k::output_relay_failed: return "output_relay_failed";
  }
  return "unknown";
}

log_level level_of(consumer_event::kind what) {
  using k = consumer_event::kind;
  switch (what) {
    case k::dead_lettered:
    case k::ownership_lost:
    case k::unsafe_eviction_policy:
    case k::eviction_policy_unknown: return log_level::warning;
    case k::key_released:
    case k::key_held: return log_level::warning;
    case k::topics_rerouted: return log_level::info;
    default: return log_level::error;
  }
}
}  // namespace

void consumer_impl::report(consumer_event::kind what, const std::string& topic,
                           std::string detail, error_code code, const message_ref* about) {
  consumer_event event{what, topic, std::move(detail), code};
  if (config_.log.enabled(level_of(what))) {
    const std::string code_text = code ? code_string(code) : "";
    // A record about one message also names its entry and its trace.
    const std::array<log_field, 6> record_fields{{{"group", config_.group},
                                                  {"consumer", config_.name},
                                                  {"topic", topic},
                                                  {"code", code_text},
                                                  {"entry_id", about ? about->entry_id : ""},
                                                  {"trace_id", about ? about->trace_id : ""}}};
    config_.log.log(log_record{level_of(what), "consumer", event_name(what), event.detail,
                               std::span(record_fields).first(about ? 6 : 4)});
  }
  if (config_.on_event) {
    try {
      config_.on_event(event);
    } catch (...) {
      // an event sink must not break the consumer
    }
  }
}

consumer_health consumer_impl::health() const {
  auto& conn = client_.shared_connection();
  consumer_health h;
  h.running = running_;
  h.connection = conn.state();
  h.last_connection_error = conn.last_error();
  h.in_flight = stats_.in_flight;
  h.errors = stats_.errors;
  std::lock_guard lock(error_mutex_);
  h.last_error = last_error_;
  h.last_error_detail = last_error_detail_;
  h.last_error_at = last_error_at_;
  return h;
}

}  // namespace streamq::streams::detail

// streams::scheduler: its configuration's checks, and the public class, which forwards to
// scheduler_impl (scheduler_impl.hpp).
#include <streamq/streams/scheduler.hpp>

#include "schedule/scheduler_impl.hpp"

#include <stdexcept>
#include <string>

namespace streamq::streams {
namespace asio = boost::asio;

void scheduler_config::validate() const {
  auto invalid = [](const std::string& field, const std::string& why) {
    throw std::invalid_argument("streamq scheduler_config." + field + ": " + why);
  };
  for (const auto& topic : topics)
    if (!is_valid_topic_name(topic)) invalid("topics", "'" + topic + "' is not a valid topic name");
  if (auto why = key_prefix_problem(key_prefix); !why.empty()) invalid("key_prefix", why);
  auto duration = [&](const std::string& field, std::chrono::milliseconds d, bool zero_ok) {
    if (d.count() < 0 || (d.count() == 0 && !zero_ok))
      invalid(field, zero_ok ? "must be >= 0" : "must be positive");
    if (d > max_duration)
      invalid(field, "must be at most " + std::to_string(max_duration.count()) + " ms");
  };
  duration("max_sleep", max_sleep, false);
  if (batch == 0) invalid("batch", "must be positive");
  if (batch > 4096) invalid("batch", "must be at most 4096 (one script's Lua stack)");
  duration("misfire_grace", misfire_grace, true);
  duration("dedup_window", dedup_window, false);
  duration("retry_delay", retry_delay, false);
  duration("error_report_interval", error_report_interval, false);
  if (limits.max_payload_bytes == 0) invalid("limits.max_payload_bytes", "must be positive");
}

scheduler::scheduler(client& c, scheduler_config config)
    : impl_(std::make_unique<detail::scheduler_impl>(c, std::move(config))) {}

scheduler::~scheduler() = default;

boost::asio::any_io_executor scheduler::executor() const {
  return impl_->executor();
}

scheduler_stats scheduler::stats() const noexcept {
  return impl_->stats();
}

scheduler_health scheduler::health() const {
  return impl_->health();
}

const scheduler_config& scheduler::config() const noexcept {
  return impl_->config();
}

void scheduler::stop() noexcept {
  impl_->stop();
}

asio::awaitable<void> scheduler::run() {
  return impl_->run();
}

// ---- delayed tasks ----------------------------------------------------------------------
// The calls taking string_views or references copy them into the coroutine they return:
// awaitables start lazily, after the caller's objects may be gone. The envelope is made here,
// at the call, as before.

asio::awaitable<std::string> scheduler::publish_at(std::string_view topic,
                                                   const google::protobuf::Message& message,
                                                   std::chrono::system_clock::time_point due,
                                                   const envelope_options& options) {
  return schedule_envelope(topic, make_envelope(message, options), due);
}

asio::awaitable<std::string> scheduler::publish_at(std::string_view topic,
                                                   const google::protobuf::Message& message,
                                                   std::chrono::system_clock::time_point due) {
  return schedule_envelope(topic, make_envelope(message, envelope_options{}), due);
}

asio::awaitable<std::string> scheduler::publish_in(std::string_view topic,
                                                   const google::protobuf::Message& message,
                                                   std::chrono::milliseconds delay,
                                                   const envelope_options& options) {
  // The delay goes to the script, which adds it to the server's TIME: the client's clock
  // plays no part in a relative due time.
  return impl_->schedule_task(std::string(topic), make_envelope(message, options), std::nullopt,
                              delay);
}

asio::awaitable<std::string> scheduler::publish_in(std::string_view topic,
                                                   const google::protobuf::Message& message,
                                                   std::chrono::milliseconds delay) {
  return publish_in(topic, message, delay, envelope_options{});
}

asio::awaitable<std::string> scheduler::schedule_envelope(
    std::string_view topic, v1::Envelope envelope, std::chrono::system_clock::time_point due) {
  return impl_->schedule_task(std::string(topic), std::move(envelope), due, std::nullopt);
}

asio::awaitable<bool> scheduler::cancel_scheduled(std::string_view topic, std::string_view id) {
  return impl_->cancel_scheduled(std::string(topic), std::string(id));
}

asio::awaitable<std::vector<scheduled_task>> scheduler::list_scheduled(std::string_view topic,
                                                                       std::size_t limit) {
  return impl_->list_scheduled(std::string(topic), limit);
}

asio::awaitable<std::uint64_t> scheduler::scheduled_count(std::string_view topic) {
  return impl_->scheduled_count(std::string(topic));
}

// ---- recurring tasks --------------------------------------------------------------------

asio::awaitable<void> scheduler::upsert_recurring(std::string_view topic, std::string_view name,
                                                  const schedule& when,
                                                  const google::protobuf::Message& message,
                                                  missed_policy on_missed) {
  std::shared_ptr<google::protobuf::Message> copy(message.New());
  copy->CopyFrom(message);
  return impl_->upsert_recurring(std::string(topic), std::string(name), when, std::move(copy),
                                 on_missed);
}

asio::awaitable<std::vector<recurring_task>> scheduler::list_recurring(std::string_view topic) {
  return impl_->list_recurring(std::string(topic));
}

asio::awaitable<bool> scheduler::pause_recurring(std::string_view topic, std::string_view name) {
  return impl_->set_recurring_flag(std::string(topic), std::string(name),
                                   detail::recurring_change::pause);
}

asio::awaitable<bool> scheduler::resume_recurring(std::string_view topic, std::string_view name) {
  return impl_->set_recurring_flag(std::string(topic), std::string(name),
                                   detail::recurring_change::resume);
}

asio::awaitable<bool> scheduler::remove_recurring(std::string_view topic, std::string_view name) {
  return impl_->set_recurring_flag(std::string(topic), std::string(name),
                                   detail::recurring_change::remove);
}

}  // namespace streamq::streams

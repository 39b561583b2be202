#include "support/failure_log.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>

#include <system_error>
#include <utility>

namespace streamq::streams::detail {

std::uint64_t error_throttle::failed(const error_code& code, clock::time_point now) noexcept {
  ++held_;
  const bool first = run_++ == 0;
  if (!first && code == reported_ && now - last_report_ < interval_) return 0;
  reported_ = code;
  last_report_ = now;
  return std::exchange(held_, 0);
}

std::uint64_t error_throttle::succeeded() noexcept {
  held_ = 0;
  return std::exchange(run_, 0);
}

std::string code_string(const error_code& ec) {
  // A std::error_code inside a boost one shows its own category only once converted back.
  const std::error_code std_ec = ec;
  return std::string(std_ec.category().name()) + ":" + std::to_string(std_ec.value());
}

bool answered_by_server(const error_code& ec) {
  const std::error_code std_ec = ec;
  return std_ec.category() == resp::server_category() ||
         std_ec.category() == resp::adapt_category();
}

failure_log::failure_log(std::string_view component, logger log, std::chrono::milliseconds interval)
    : component_(component), log_(std::move(log)), interval_(interval) {}

std::uint64_t failure_log::failed(std::string_view event, std::string_view topic,
                                  const error_code& ec, std::string_view text) {
  {
    const std::lock_guard lock(mutex_);
    last_.code = ec;
    last_.text = std::string(text);
    last_.topic = std::string(topic);
    last_.at = std::chrono::system_clock::now();
  }
  auto it = throttles_.find(topic);
  if (it == throttles_.end()) it = throttles_.emplace(std::string(topic), interval_).first;
  if (!it->second.failing()) ++failing_;
  const std::uint64_t count = it->second.failed(ec, error_throttle::clock::now());
  if (count == 0) return 0;
  // Errors that retrying cannot cure (NOPERM, WRONGTYPE, ...) need a person; connection
  // trouble is waited out and may heal by itself.
  const bool permanent =
      redis::is_fatal(ec) || (answered_by_server(ec) && !redis::is_retryable(ec));
  const std::string code = code_string(ec);
  const std::string meaning = ec.message();
  const std::string failures = std::to_string(count);
  log_.log(permanent ? log_level::error : log_level::warning, component_, event, text,
           {{"topic", topic}, {"code", code}, {"error", meaning}, {"failures", failures}});
  return count;
}

std::uint64_t failure_log::succeeded(std::string_view event, std::string_view topic) {
  const auto it = throttles_.find(topic);
  if (it == throttles_.end()) return 0;
  const std::uint64_t run = it->second.succeeded();
  if (run == 0) return 0;
  --failing_;
  const std::string failures = std::to_string(run);
  log_.log(log_level::info, component_, event, "working again after failures",
           {{"topic", topic}, {"failures", failures}});
  return run;
}

void failure_log::hook_threw(const std::exception_ptr& e) const noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log_.log(log_level::error, component_, "on_event_threw", ex.what());
  } catch (...) {
    log_.log(log_level::error, component_, "on_event_threw", "unknown exception");
  }
}

component_health failure_log::health(const redis::connection& conn, bool running) const {
  component_health h;
  h.running = running;
  h.connection = conn.state();
  h.last_connection_error = conn.last_error();
  h.failing = failing();
  h.last_error = last();
  return h;
}

last_error_info failure_log::last() const {
  const std::lock_guard lock(mutex_);
  return last_;
}

}  // namespace streamq::streams::detail

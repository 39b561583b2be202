#pragma once
// How a long-lived loop (the scheduler's poller, the trimmer) reports the failures it does not
// throw. Every failure becomes health()'s last error at once. The event hook and the logger
// hear of one when a run of failures starts, whenever its error code changes, then at most once
// per interval while it persists (with the number of failures the report stands for), and
// once more when it ends: a NOPERM that fails every poll is reported, and does not flood.
//
// error_throttle is the rule alone (no clock of its own, no I/O); failure_log applies it per
// topic and writes the log records.

#include <streamq/log.hpp>
#include <streamq/streams/last_error.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace streamq::streams::detail {

class error_throttle {
 public:
  using clock = std::chrono::steady_clock;

  explicit error_throttle(std::chrono::milliseconds interval) noexcept : interval_(interval) {}

  // A failure with `code` at `now`. Returns how many failures a report made now stands for
  // (this one and those held back since the previous report), or 0: hold this one back.
  std::uint64_t failed(const error_code& code, clock::time_point now) noexcept;
  // A success. Returns how many failures the run it ends had (0: nothing was failing); the
  // end of a run is reported once.
  std::uint64_t succeeded() noexcept;
  [[nodiscard]] bool failing() const noexcept { return run_ > 0; }

 private:
  std::chrono::milliseconds interval_;
  error_code reported_;
  clock::time_point last_report_{};
  std::uint64_t held_ = 0;  // failures since the last report
  std::uint64_t run_ = 0;   // failures since the run began
};

// "streamq.resp.server:5": a code's category and value, the form dead letters use too.
[[nodiscard]] std::string code_string(const error_code& ec);

// True when Redis answered (an error reply, or a reply of an unexpected shape): such a failure
// concerns the keys of one topic. Any other is the connection's and would hit every topic.
[[nodiscard]] bool answered_by_server(const error_code& ec);

class failure_log {
 public:
  // `component` names the records' source ("scheduler", "trimmer").
  failure_log(std::string_view component, logger log, std::chrono::milliseconds interval);

  // Records a failure of `topic` (empty: of the whole component, e.g. its connection) as the
  // last error. When the throttle lets it through, logs it as `event` (level error, or
  // warning for connection trouble that is retried anyway) and returns how many failures the
  // report stands for; else returns 0. On the loop's executor only.
  std::uint64_t failed(std::string_view event, std::string_view topic, const error_code& ec,
                       std::string_view text);
  // Records a success of `topic`. If it ends a run of failures, logs `event` (level info) and
  // returns how many failures that run had; else returns 0. On the loop's executor only.
  std::uint64_t succeeded(std::string_view event, std::string_view topic);

  // Any thread.
  [[nodiscard]] last_error_info last() const;
  // Any thread: true while some topic's latest attempt failed.
  [[nodiscard]] bool failing() const noexcept { return failing_ > 0; }
  // Any thread: the component's health() from these and `conn`.
  [[nodiscard]] component_health health(const redis::connection& conn, bool running) const;

  // Calls the component's event hook, if it has one; an exception from it is logged and
  // dropped (the component goes on).
  template <class Event>
  void notify(const std::function<void(const Event&)>& hook, const Event& event) const noexcept {
    if (!hook) return;
    try {
      hook(event);
    } catch (...) {
      hook_threw(std::current_exception());
    }
  }

  [[nodiscard]] const logger& log() const noexcept { return log_; }
  [[nodiscard]] std::string_view component() const noexcept { return component_; }

 private:
  void hook_threw(const std::exception_ptr& e) const noexcept;

  std::string component_;
  logger log_;
  std::chrono::milliseconds interval_;
  std::map<std::string, error_throttle, std::less<>> throttles_;  // by topic
  std::atomic<std::size_t> failing_{0};                           // throttles failing
  mutable std::mutex mutex_;
  last_error_info last_;
};

}  // namespace streamq::streams::detail

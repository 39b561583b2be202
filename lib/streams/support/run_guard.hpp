#pragma once
// Held by run() of a component with stop() (scheduler, topic_trimmer): however run() ends, it
// clears the running flag and forgets a stop request, so the next run() starts afresh. A class
// with a constructor: GCC 12 mis-compiles some braced initialisation in coroutines.

#include "support/stop_request.hpp"

#include <atomic>

namespace streamq::streams::detail {

class run_guard {
 public:
  run_guard(std::atomic<bool>& running, stop_request& stop) noexcept
      : running_(running), stop_(stop) {}
  ~run_guard() {
    stop_.reset();
    running_ = false;
  }
  run_guard(const run_guard&) = delete;
  run_guard& operator=(const run_guard&) = delete;

 private:
  std::atomic<bool>& running_;
  stop_request& stop_;
};

}  // namespace streamq::streams::detail

#pragma once
// The latest error a long-lived component (scheduler, topic_trimmer) met and did not throw.
// Its health() shows it, so an error that repeats every poll is visible at any moment, while
// the component's event hook and logger hear of it only at a bounded rate (see
// error_report_interval in the components' configs).

#include <streamq/streams/error.hpp>

#include <chrono>
#include <string>

namespace streamq::streams {

struct last_error_info {
  error_code code;    // clear until the first error; compare it with enumerators, never text
  std::string text;   // what failed, with the server's own words where there are some
  std::string topic;  // the topic it concerns; empty when it concerns every topic (connection)
  std::chrono::system_clock::time_point at{};  // when it happened, by this host's clock

  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(code); }
};

}  // namespace streamq::streams

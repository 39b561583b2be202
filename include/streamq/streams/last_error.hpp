#pragma once
// What health() of a long-lived component (scheduler, topic_trimmer) shows: whether it runs,
// its connection, and the latest error it met and did not throw. An error that repeats every
// poll is visible here at any moment, while the component's event hook and logger hear of it
// only at a bounded rate (see error_report_interval in the components' configs).

#include <streamq/redis/connection.hpp>
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

struct component_health {
  bool running = false;                     // run() is active
  redis::connection_state connection{};     // the client's shared connection
  redis::error_code last_connection_error;  // why it last failed, if it did
  bool failing = false;                     // the latest attempt for some topic failed
  last_error_info last_error;               // the latest failure; kept after recovery
  [[nodiscard]] bool healthy() const noexcept {
    return running && connection == redis::connection_state::connected && !failing;
  }
};

}  // namespace streamq::streams

#pragma once
// The logger hook: every event and every error a long-lived streamq object (consumer,
// scheduler, trimmer, durable publisher) meets and does not return to a caller passes through
// one of these. Each component's config has a `logger log{}`; left empty, it writes one JSON
// object per line to stderr, so nothing is ever silently dropped.
//
//   consumer_config cfg{.group = "billing",
//                       .log = streamq::logger([](const streamq::log_record& r) { ... })};
//
// A sink is called on the thread that runs the component (its io_context), must not block
// and must not throw (an exception from it is swallowed, never propagated into streamq).

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace streamq {

enum class log_level : std::uint8_t { debug, info, warning, error };

// "debug", "info", "warning", "error".
[[nodiscard]] std::string_view to_string(log_level level) noexcept;

// One structured field of a record: both views are valid only during the sink call.
struct log_field {
  std::string_view name;
  std::string_view value;
};

struct log_record {
  log_level level = log_level::info;
  std::string_view component;  // "consumer", "scheduler", "trimmer", "durable_publisher", ...
  std::string_view event;      // a stable, machine-readable name: "dead_lettered", "ack_failed"
  std::string_view message;    // for people
  std::span<const log_field> fields;
};

using log_sink = std::function<void(const log_record&)>;

// The default sink: one JSON object per line on stderr, e.g.
// {"level":"warning","component":"consumer","event":"ack_failed","message":"...","group":"g"}
// The line is written with one write(2), so lines from several threads do not interleave.
void write_json_line(const log_record& record) noexcept;

// The JSON text write_json_line writes (without the newline): for sinks that want the same
// format elsewhere, and for tests.
[[nodiscard]] std::string to_json(const log_record& record);

// A copyable handle on a sink; empty means write_json_line. Records below `min_level` are
// dropped before any formatting.
class logger {
 public:
  logger() = default;
  explicit logger(log_sink sink, log_level min_level = log_level::info)
      : sink_(std::move(sink)), min_level_(min_level) {}

  [[nodiscard]] log_level min_level() const noexcept { return min_level_; }
  [[nodiscard]] bool enabled(log_level level) const noexcept { return level >= min_level_; }

  void log(log_level level, std::string_view component, std::string_view event,
           std::string_view message, std::initializer_list<log_field> fields = {}) const noexcept;
  void log(const log_record& record) const noexcept;

 private:
  log_sink sink_;
  log_level min_level_ = log_level::info;
};

}  // namespace streamq

#include <streamq/log.hpp>

#include <streamq/detail/text_escape.hpp>

#include <unistd.h>

#include <cstdio>

namespace streamq {

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "unknown";
}

namespace {
void append_member(std::string& out, std::string_view name, std::string_view value) {
  if (out.size() > 1) out += ',';
  detail::append_json_string(out, name);
  out += ':';
  detail::append_json_string(out, value);
}
}  // namespace

std::string to_json(const log_record& record) {
  std::string out = "{";
  append_member(out, "level", to_string(record.level));
  if (!record.component.empty()) append_member(out, "component", record.component);
  if (!record.event.empty()) append_member(out, "event", record.event);
  append_member(out, "message", record.message);
  for (const auto& field : record.fields) append_member(out, field.name, field.value);
  out += '}';
  return out;
}

void write_json_line(const log_record& record) noexcept {
  try {
    std::string line = to_json(record);
    line += '\n';
    std::size_t done = 0;
    while (done < line.size()) {
      const auto n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  } catch (...) {
    // out of memory while formatting: nothing sensible is left to do
  }
}

void logger::log(const log_record& record) const noexcept {
  if (!enabled(record.level)) return;
  if (!sink_) {
    write_json_line(record);
    return;
  }
  try {
    sink_(record);
  } catch (...) {
    // a sink must not throw; streamq's own state must not depend on it
  }
}

void logger::log(log_level level, std::string_view component, std::string_view event,
                 std::string_view message, std::initializer_list<log_field> fields) const noexcept {
  log(log_record{level, component, event, message,
                 std::span<const log_field>(fields.begin(), fields.size())});
}

}  // namespace streamq

#include <streamq/spdlog/spdlog_logger.hpp>

#include <streamq/detail/text_escape.hpp>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <stdexcept>

namespace streamq {

namespace {

spdlog::level::level_enum to_spdlog(log_level level) noexcept {
  switch (level) {
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warning: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
  }
  return spdlog::level::err;
}

bool needs_quotes(std::string_view value) noexcept {
  if (value.empty()) return true;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7F || c >= 0x80) return true;
  }
  return false;
}

// A value as written: as it is when that cannot be misread, else in double quotes with C-style
// escapes (\" \\ \n \r \t, \xNN for other control bytes and for bytes of invalid UTF-8).
void append_value(std::string& out, std::string_view value) {
  if (!needs_quotes(value)) {
    out += value;
    return;
  }
  out += '"';
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (const auto escape = detail::short_escape(c); !escape.empty()) {
      out += escape;
      continue;
    }
    // A whole, valid UTF-8 sequence is kept as it is.
    if (const auto len = c >= 0x80 ? detail::utf8_sequence_length(value, i) : 0; len != 0) {
      out.append(value.substr(i, len));
      i += len - 1;
      continue;
    }
    if (c < 0x20 || c == 0x7F || c >= 0x80) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      continue;
    }
    out += static_cast<char>(c);
  }
  out += '"';
}

}  // namespace

std::string to_text(const log_record& record) {
  std::string out;
  out += record.component;
  if (!record.event.empty()) {
    if (!out.empty()) out += ' ';
    out += record.event;
  }
  if (!out.empty()) out += ':';
  if (!record.message.empty()) {
    if (!out.empty()) out += ' ';
    out += record.message;
  }
  for (const auto& field : record.fields) {
    if (!out.empty()) out += ' ';
    out += field.name;
    out += '=';
    append_value(out, field.value);
  }
  return out;
}

logger spdlog_logger(std::shared_ptr<spdlog::logger> target, log_level min_level) {
  if (target == nullptr) throw std::invalid_argument("spdlog_logger: target is null");
  return logger(
      [target = std::move(target)](const log_record& record) {
        const auto level = to_spdlog(record.level);
        // Formatting is skipped when spdlog would drop the line anyway.
        if (!target->should_log(level)) return;
        target->log(level, "{}", to_text(record));
      },
      min_level);
}

}  // namespace streamq

#pragma once
// What the commands print: one JSON object for scripts (--json), an aligned table for people.
// Kept to what the commands need: strings, numbers, booleans, null, nesting by hand.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::cli {

// `text` as a JSON string literal, quotes included (admin::json_string: control characters
// escaped, bytes of invalid UTF-8 as \u00XX).
[[nodiscard]] std::string json_string(std::string_view text);
// A number, or null when absent.
[[nodiscard]] std::string json_number(std::optional<std::uint64_t> value);

// "2026-12-03T10:00:00.250Z": a time for people, UTC, to the millisecond (parse_utc_time reads
// it back).
[[nodiscard]] std::string utc_time_text(std::chrono::system_clock::time_point t);
// Milliseconds since the Unix epoch, for JSON.
[[nodiscard]] std::string unix_ms_json(std::chrono::system_clock::time_point t);

// Builds one JSON object: add("key", already-encoded value) in order, then str().
class json_object {
 public:
  json_object& add(std::string_view key, std::string_view encoded_value);
  [[nodiscard]] std::string str() const { return body_ + "}"; }

 private:
  std::string body_ = "{";
};
// [a,b,...] from already-encoded values.
[[nodiscard]] std::string json_array(const std::vector<std::string>& encoded_values);

// Prints `header` and `rows` as columns separated by two spaces, each as wide as its widest
// cell; "(none)" under the header when there are no rows.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

}  // namespace streamq::cli

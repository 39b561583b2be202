#pragma once
// What the commands print: one JSON object for scripts (--json), an aligned table for people.
// Kept to what the commands need: strings, numbers, booleans, null, nesting by hand.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::cli {

// `text` as a JSON string literal, quotes included (control characters escaped as \u00XX).
[[nodiscard]] std::string json_string(std::string_view text);
// A number, or null when absent.
[[nodiscard]] std::string json_number(std::optional<std::uint64_t> value);

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

// JSON and table output: see output.hpp.
#include "output.hpp"

#include <streamq/admin/payload_json.hpp>

#include <algorithm>
#include <cstdio>

namespace streamq::cli {

std::string json_string(std::string_view text) {
  // The admin library's, which also keeps the text valid JSON when it is not valid UTF-8.
  return admin::json_string(text);
}

std::string json_number(std::optional<std::uint64_t> value) {
  return value ? std::to_string(*value) : "null";
}

std::string utc_time_text(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = time_point_cast<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> tod{ms - day};
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()),
                static_cast<int>(tod.subseconds().count()));
  return text;
}

std::string unix_ms_json(std::chrono::system_clock::time_point t) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

json_object& json_object::add(std::string_view key, std::string_view encoded_value) {
  if (body_.size() > 1) body_ += ',';
  body_ += json_string(key);
  body_ += ':';
  body_ += encoded_value;
  return *this;
}

std::string json_array(const std::vector<std::string>& encoded_values) {
  std::string out = "[";
  for (std::size_t i = 0; i < encoded_values.size(); ++i) {
    if (i > 0) out += ',';
    out += encoded_values[i];
  }
  return out + "]";
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  const auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size()) line += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  };
  print_row(header);
  if (rows.empty()) std::printf("(none)\n");
  for (const auto& row : rows) print_row(row);
}

}  // namespace streamq::cli

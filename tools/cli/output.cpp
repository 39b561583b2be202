// JSON and table output: see output.hpp.
#include "output.hpp"

#include <algorithm>
#include <cstdio>

namespace streamq::cli {

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(ch));
          out += escaped;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string json_number(std::optional<std::uint64_t> value) {
  return value ? std::to_string(*value) : "null";
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

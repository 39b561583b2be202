#pragma once
// Text quoted in error messages: printable ASCII as is, anything else as \xNN, long text
// shortened, so that a message stays one readable line.

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace streamq::streams::detail {

inline std::string shown(std::string_view text, std::size_t limit) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
      continue;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", byte);
    out += hex;
  }
  if (text.size() > limit) out += "...";
  return out;
}

}  // namespace streamq::streams::detail

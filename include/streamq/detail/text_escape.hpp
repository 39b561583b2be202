#pragma once
// Pieces shared by the log formats (JSON lines in log.cpp, key=value text for spdlog) and the
// admin library's JSON: how a byte is escaped and where a valid UTF-8 sequence ends. Standard
// library only.

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace streamq::detail {

// The two-character escape of `c` in both formats (\" \\ \n \r \t), or an empty view.
[[nodiscard]] constexpr std::string_view short_escape(unsigned char c) noexcept {
  switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: return {};
  }
}

// The length of the valid UTF-8 sequence that starts at text[i] (a byte >= 0x80), or 0 when
// the bytes there are not one. Overlong forms are not told apart: the formats only need each
// line to stay valid UTF-8 when written as it is.
[[nodiscard]] constexpr std::size_t utf8_sequence_length(std::string_view text,
                                                         std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(text[i]);
  const std::size_t len =
      (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  return len;
}

// `text` as a JSON string (RFC 8259), quotes included, appended to `out`: quotes, backslash and
// control characters escaped; bytes that are not valid UTF-8 are replaced by U+FFFD, one per
// byte, so the text always parses whatever bytes it was given.
inline void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (const auto escape = short_escape(c); !escape.empty()) {
      out += escape;
      continue;
    }
    if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    // A UTF-8 sequence: copied whole when valid, else one U+FFFD per bad byte.
    if (const auto len = utf8_sequence_length(text, i); len != 0) {
      out.append(text.substr(i, len));
      i += len - 1;
    } else {
      out += "\xEF\xBF\xBD";
    }
  }
  out += '"';
}

}  // namespace streamq::detail

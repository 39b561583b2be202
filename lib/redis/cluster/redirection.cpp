#include "redirection.hpp"

#include <charconv>
#include <utility>

namespace streamq::redis::cluster {
namespace {

// A whole run of decimal digits (no sign, no spaces) no larger than `max`.
bool parse_bounded(std::string_view text, unsigned max, unsigned& out) {
  if (text.empty() || text.size() > 5) return false;
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > max) return false;
  out = v;
  return true;
}

}  // namespace

std::error_code parse_redirection(std::string_view message, std::string_view origin_host,
                                  redirection& out) {
  const std::error_code malformed = cluster_errc::malformed_redirection;
  // Exactly three words separated by single spaces: kind, slot, endpoint:port.
  const auto space1 = message.find(' ');
  if (space1 == std::string_view::npos) return malformed;
  const auto space2 = message.find(' ', space1 + 1);
  if (space2 == std::string_view::npos) return malformed;
  const std::string_view kind = message.substr(0, space1);
  const std::string_view slot_text = message.substr(space1 + 1, space2 - space1 - 1);
  const std::string_view where = message.substr(space2 + 1);
  if (where.find_first_of(" \t\r\n") != std::string_view::npos) return malformed;

  redirection r;
  if (kind == "MOVED")
    r.kind = redirect_kind::moved;
  else if (kind == "ASK")
    r.kind = redirect_kind::ask;
  else
    return malformed;

  unsigned slot = 0;
  if (!parse_bounded(slot_text, static_cast<unsigned>(slot_count - 1), slot)) return malformed;
  r.slot = static_cast<std::uint16_t>(slot);

  // The port follows the last colon: an IPv6 address keeps its own colons.
  const auto colon = where.rfind(':');
  if (colon == std::string_view::npos) return malformed;
  unsigned port = 0;
  if (!parse_bounded(where.substr(colon + 1), 65535, port) || port == 0) return malformed;
  r.target.port = static_cast<std::uint16_t>(port);

  std::string_view host = where.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.empty()) return malformed;
  } else if (host.find_first_of("[]") != std::string_view::npos) {
    return malformed;
  }
  if (host == "?") {
    r.known = false;  // a misconfigured node: it has no endpoint to give
  } else if (host.empty()) {
    r.target.host = origin_host;
  } else {
    r.target.host = host;
  }
  out = std::move(r);
  return {};
}

}  // namespace streamq::redis::cluster

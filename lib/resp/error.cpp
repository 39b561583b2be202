#include <streamq/resp/error.hpp>

#include <array>
#include <string>
#include <utility>

namespace streamq::resp {
namespace {

class parse_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "streamq.resp.parse"; }
  std::string message(int ev) const override {
    switch (static_cast<parse_errc>(ev)) {
      case parse_errc::invalid_type_byte:
        return "RESP: invalid type byte";
      case parse_errc::invalid_integer:
        return "RESP: invalid integer";
      case parse_errc::invalid_length:
        return "RESP: invalid length";
      case parse_errc::invalid_double:
        return "RESP: invalid double";
      case parse_errc::invalid_boolean:
        return "RESP: invalid boolean";
      case parse_errc::invalid_big_number:
        return "RESP: invalid big number";
      case parse_errc::invalid_verbatim:
        return "RESP: verbatim string without format prefix";
      case parse_errc::missing_crlf:
        return "RESP: blob not terminated by CRLF";
      case parse_errc::line_too_long:
        return "RESP: line exceeds max_line_length";
      case parse_errc::bulk_too_long:
        return "RESP: blob exceeds max_bulk_length";
      case parse_errc::aggregate_too_large:
        return "RESP: aggregate exceeds max_aggregate_size";
      case parse_errc::depth_exceeded:
        return "RESP: nesting exceeds max_depth";
      case parse_errc::unsupported_streamed:
        return "RESP: streamed types are not supported";
      case parse_errc::missing_lf:
        return "RESP: CR inside a line not followed by LF";
    }
    return "RESP: unknown parse error";
  }
};

class adapt_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "streamq.resp.adapt"; }
  std::string message(int ev) const override {
    switch (static_cast<adapt_errc>(ev)) {
      case adapt_errc::type_mismatch:
        return "reply type does not match the target type";
      case adapt_errc::unexpected_null:
        return "null reply for a non-optional target";
      case adapt_errc::out_of_range:
        return "number out of range of the target type";
      case adapt_errc::invalid_number:
        return "reply is not a valid number";
      case adapt_errc::size_mismatch:
        return "aggregate size does not match the target";
    }
    return "unknown adapter error";
  }
};

constexpr std::array<std::pair<std::string_view, server_errc>, 21> prefixes{{
    {"ERR", server_errc::generic},
    {"BUSYGROUP", server_errc::busygroup},
    {"NOGROUP", server_errc::nogroup},
    {"NOSCRIPT", server_errc::noscript},
    {"READONLY", server_errc::readonly},
    {"LOADING", server_errc::loading},
    {"NOAUTH", server_errc::noauth},
    {"WRONGPASS", server_errc::wrongpass},
    {"NOPERM", server_errc::noperm},
    {"OOM", server_errc::oom},
    {"WRONGTYPE", server_errc::wrongtype},
    {"BUSY", server_errc::busy},
    {"MASTERDOWN", server_errc::masterdown},
    {"MOVED", server_errc::moved},
    {"ASK", server_errc::ask},
    {"TRYAGAIN", server_errc::tryagain},
    {"CROSSSLOT", server_errc::crossslot},
    {"CLUSTERDOWN", server_errc::clusterdown},
    {"EXECABORT", server_errc::execabort},
    {"NOREPLICAS", server_errc::noreplicas},
    {"UNKILLABLE", server_errc::unkillable},
}};

class server_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "streamq.redis.server"; }
  std::string message(int ev) const override {
    const auto e = static_cast<server_errc>(ev);
    if (e == server_errc::notbusy) return "Redis error NOTBUSY";
    if (e == server_errc::unblocked) return "Redis error UNBLOCKED";
    for (const auto& [prefix, code] : prefixes)
      if (code == e) return "Redis error " + std::string(prefix);
    return "Redis error";
  }
};

}  // namespace

const std::error_category& parse_category() noexcept {
  static const parse_category_impl instance;
  return instance;
}
const std::error_category& adapt_category() noexcept {
  static const adapt_category_impl instance;
  return instance;
}
const std::error_category& server_category() noexcept {
  static const server_category_impl instance;
  return instance;
}

server_errc classify_server_error(std::string_view message) noexcept {
  const std::string_view word = message.substr(0, message.find(' '));
  if (word == "NOTBUSY") return server_errc::notbusy;
  if (word == "UNBLOCKED") return server_errc::unblocked;
  for (const auto& [prefix, code] : prefixes)
    if (word == prefix) return code;
  return server_errc::generic;
}

bool is_transient(server_errc e) noexcept {
  switch (e) {
    case server_errc::loading:
    case server_errc::busy:
    case server_errc::masterdown:
    case server_errc::tryagain:
    case server_errc::clusterdown:
    case server_errc::readonly:
    case server_errc::noreplicas:
      return true;
    default:
      return false;
  }
}

}  // namespace streamq::resp

#include <streamq/resp/error.hpp>
#include <streamq/resp/parser.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace streamq::resp {
namespace {

constexpr std::string_view crlf{"\r\n"};

// Lengths: "-1" or plain digits, as every peer sends them.
bool parse_int64(std::string_view s, std::int64_t& out) noexcept {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, err] = std::from_chars(s.data(), end, out);
  return err == std::errc{} && ptr == end;
}

// The spec allows an explicit '+' on integers and doubles (":+5", ",+1.5"); from_chars does
// not, so drop it when a digit or "inf" follows.
std::string_view drop_plus(std::string_view s) noexcept {
  if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  return s;
}

bool valid_integer(std::string_view s) noexcept {
  std::int64_t v = 0;
  return parse_int64(drop_plus(s), v);
}

bool valid_double(std::string_view s) noexcept {
  s = drop_plus(s);
  if (s.empty()) return false;
  double d = 0;
  const char* end = s.data() + s.size();
  auto [ptr, err] = std::from_chars(s.data(), end, d);
  // out-of-range values (1e999) are still well-formed doubles on the wire
  return ptr == end && (err == std::errc{} || err == std::errc::result_out_of_range);
}

bool valid_big_number(std::string_view s) noexcept {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool known_marker(char marker) noexcept {
  return std::string_view("+-:$!,#(=_*%~|>").find(marker) != std::string_view::npos;
}

// Marker byte of each aggregate type; 0 for leaves.
type aggregate_type(char marker) noexcept {
  switch (marker) {
    case '*':
      return type::array;
    case '%':
      return type::map;
    case '~':
      return type::set;
    case '|':
      return type::attribute;
    case '>':
      return type::push;
    default:
      return type::null;
  }
}

}  // namespace

parser::parser(const parser_limits& limits) : limits_(limits) {
  // A generous max_depth must not allocate up front; deeper stacks grow on demand.
  stack_.reserve(std::min<std::size_t>(limits_.max_depth, 64));
}

void parser::reset() noexcept {
  stack_.clear();
  consumed_ = 0;
  needed_ = 0;
  error_.clear();
  done_ = false;
}

std::optional<node> parser::fail(std::error_code& ec, std::error_code e) noexcept {
  error_ = e;
  ec = e;
  return std::nullopt;
}

void parser::complete(bool completed_attribute) noexcept {
  while (true) {
    if (stack_.empty()) {
      done_ = !completed_attribute;
      return;
    }
    // An attribute annotates the value after it; it is not an element of its parent.
    if (completed_attribute) return;
    frame& top = stack_.back();
    if (--top.remaining > 0) return;
    completed_attribute = top.attribute;
    stack_.pop_back();
  }
}

std::optional<node> parser::consume(std::string_view data, std::error_code& ec) {
  ec.clear();
  consumed_ = 0;
  done_ = false;
  if (error_) return fail(ec, error_);
  if (data.empty()) {
    needed_ = 1;
    return std::nullopt;
  }

  // Refuse garbage at once rather than after waiting for a CRLF that may never come.
  if (!known_marker(data[0])) return fail(ec, parse_errc::invalid_type_byte);

  // A line may be max_line_length bytes plus CRLF (saturating: "unlimited" must not wrap).
  const std::size_t window = limits_.max_line_length > static_cast<std::size_t>(-1) - 2
                                 ? static_cast<std::size_t>(-1)
                                 : limits_.max_line_length + 2;
  const std::size_t scan = std::min(data.size(), window);
  const auto line_end = std::string_view(data.data(), scan).find(crlf);
  if (line_end == std::string_view::npos) {
    if (data.size() >= window) return fail(ec, parse_errc::line_too_long);
    needed_ = data.size() + 1;
    return std::nullopt;
  }

  const char marker = data[0];
  const std::string_view line = data.substr(1, line_end - 1);
  std::size_t used = line_end + 2;
  node n;
  n.depth = stack_.size();
  n.value = line;

  switch (marker) {
    case '+':
      n.data_type = type::simple_string;
      break;
    case '-':
      n.data_type = type::simple_error;
      break;
    case ':':
      if (!valid_integer(line)) return fail(ec, parse_errc::invalid_integer);
      n.data_type = type::integer;
      break;
    case ',':
      if (!valid_double(line)) return fail(ec, parse_errc::invalid_double);
      n.data_type = type::double_type;
      break;
    case '#':
      if (line != "t" && line != "f") return fail(ec, parse_errc::invalid_boolean);
      n.data_type = type::boolean;
      break;
    case '(':
      if (!valid_big_number(line)) return fail(ec, parse_errc::invalid_big_number);
      n.data_type = type::big_number;
      break;
    case '_':
      if (!line.empty()) return fail(ec, parse_errc::invalid_length);
      n.data_type = type::null;
      break;
    case '$':
    case '!':
    case '=': {
      if (line == "?") return fail(ec, parse_errc::unsupported_streamed);
      std::int64_t len = 0;
      if (!parse_int64(line, len)) return fail(ec, parse_errc::invalid_length);
      n.value = {};
      if (len == -1 && marker == '$') {  // RESP2 null bulk string
        n.data_type = type::null;
        break;
      }
      if (len < 0) return fail(ec, parse_errc::invalid_length);
      if (static_cast<std::uint64_t>(len) > limits_.max_bulk_length)
        return fail(ec, parse_errc::bulk_too_long);
      const auto body = static_cast<std::size_t>(len);
      if (data.size() < used + body + 2) {
        needed_ = used + body + 2;
        return std::nullopt;
      }
      if (data.compare(used + body, 2, crlf) != 0) return fail(ec, parse_errc::missing_crlf);
      n.value = data.substr(used, body);
      used += body + 2;
      if (marker == '$') {
        n.data_type = type::blob_string;
      } else if (marker == '!') {
        n.data_type = type::blob_error;
      } else {
        if (n.value.size() < 4 || n.value[3] != ':') return fail(ec, parse_errc::invalid_verbatim);
        n.value.remove_prefix(4);
        n.data_type = type::verbatim_string;
      }
      break;
    }
    default: {
      const type agg = aggregate_type(marker);
      if (agg == type::null) return fail(ec, parse_errc::invalid_type_byte);
      if (line == "?") return fail(ec, parse_errc::unsupported_streamed);
      std::int64_t size = 0;
      if (!parse_int64(line, size)) return fail(ec, parse_errc::invalid_length);
      n.value = {};
      if (size == -1 && marker == '*') {  // RESP2 null array
        n.data_type = type::null;
        break;
      }
      if (size < 0) return fail(ec, parse_errc::invalid_length);
      if (static_cast<std::uint64_t>(size) > limits_.max_aggregate_size)
        return fail(ec, parse_errc::aggregate_too_large);
      n.data_type = agg;
      n.aggregate_size = static_cast<std::size_t>(size);
      const std::size_t children = element_count(agg, n.aggregate_size);
      if (children > 0) {
        if (stack_.size() >= limits_.max_depth) return fail(ec, parse_errc::depth_exceeded);
        consumed_ = used;
        needed_ = 0;
        stack_.push_back({children, agg == type::attribute});
        return n;
      }
      break;
    }
  }

  consumed_ = used;
  needed_ = 0;
  complete(n.data_type == type::attribute);
  return n;
}

std::string_view to_string(type t) noexcept {
  switch (t) {
    case type::simple_string:
      return "simple_string";
    case type::simple_error:
      return "simple_error";
    case type::integer:
      return "integer";
    case type::blob_string:
      return "blob_string";
    case type::blob_error:
      return "blob_error";
    case type::double_type:
      return "double";
    case type::boolean:
      return "boolean";
    case type::big_number:
      return "big_number";
    case type::verbatim_string:
      return "verbatim_string";
    case type::null:
      return "null";
    case type::array:
      return "array";
    case type::map:
      return "map";
    case type::set:
      return "set";
    case type::attribute:
      return "attribute";
    case type::push:
      return "push";
  }
  return "unknown";
}

}  // namespace streamq::resp

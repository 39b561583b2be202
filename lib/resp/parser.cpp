#include <streamq/resp/error.hpp>
#include <streamq/resp/parser.hpp>

#include <algorithm>
#include <cstdint>

namespace streamq::resp {
namespace {

// Every check below reads a line's payload (the bytes after the type byte, before its CR) in
// order and fails at the first byte that no continuation can make valid, so a peer that sends
// `:12a` or `$-2` fails now rather than after a CRLF that may never come. `complete` adds the
// end-of-line checks. Fed a prefix or the whole line, a check fails at the same byte with the
// same code: the outcome cannot depend on how the stream was split.

constexpr auto int64_max = static_cast<std::uint64_t>(INT64_MAX);
constexpr auto unbounded = static_cast<std::uint64_t>(-1);

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// An optionally signed run of digits whose magnitude stays within `max_positive` (or
// `max_negative` after a '-'); `unbounded` means any number of digits.
bool check_decimal(std::string_view s, bool complete, std::uint64_t max_positive,
                   std::uint64_t max_negative) noexcept {
  std::size_t i = 0;
  std::uint64_t limit = max_positive;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    if (s[0] == '-') limit = max_negative;
    i = 1;
  }
  if (complete && i == s.size()) return false;  // a sign alone, or nothing
  std::uint64_t magnitude = 0;
  for (; i < s.size(); ++i) {
    if (!is_digit(s[i])) return false;
    if (limit == unbounded) continue;
    const auto digit = static_cast<std::uint64_t>(s[i] - '0');
    if (magnitude > (limit - digit) / 10) return false;  // more digits only make it larger
    magnitude = magnitude * 10 + digit;
  }
  return true;
}

// ':' — an int64; an explicit '+' is allowed.
bool check_integer(std::string_view s, bool complete) noexcept {
  return check_decimal(s, complete, int64_max, int64_max + 1);
}

// '(' — any number of digits.
bool check_big_number(std::string_view s, bool complete) noexcept {
  return check_decimal(s, complete, unbounded, unbounded);
}

// Whether `s` is a case-insensitive prefix of `word` (the whole of it when complete).
bool prefix_of(std::string_view s, std::string_view word, bool complete) noexcept {
  if (s.size() > word.size() || (complete && s.size() != word.size())) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (lower(s[i]) != word[i]) return false;
  return true;
}

// inf, infinity, nan or nan(chars), in any case (what from_chars reads).
bool check_double_word(std::string_view s, bool complete) noexcept {
  if (lower(s[0]) == 'i')
    return prefix_of(s, "inf", complete) || prefix_of(s, "infinity", complete);
  if (s.size() <= 3) return prefix_of(s, "nan", complete);
  if (!prefix_of(s.substr(0, 3), "nan", true) || s[3] != '(') return false;
  for (std::size_t i = 4; i < s.size(); ++i) {
    if (s[i] == ')') return i + 1 == s.size();
    if (!is_digit(s[i]) && !(lower(s[i]) >= 'a' && lower(s[i]) <= 'z') && s[i] != '_') return false;
  }
  return !complete;
}

// ',' — [+-] digits with at most one '.', at least one digit, then an optional exponent
// ([eE] [+-] digits); or a word (see above). Out-of-range values (1e999) are well-formed.
bool check_double(std::string_view s, bool complete) noexcept {
  std::size_t i = 0;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) i = 1;
  if (i == s.size()) return !complete;
  if (lower(s[i]) == 'i' || lower(s[i]) == 'n') return check_double_word(s.substr(i), complete);
  bool dot = false, digits = false;
  for (; i < s.size(); ++i) {
    if (is_digit(s[i])) {
      digits = true;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else if (lower(s[i]) == 'e' && digits) {
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
      if (complete && i == s.size()) return false;
      for (; i < s.size(); ++i)
        if (!is_digit(s[i])) return false;
      return true;
    } else {
      return false;
    }
  }
  return digits || !complete;
}

// '#' — t or f.
bool check_boolean(std::string_view s, bool complete) noexcept {
  if (s.size() > 1 || (complete && s.empty())) return false;
  return s.empty() || s[0] == 't' || s[0] == 'f';
}

// The length line of a blob or aggregate: digits, or "-1" (RESP2 null: `$` and `*` only).
struct header_rules {
  bool null_allowed;
  std::uint64_t max;      // parser limit for the value
  parse_errc too_large;   // its error
  bool children_refused;  // an aggregate at max_depth: any count above 0 is too deep
};

// Returns the first error in the header's payload; on success and `complete`, `value` is the
// length (-1 for a null).
std::error_code check_header(std::string_view s, bool complete, const header_rules& rules,
                             std::int64_t& value) noexcept {
  if (s.empty()) {
    if (complete) return parse_errc::invalid_length;
    return {};
  }
  if (s[0] == '?') return parse_errc::unsupported_streamed;
  if (s[0] == '-') {
    if (!rules.null_allowed || (s.size() > 1 && s[1] != '1') || s.size() > 2 ||
        (complete && s.size() == 1))
      return parse_errc::invalid_length;
    value = -1;
    return {};
  }
  std::uint64_t v = 0;
  for (const char c : s) {
    if (!is_digit(c)) return parse_errc::invalid_length;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    // Past the limit (or past int64) now means past it for good: more digits only add.
    v = v > (unbounded - digit) / 10 ? unbounded : v * 10 + digit;
    if (v > rules.max) return rules.too_large;
    if (v > int64_max) return parse_errc::invalid_length;
    if (v > 0 && rules.children_refused) return parse_errc::depth_exceeded;
  }
  value = static_cast<std::int64_t>(v);
  return {};
}

bool known_marker(char marker) noexcept {
  return std::string_view("+-:$!,#(=_*%~|>").find(marker) != std::string_view::npos;
}

// Marker byte of each aggregate type; null for leaves.
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

// The first error in a line's payload, for a line of type `marker` at nesting `depth`. For a
// blob or aggregate header of a complete line, `length` receives its length (-1: null).
std::error_code check_line(char marker, std::string_view payload, bool complete,
                           const parser_limits& limits, std::size_t depth,
                           std::int64_t& length) noexcept {
  switch (marker) {
    case '+':
    case '-':
      return {};
    case ':':
      if (!check_integer(payload, complete)) return parse_errc::invalid_integer;
      return {};
    case ',':
      if (!check_double(payload, complete)) return parse_errc::invalid_double;
      return {};
    case '#':
      if (!check_boolean(payload, complete)) return parse_errc::invalid_boolean;
      return {};
    case '(':
      if (!check_big_number(payload, complete)) return parse_errc::invalid_big_number;
      return {};
    case '_':
      if (!payload.empty()) return parse_errc::invalid_length;
      return {};
    case '$':
    case '!':
    case '=':
      return check_header(payload, complete,
                          {marker == '$', limits.max_bulk_length, parse_errc::bulk_too_long, false},
                          length);
    default:
      return check_header(payload, complete,
                          {marker == '*', limits.max_aggregate_size,
                           parse_errc::aggregate_too_large, depth >= limits.max_depth},
                          length);
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
  const char marker = data[0];
  if (!known_marker(marker)) return fail(ec, parse_errc::invalid_type_byte);

  // A line ends at its first CR, found at index max_line_length at the latest (the type byte
  // counts, the CRLF does not); nothing beyond that is read. "Unlimited" must not wrap.
  constexpr auto npos = std::string_view::npos;
  const std::size_t window = limits_.max_line_length == npos ? npos : limits_.max_line_length + 1;
  const std::size_t cr = data.substr(0, window).find('\r', 1);
  const bool byte_after_cr = cr != npos && cr + 1 < data.size();
  const bool line_complete = byte_after_cr && data[cr + 1] == '\n';
  const std::size_t payload_end = cr != npos ? cr : std::min(data.size(), window);
  std::int64_t length = 0;
  if (const auto e = check_line(marker, data.substr(1, payload_end - 1), line_complete, limits_,
                                stack_.size(), length))
    return fail(ec, e);
  if (!line_complete) {
    // A CR followed by anything but LF can never end the line: RESP lines carry no bare CR.
    if (byte_after_cr) return fail(ec, parse_errc::missing_lf);
    if (cr == npos && data.size() >= window) return fail(ec, parse_errc::line_too_long);
    needed_ = data.size() + 1;
    return std::nullopt;
  }

  std::size_t used = cr + 2;
  node n;
  n.depth = stack_.size();
  n.value = data.substr(1, cr - 1);

  switch (marker) {
    case '+':
      n.data_type = type::simple_string;
      break;
    case '-':
      n.data_type = type::simple_error;
      break;
    case ':':
      n.data_type = type::integer;
      break;
    case ',':
      n.data_type = type::double_type;
      break;
    case '#':
      n.data_type = type::boolean;
      break;
    case '(':
      n.data_type = type::big_number;
      break;
    case '_':
      n.data_type = type::null;
      break;
    case '$':
    case '!':
    case '=': {
      n.value = {};
      if (length == -1) {  // RESP2 null bulk string
        n.data_type = type::null;
        break;
      }
      const auto body = static_cast<std::size_t>(length);
      const std::size_t end = used + body;
      // The bytes after the header are checked as they arrive, in order: the verbatim
      // format prefix ("txt:"), then the CRLF after the body.
      if (marker == '=' && (body < 4 || (data.size() > used + 3 && data[used + 3] != ':')))
        return fail(ec, parse_errc::invalid_verbatim);
      if ((data.size() > end && data[end] != '\r') ||
          (data.size() > end + 1 && data[end + 1] != '\n'))
        return fail(ec, parse_errc::missing_crlf);
      if (data.size() < end + 2) {
        needed_ = end + 2;
        return std::nullopt;
      }
      n.value = data.substr(used, body);
      used = end + 2;
      if (marker == '$') {
        n.data_type = type::blob_string;
      } else if (marker == '!') {
        n.data_type = type::blob_error;
      } else {
        n.value.remove_prefix(4);
        n.data_type = type::verbatim_string;
      }
      break;
    }
    default: {
      n.value = {};
      if (length == -1) {  // RESP2 null array
        n.data_type = type::null;
        break;
      }
      const type agg = aggregate_type(marker);
      n.data_type = agg;
      n.aggregate_size = static_cast<std::size_t>(length);
      // check_line refused children beyond max_depth already.
      const std::size_t children = element_count(agg, n.aggregate_size);
      if (children > 0) {
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

// cron_expression: parsing, and the search for matching local times (schedule.hpp). Time zones
// are schedule.cpp's business; everything here is wall-clock arithmetic.

#include "support/shown.hpp"

#include <streamq/streams/schedule.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

namespace streamq::streams {
namespace {

using std::chrono::days;
using std::chrono::local_days;
using std::chrono::local_seconds;
using std::chrono::seconds;

enum field : std::size_t { second, minute, hour, day_of_month, month, day_of_week };

constexpr std::array<std::string_view, 12> month_names{"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> weekday_names{"SUN", "MON", "TUE", "WED",
                                                        "THU", "FRI", "SAT"};

struct field_info {
  std::string_view name;
  int min;
  int max;
  // Names of min, min + 1, ... (empty when the field takes numbers only).
  std::span<const std::string_view> names;
  std::string_view names_hint;
};

constexpr std::array<field_info, 6> fields{{
    {"second", 0, 59, {}, {}},
    {"minute", 0, 59, {}, {}},
    {"hour", 0, 23, {}, {}},
    {"day-of-month", 1, 31, {}, {}},
    {"month", 1, 12, month_names, "month name (JAN-DEC)"},
    {"day-of-week", 0, 7, weekday_names, "weekday name (SUN-SAT)"},
}};

struct macro {
  std::string_view name;
  std::string_view expansion;
};

constexpr std::array<macro, 7> macros{{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

std::string shown(std::string_view text) {
  return detail::shown(text, 80);
}

// Messages are built by appending: GCC 12 reports a bogus -Wrestrict for "literal" + string.
std::string concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out += part;
  return out;
}

[[noreturn]] void fail(std::string_view text, const std::string& problem) {
  throw std::invalid_argument(concat({"streamq cron '", shown(text), "': ", problem}));
}

constexpr bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_blank(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !is_blank(text[i])) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

// Parses one field of `text` (the whole expression, for messages) into a bit set.
class field_parser {
 public:
  field_parser(std::string_view text, std::size_t position, const field_info& info)
      : text_(text), position_(position), info_(info) {}

  std::uint64_t parse(std::string_view field) const {
    std::uint64_t bits = 0;
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = field.find(',', start);
      const std::string_view item = field.substr(start, comma - start);
      if (item.empty()) error(concat({"has an empty list element in '", shown(field), "'"}));
      bits |= parse_item(item);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return bits;
  }

 private:
  [[noreturn]] void error(const std::string& detail) const {
    fail(text_, concat({"field ", std::to_string(position_), " (", info_.name, ") ", detail}));
  }

  std::uint64_t parse_item(std::string_view item) const {
    const std::size_t slash = item.find('/');
    const std::string_view range = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      const std::string_view step_text = item.substr(slash + 1);
      const int span = info_.max - info_.min + 1;
      if (step_text.empty()) error(concat({"'", shown(item), "' is missing the step after '/'"}));
      if (!all_digits(step_text)) error(concat({"step '", shown(step_text), "' is not a number"}));
      step = number(step_text);
      if (step < 1 || step > span)
        error(concat({"step ", shown(step_text), " out of range 1-", std::to_string(span)}));
    }
    int low = info_.min;
    int high = info_.max;
    if (range.empty()) error(concat({"'", shown(item), "' is missing a value before '/'"}));
    if (range != "*") {
      const std::size_t dash = range.find('-');
      if (dash == std::string_view::npos) {
        low = value(range, item);
        // "a/s" runs from a to the maximum; a lone "a" is just a.
        if (slash == std::string_view::npos) high = low;
      } else {
        low = value(range.substr(0, dash), item);
        high = value(range.substr(dash + 1), item);
        if (low > high)
          error(concat({"range '", shown(range), "' is reversed (its start is after its end)"}));
      }
    }
    std::uint64_t bits = 0;
    for (int v = low; v <= high; v += step) bits |= std::uint64_t{1} << v;
    return bits;
  }

  static bool all_digits(std::string_view s) noexcept {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  // Digits to int; anything too large for an int becomes INT_MAX, out of every range.
  static int number(std::string_view digits) noexcept {
    int n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc{} || end != digits.data() + digits.size())
      return std::numeric_limits<int>::max();
    return n;
  }

  int value(std::string_view token, std::string_view item) const {
    if (token.empty()) error(concat({"'", shown(item), "' is missing a value"}));
    if (all_digits(token)) {
      const int n = number(token);
      if (n < info_.min || n > info_.max)
        error(concat({"value ", shown(token), " out of range ", std::to_string(info_.min), "-",
                      std::to_string(info_.max)}));
      return n;
    }
    for (std::size_t i = 0; i < info_.names.size(); ++i)
      if (iequals(token, info_.names[i])) return info_.min + static_cast<int>(i);
    std::string detail = concat({"'", shown(token), "' is not a number"});
    if (!info_.names.empty()) detail += concat({" or ", info_.names_hint});
    error(detail);
  }

  std::string_view text_;
  std::size_t position_;
  const field_info& info_;
};

// The most days a month ever has (29 for February).
constexpr unsigned longest_month(unsigned month) noexcept {
  constexpr std::array<unsigned, 12> longest{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return longest[month - 1];
}

constexpr bool has(std::uint64_t bits, unsigned i) noexcept {
  return i < 64 && ((bits >> i) & 1) != 0;
}

// The smallest set bit >= from, or -1.
int next_bit(std::uint64_t bits, int from) noexcept {
  if (from >= 64) return -1;
  const std::uint64_t rest = bits >> from;
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

// The largest set bit <= from, or -1.
int previous_bit(std::uint64_t bits, int from) noexcept {
  if (from < 0) return -1;
  const std::uint64_t rest = from >= 63 ? bits : bits & ((std::uint64_t{2} << from) - 1);
  return rest == 0 ? -1 : 63 - std::countl_zero(rest);
}

// Local times this far from the epoch (about 9500 years) are not searched, so that calendar
// arithmetic stays far from the limits of std::chrono::year.
constexpr seconds searchable{300'000'000'000};

constexpr days horizon =
    std::chrono::floor<days>(std::chrono::years{cron_expression::max_search_years});

}  // namespace

cron_expression cron_expression::parse(std::string_view text) {
  std::vector<std::string_view> parts = split_fields(text);
  if (parts.empty()) fail(text, "empty expression");
  cron_expression out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.text_ += ' ';
    out.text_ += parts[i];
  }
  std::vector<std::string_view> expanded;
  if (parts[0].starts_with('@')) {
    if (parts.size() != 1)
      fail(text, concat({"a macro such as ", shown(parts[0]), " stands alone"}));
    const auto* found = std::find_if(macros.begin(), macros.end(),
                                     [&](const macro& m) { return iequals(m.name, parts[0]); });
    if (found == macros.end())
      fail(text,
           concat({"unknown macro '", shown(parts[0]),
                   "' (known: @yearly @annually @monthly @weekly @daily @midnight @hourly)"}));
    parts = split_fields(found->expansion);
  } else if (parts.size() != 5 && parts.size() != 6) {
    fail(text, concat({"expected 5 fields (minute hour day-of-month month day-of-week) or 6 "
                       "(second first), got ",
                       std::to_string(parts.size())}));
  }

  // Field i of a 5-field expression is fields[i + 1]; the second is then always 0.
  const std::size_t skipped = 6 - parts.size();
  if (skipped == 1) out.bits_[second] = 1;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const field_info& info = fields[i + skipped];
    out.bits_[i + skipped] = field_parser(text, i + 1, info).parse(parts[i]);
  }
  // Day-of-week 7 is Sunday, as 0 is.
  if (has(out.bits_[day_of_week], 7)) out.bits_[day_of_week] = (out.bits_[day_of_week] & 0x7f) | 1;
  // As Vixie cron: a field that begins with '*' does not restrict the day (see the header).
  out.day_of_month_star_ = parts[day_of_month - skipped].starts_with('*');
  out.day_of_week_star_ = parts[day_of_week - skipped].starts_with('*');

  // Only day-of-month can make the expression impossible, and only when day-of-week does not
  // widen the choice of days (a restricted day-of-week always matches some day of a month; an
  // unrestricted day-of-month includes the 1st, which every month has).
  if (out.day_of_week_star_) {
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m)
      if (has(out.bits_[month], m))
        possible = next_bit(out.bits_[day_of_month], 1) <= static_cast<int>(longest_month(m));
    if (!possible)
      fail(text, concat({"field ", std::to_string(day_of_month - skipped + 1),
                         " (day-of-month) never matches a day of the selected months, so the "
                         "expression would never fire"}));
  }
  return out;
}

bool cron_expression::day_matches(std::chrono::year_month_day day) const noexcept {
  const bool by_day_of_month = has(bits_[day_of_month], static_cast<unsigned>(day.day()));
  const bool by_day_of_week =
      has(bits_[day_of_week], std::chrono::weekday{local_days{day}}.c_encoding());
  if (day_of_month_star_ || day_of_week_star_) return by_day_of_month && by_day_of_week;
  return by_day_of_month || by_day_of_week;
}

bool cron_expression::matches(local_seconds t) const noexcept {
  if (t.time_since_epoch() > searchable || t.time_since_epoch() < -searchable) return false;
  const local_days day = std::chrono::floor<days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss time{t - day};
  return has(bits_[month], static_cast<unsigned>(ymd.month())) && day_matches(ymd) &&
         has(bits_[hour], static_cast<unsigned>(time.hours().count())) &&
         has(bits_[minute], static_cast<unsigned>(time.minutes().count())) &&
         has(bits_[second], static_cast<unsigned>(time.seconds().count()));
}

std::optional<local_seconds> cron_expression::next_local_after(local_seconds t) const noexcept {
  if (t.time_since_epoch() > searchable || t.time_since_epoch() < -searchable) return std::nullopt;
  const local_seconds start = t + seconds{1};
  local_days day = std::chrono::floor<days>(start);
  const local_days end = day + horizon;
  const std::chrono::hh_mm_ss first{start - day};
  int h = static_cast<int>(first.hours().count());
  int m = static_cast<int>(first.minutes().count());
  int s = static_cast<int>(first.seconds().count());
  for (; day <= end; day += days{1}, h = 0, m = 0, s = 0) {
    const std::chrono::year_month_day ymd{day};
    if (!has(bits_[month], static_cast<unsigned>(ymd.month()))) {
      day = local_days{ymd.year() / ymd.month() / std::chrono::last};  // then the next month
      continue;
    }
    if (!day_matches(ymd)) continue;
    // The first matching time of day at or after h:m:s, carrying into the next unit when a
    // unit has no match left.
    while (h < 24) {
      const int hh = next_bit(bits_[hour], h);
      if (hh < 0) break;
      if (hh != h) {
        h = hh;
        m = 0;
        s = 0;
      }
      const int mm = next_bit(bits_[minute], m);
      if (mm < 0) {
        ++h;
        m = 0;
        s = 0;
        continue;
      }
      if (mm != m) {
        m = mm;
        s = 0;
      }
      const int ss = next_bit(bits_[second], s);
      if (ss < 0) {
        ++m;
        s = 0;
        if (m == 60) {
          ++h;
          m = 0;
        }
        continue;
      }
      return day + std::chrono::hours{h} + std::chrono::minutes{m} + seconds{ss};
    }
  }
  return std::nullopt;
}

std::optional<local_seconds> cron_expression::last_local_at_or_before(
    local_seconds t) const noexcept {
  if (t.time_since_epoch() > searchable || t.time_since_epoch() < -searchable) return std::nullopt;
  local_days day = std::chrono::floor<days>(t);
  const local_days end = day - horizon;
  const std::chrono::hh_mm_ss first{t - day};
  int h = static_cast<int>(first.hours().count());
  int m = static_cast<int>(first.minutes().count());
  int s = static_cast<int>(first.seconds().count());
  for (; day >= end; day -= days{1}, h = 23, m = 59, s = 59) {
    const std::chrono::year_month_day ymd{day};
    if (!has(bits_[month], static_cast<unsigned>(ymd.month()))) {
      day = local_days{ymd.year() / ymd.month() / 1};  // then the previous month
      continue;
    }
    if (!day_matches(ymd)) continue;
    // The last matching time of day at or before h:m:s, borrowing from the previous unit.
    while (h >= 0) {
      const int hh = previous_bit(bits_[hour], h);
      if (hh < 0) break;
      if (hh != h) {
        h = hh;
        m = 59;
        s = 59;
      }
      const int mm = previous_bit(bits_[minute], m);
      if (mm < 0) {
        --h;
        m = 59;
        s = 59;
        continue;
      }
      if (mm != m) {
        m = mm;
        s = 59;
      }
      const int ss = previous_bit(bits_[second], s);
      if (ss < 0) {
        --m;
        s = 59;
        if (m < 0) {
          --h;
          m = 59;
        }
        continue;
      }
      return day + std::chrono::hours{h} + std::chrono::minutes{m} + seconds{ss};
    }
  }
  return std::nullopt;
}

}  // namespace streamq::streams

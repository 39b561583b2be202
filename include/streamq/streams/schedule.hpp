#pragma once
// Recurring schedules: when a recurring message is next due. Pure calculation (no Redis, no
// Asio, no clock reads), so every process that rebuilds a schedule from its spec() string
// computes the same instants.
//
// Two kinds:
// - cron_schedule: a cron expression evaluated in UTC or in a named IANA time zone;
// - interval_schedule: every N milliseconds from an anchor instant.
//
// Instants have second resolution for cron and millisecond resolution for intervals; both
// accept and return std::chrono::system_clock time points.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace streamq::streams {

// A parsed cron expression: which local (wall-clock) times match. Knows nothing of zones.
//
// Syntax: 5 fields "minute hour day-of-month month day-of-week", or 6 with a leading
// "second" field (5 fields mean second 0). Fields are separated by spaces or tabs. Each field
// is a comma-separated list of:
//   *        every value            a-b      a range (a <= b)
//   n        one value              a-b/s    every s-th value of a range
//   */s      every s-th value       a/s      every s-th value from a to the field's maximum
// Ranges: second 0-59, minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC,
// day-of-week 0-7 or SUN-SAT (0 and 7 are Sunday). Names are case-insensitive. A step s is
// 1 up to the field's span (60 for minutes).
//
// Macros: @yearly and @annually ("0 0 1 1 *"), @monthly ("0 0 1 * *"), @weekly ("0 0 * * 0"),
// @daily and @midnight ("0 0 * * *"), @hourly ("0 * * * *"); case-insensitive.
//
// Days, as in Vixie cron and cronie: when both day-of-month and day-of-week are restricted,
// a day matches when EITHER matches ("0 0 13 * FRI" is every 13th and every Friday). A field
// that begins with '*' ("*" or "*/2") counts as unrestricted, and then a day must match both.
//
// An expression that can never fire is rejected: day-of-month days that exist in none of the
// selected months ("0 0 30 2 *", 30 February) while day-of-week does not widen the choice.
class cron_expression {
 public:
  // Throws std::invalid_argument naming the field and the offending text, e.g.
  // "streamq cron '0 24 * * *': field 2 (hour) value 24 out of range 0-23".
  [[nodiscard]] static cron_expression parse(std::string_view text);

  // The expression as parsed, trimmed, with the whitespace between fields collapsed to one
  // space; parse(to_string()) gives an equal expression.
  [[nodiscard]] const std::string& to_string() const noexcept { return text_; }

  // Whether a local time matches, to the second (the fractional part is ignored).
  [[nodiscard]] bool matches(std::chrono::local_seconds t) const noexcept;
  // The first matching local time strictly after `t`, or nullopt when there is none within
  // max_search_years. For an accepted expression that happens only when `t` is more than about
  // 9,500 years from 1970, where the searches give up (and matches() is false).
  [[nodiscard]] std::optional<std::chrono::local_seconds> next_local_after(
      std::chrono::local_seconds t) const noexcept;
  // The last matching local time at or before `t`, searching max_search_years back.
  [[nodiscard]] std::optional<std::chrono::local_seconds> last_local_at_or_before(
      std::chrono::local_seconds t) const noexcept;

  // How far the searches look. More than the longest gap between two occurrences of any
  // expression parse() accepts: "0 0 29 2 */7" (29 February on a Sunday) can be 40 years apart.
  static constexpr int max_search_years = 50;

  friend bool operator==(const cron_expression&, const cron_expression&) = default;

 private:
  cron_expression() = default;
  [[nodiscard]] bool day_matches(std::chrono::year_month_day day) const noexcept;

  std::string text_;
  // Bit i set when value i matches; indexed by cron_parser.cpp's field enum (second, minute,
  // hour, day-of-month, month, day-of-week with Sunday as bit 0).
  std::array<std::uint64_t, 6> bits_{};
  bool day_of_month_star_ = false;
  bool day_of_week_star_ = false;
};

// A cron expression in a time zone. next_after() and last_at_or_before() work on the zone's
// wall clock and map matches to instants by these rules:
// - A local time skipped by a spring-forward gap (02:30 on 29 March 2026 in Europe/Berlin)
//   fires once, at the first instant after the gap (03:00 CEST), as cronie does; several
//   skipped matches share that one firing, and a match at the end of the gap as well.
// - A local time that occurs twice in a fall-back overlap (02:30 on 25 October 2026 in
//   Europe/Berlin) fires once, at its first occurrence (02:30 CEST, not 02:30 CET).
// So a job at "30 2 * * *" fires once every day of the year. The flip side: "*/15 * * * *"
// does not fire during the repeated hour of a fall-back (its times fired on the first pass);
// use an interval_schedule for a strict period.
class cron_schedule {
 public:
  using time_point = std::chrono::system_clock::time_point;

  // `zone` is "UTC" or an IANA name such as "Europe/Berlin" (case-sensitive; read from the
  // system's time zone database, /usr/share/zoneinfo). Throws std::invalid_argument naming
  // the zone when it is unknown or malformed.
  explicit cron_schedule(cron_expression expression, std::string_view zone = "UTC");

  [[nodiscard]] const cron_expression& expression() const noexcept { return expression_; }
  [[nodiscard]] const std::string& zone() const noexcept { return zone_name_; }

  // The first firing strictly after `t`; nullopt when there is none within
  // cron_expression::max_search_years or it is beyond the range of system_clock.
  [[nodiscard]] std::optional<time_point> next_after(time_point t) const;
  // The last firing at or before `t` (for catch-up after downtime); nullopt when there is
  // none within cron_expression::max_search_years.
  [[nodiscard]] std::optional<time_point> last_at_or_before(time_point t) const;

  friend bool operator==(const cron_schedule& a, const cron_schedule& b) noexcept {
    return a.expression_ == b.expression_ && a.zone_name_ == b.zone_name_;
  }

 private:
  cron_expression expression_;
  std::string zone_name_;
  // The zone's const date::time_zone* (schedule.cpp), or null for UTC. Opaque so that this
  // header does not include <date/tz.h>; zones live as long as the program.
  const void* zone_ = nullptr;
};

// Fires at anchor, anchor + every, anchor + 2 * every, ... The anchor is the first firing:
// nothing fires before it.
class interval_schedule {
 public:
  using time_point = std::chrono::system_clock::time_point;
  using anchor_type = std::chrono::sys_time<std::chrono::milliseconds>;

  // Throws std::invalid_argument when `every` is not positive ("... every must be positive,
  // got 0ms") or `anchor` is outside the range of system_clock.
  interval_schedule(std::chrono::milliseconds every, anchor_type anchor);

  [[nodiscard]] std::chrono::milliseconds every() const noexcept { return every_; }
  [[nodiscard]] anchor_type anchor() const noexcept { return anchor_; }

  // anchor + k * every for the smallest k >= 0 that is strictly after `t`; nullopt when that
  // is beyond the range of system_clock.
  [[nodiscard]] std::optional<time_point> next_after(time_point t) const noexcept;
  // anchor + k * every for the largest k >= 0 that is at or before `t`; nullopt before the
  // anchor.
  [[nodiscard]] std::optional<time_point> last_at_or_before(time_point t) const noexcept;

  friend bool operator==(const interval_schedule&, const interval_schedule&) = default;

 private:
  std::chrono::milliseconds every_;
  anchor_type anchor_;
};

// Either kind, with a canonical string form that the scheduler stores in Redis so that other
// processes rebuild the same schedule:
//   cron:<expression>@<zone>        "cron:0 2 * * *@Europe/Berlin", "cron:@daily@UTC"
//   every:<every>ms@<anchor>        "every:60000ms@1767225600000"
// <expression> is cron_expression::to_string(); the zone follows the LAST '@' (zone names
// contain none). <every> is a positive number of milliseconds and <anchor> the anchor in
// milliseconds since the Unix epoch (may be negative). parse(s.spec()) == s.
class schedule {
 public:
  using time_point = std::chrono::system_clock::time_point;

  // Implicit: a schedule is either kind, so either converts to it.
  schedule(cron_schedule cron) : kind_(std::move(cron)) {}
  schedule(interval_schedule interval) : kind_(std::move(interval)) {}

  // Throws std::invalid_argument naming the spec and what is wrong with it (including the
  // errors of cron_expression::parse, cron_schedule and interval_schedule).
  [[nodiscard]] static schedule parse(std::string_view spec);
  [[nodiscard]] std::string spec() const;

  // As cron_schedule's and interval_schedule's.
  [[nodiscard]] std::optional<time_point> next_after(time_point t) const;
  [[nodiscard]] std::optional<time_point> last_at_or_before(time_point t) const;

  // The schedule of each kind, or null when it is of the other kind.
  [[nodiscard]] const cron_schedule* cron() const noexcept {
    return std::get_if<cron_schedule>(&kind_);
  }
  [[nodiscard]] const interval_schedule* interval() const noexcept {
    return std::get_if<interval_schedule>(&kind_);
  }

  friend bool operator==(const schedule&, const schedule&) = default;

 private:
  std::variant<cron_schedule, interval_schedule> kind_;
};

}  // namespace streamq::streams

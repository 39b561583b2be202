// Schedules in time zones, interval schedules and the spec() string form (schedule.hpp).
//
// Time zones come from Howard Hinnant's date library reading the system's tzdb: GCC 12's
// libstdc++ has no std::chrono::tzdb. Only this file includes <date/tz.h>.

#include "support/shown.hpp"

#include <streamq/streams/schedule.hpp>

#include <date/tz.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <stdexcept>

namespace streamq::streams {
namespace {

using std::chrono::local_seconds;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;
using time_point = std::chrono::system_clock::time_point;

constexpr std::size_t max_zone_name_length = 128;

// IANA names use letters, digits and "/_+-" only. Checking that first keeps any other text,
// such as a path, away from the zone lookup, and '@' out of spec strings.
constexpr bool zone_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
         c == '_' || c == '+' || c == '-';
}

// Messages are built by appending: GCC 12 reports a bogus -Wrestrict for "literal" + string.
std::string concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out += part;
  return out;
}

std::string shown(std::string_view text) {
  return detail::shown(text, 100);
}

// The zone's date::time_zone, or null for "UTC".
const date::time_zone* resolve_zone(std::string_view name) {
  const std::string prefix = concat({"streamq time zone '", shown(name), "': "});
  if (name.empty()) throw std::invalid_argument(prefix + "must not be empty");
  if (name.size() > max_zone_name_length)
    throw std::invalid_argument(
        concat({prefix, "longer than ", std::to_string(max_zone_name_length), " characters"}));
  const auto bad = std::find_if_not(name.begin(), name.end(), zone_char);
  if (bad != name.end())
    throw std::invalid_argument(concat({prefix, "character '", shown({bad, 1}),
                                        "' is not allowed (allowed: A-Z a-z 0-9 / _ + -)"}));
  // UTC needs no database, so UTC schedules work where the system has none.
  if (name == "UTC") return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception& e) {
    throw std::invalid_argument(
        concat({prefix, "not found in the time zone database (", e.what(), ")"}));
  }
}

const date::time_zone* zone_of(const void* zone) noexcept {
  return static_cast<const date::time_zone*>(zone);
}

local_seconds to_local(sys_seconds t, seconds offset) noexcept {
  return local_seconds{t.time_since_epoch() + offset};
}

// The latest wall-clock time the zone has shown up to and including `t`. That is the wall
// clock at `t`, except within a fall-back overlap's second pass, where the clock showed later
// times just before the transition. Cron matches up to this local time have fired by `t`;
// later ones have not. (Only the latest transition matters: no zone falls back by more than
// the time between two transitions.)
local_seconds latest_local(const date::time_zone* zone, sys_seconds t) {
  const date::sys_info now = zone->get_info(t);
  local_seconds latest = to_local(t, now.offset);
  if (t - now.begin < std::chrono::hours{24 * 7}) {
    const sys_seconds before = now.begin - seconds{1};
    latest = std::max(latest, to_local(before, zone->get_info(before).offset));
  }
  return latest;
}

// The instant at which a match at local time `local` fires (schedule.hpp): the first instant
// whose wall clock shows `local` or later. Unique: that instant. Overlap: the first of the two.
// Gap: the end of the gap.
sys_seconds firing_instant(const date::time_zone* zone, local_seconds local) {
  const date::local_seconds wall{local.time_since_epoch()};
  const date::local_info info = zone->get_info(wall);
  if (info.result == date::local_info::nonexistent) return info.second.begin;
  return sys_seconds{local.time_since_epoch() - info.first.offset};
}

// `t` as a system_clock time point, or nullopt beyond its range (about 1678 to 2262 with
// libstdc++'s nanoseconds).
template <class Duration>
std::optional<time_point> representable(std::chrono::sys_time<Duration> t) noexcept {
  constexpr auto max = std::chrono::floor<Duration>(time_point::max());
  constexpr auto min = std::chrono::ceil<Duration>(time_point::min());
  if (t > max || t < min) return std::nullopt;
  return std::chrono::time_point_cast<time_point::duration>(t);
}

[[noreturn]] void bad_spec(std::string_view spec, const std::string& problem) {
  throw std::invalid_argument(concat({"streamq schedule '", shown(spec), "': ", problem}));
}

// Parses an optionally signed decimal integer filling all of `text`.
std::optional<std::int64_t> integer(std::string_view text, bool allow_sign) noexcept {
  if (text.empty() || (!allow_sign && text.front() == '-')) return std::nullopt;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

// --- cron_schedule ------------------------------------------------------------------------

cron_schedule::cron_schedule(cron_expression expression, std::string_view zone)
    : expression_(std::move(expression)), zone_name_(zone), zone_(resolve_zone(zone)) {}

std::optional<cron_schedule::time_point> cron_schedule::next_after(time_point t) const {
  const sys_seconds now = std::chrono::floor<seconds>(t);
  const date::time_zone* zone = zone_of(zone_);
  if (zone == nullptr) {
    const auto match = expression_.next_local_after(to_local(now, seconds{0}));
    if (!match) return std::nullopt;
    return representable(sys_seconds{match->time_since_epoch()});
  }
  // Matches after latest_local() fire after `now`; the loop only guards that reasoning.
  local_seconds from = latest_local(zone, now);
  for (;;) {
    const auto match = expression_.next_local_after(from);
    if (!match) return std::nullopt;
    const sys_seconds fires = firing_instant(zone, *match);
    if (fires > now) return representable(fires);
    from = *match;
  }
}

std::optional<cron_schedule::time_point> cron_schedule::last_at_or_before(time_point t) const {
  const sys_seconds now = std::chrono::floor<seconds>(t);
  const date::time_zone* zone = zone_of(zone_);
  if (zone == nullptr) {
    const auto match = expression_.last_local_at_or_before(to_local(now, seconds{0}));
    if (!match) return std::nullopt;
    return representable(sys_seconds{match->time_since_epoch()});
  }
  // Matches up to latest_local() have fired by `now`; the loop only guards that reasoning.
  local_seconds upto = latest_local(zone, now);
  for (;;) {
    const auto match = expression_.last_local_at_or_before(upto);
    if (!match) return std::nullopt;
    const sys_seconds fired = firing_instant(zone, *match);
    if (fired <= now) return representable(fired);
    upto = *match - seconds{1};
  }
}

// --- interval_schedule --------------------------------------------------------------------

interval_schedule::interval_schedule(milliseconds every, anchor_type anchor)
    : every_(every), anchor_(anchor) {
  if (every <= milliseconds{0})
    throw std::invalid_argument(concat({"streamq interval schedule: every must be positive, got ",
                                        std::to_string(every.count()), "ms"}));
  if (!representable(anchor))
    throw std::invalid_argument(concat({"streamq interval schedule: anchor ",
                                        std::to_string(anchor.time_since_epoch().count()),
                                        " (Unix ms) is outside the range of system_clock"}));
}

std::optional<interval_schedule::time_point> interval_schedule::next_after(
    time_point t) const noexcept {
  if (t < anchor_) return representable(anchor_);
  // Both are within system_clock's range (about +-2^53 ms), so the arithmetic cannot overflow
  // until `every` is added.
  const auto elapsed = std::chrono::floor<milliseconds>(t) - anchor_;
  const anchor_type last = anchor_ + elapsed / every_ * every_;
  if (every_.count() > std::numeric_limits<std::int64_t>::max() - last.time_since_epoch().count())
    return std::nullopt;
  return representable(last + every_);
}

std::optional<interval_schedule::time_point> interval_schedule::last_at_or_before(
    time_point t) const noexcept {
  if (t < anchor_) return std::nullopt;
  const auto elapsed = std::chrono::floor<milliseconds>(t) - anchor_;
  return representable(anchor_ + elapsed / every_ * every_);
}

// --- schedule -----------------------------------------------------------------------------

schedule schedule::parse(std::string_view spec) {
  constexpr std::string_view cron_prefix = "cron:";
  constexpr std::string_view every_prefix = "every:";
  if (spec.starts_with(cron_prefix)) {
    const std::string_view rest = spec.substr(cron_prefix.size());
    const std::size_t at = rest.rfind('@');
    if (at == std::string_view::npos || at == 0)
      bad_spec(spec, "expected 'cron:<expression>@<zone>', e.g. 'cron:0 2 * * *@Europe/Berlin'");
    return cron_schedule(cron_expression::parse(rest.substr(0, at)), rest.substr(at + 1));
  }
  if (spec.starts_with(every_prefix)) {
    const std::string_view rest = spec.substr(every_prefix.size());
    const std::size_t at = rest.find('@');
    const std::string_view every = rest.substr(0, at);
    const auto every_ms =
        every.ends_with("ms") ? integer(every.substr(0, every.size() - 2), false) : std::nullopt;
    const auto anchor_ms =
        at == std::string_view::npos ? std::nullopt : integer(rest.substr(at + 1), true);
    if (!every_ms || !anchor_ms)
      bad_spec(spec,
               "expected 'every:<milliseconds>ms@<anchor, Unix milliseconds>', e.g. "
               "'every:60000ms@1767225600000'");
    return interval_schedule(milliseconds{*every_ms},
                             interval_schedule::anchor_type{milliseconds{*anchor_ms}});
  }
  bad_spec(spec, "unknown kind (expected 'cron:...' or 'every:...')");
}

std::string schedule::spec() const {
  if (const auto* c = cron()) return concat({"cron:", c->expression().to_string(), "@", c->zone()});
  const auto& i = std::get<interval_schedule>(kind_);
  return concat({"every:", std::to_string(i.every().count()), "ms@",
                 std::to_string(i.anchor().time_since_epoch().count())});
}

std::optional<schedule::time_point> schedule::next_after(time_point t) const {
  return std::visit([t](const auto& kind) { return kind.next_after(t); }, kind_);
}

std::optional<schedule::time_point> schedule::last_at_or_before(time_point t) const {
  return std::visit([t](const auto& kind) { return kind.last_at_or_before(t); }, kind_);
}

}  // namespace streamq::streams

// Tests of lib/streams/schedule/schedule.cpp and lib/streams/schedule/cron_parser.cpp: cron parsing, the search
// for firings in UTC and in zones with daylight saving time, interval schedules and spec().

#include <streamq/streams/schedule.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
using std::chrono::system_clock;
using streamq::streams::cron_expression;
using streamq::streams::cron_schedule;
using streamq::streams::interval_schedule;
using streamq::streams::schedule;

namespace {

using time_point = system_clock::time_point;

time_point utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return std::chrono::sys_days{std::chrono::year{y} / mo / d} + std::chrono::hours{h} +
         std::chrono::minutes{mi} + std::chrono::seconds{s};
}

// "2026-03-29T01:00:00Z", with a fraction when there is one; "none" for nullopt.
std::string iso(std::optional<time_point> t) {
  if (!t) return "none";
  const auto day = std::chrono::floor<std::chrono::days>(*t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss time{*t - day};
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  std::string out = text;
  if (time.subseconds().count() != 0) out += '.' + std::to_string(time.subseconds().count());
  return out + "Z";
}

cron_schedule cron(std::string_view expression, std::string_view zone = "UTC") {
  return cron_schedule(cron_expression::parse(expression), zone);
}

// The next `count` firings after `from`, space-separated.
std::string firings(std::string_view expression, time_point from, int count,
                    std::string_view zone = "UTC") {
  const cron_schedule s = cron(expression, zone);
  std::string out;
  std::optional<time_point> t = from;
  for (int i = 0; i < count && t; ++i) {
    t = s.next_after(*t);
    if (!out.empty()) out += ' ';
    out += iso(t);
  }
  return out;
}

// The message cron_expression::parse throws, or "" when it accepts the text.
std::string rejection(std::string_view text) {
  try {
    (void)cron_expression::parse(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// next_after and last_at_or_before describe the same firings: each result of next_after is
// a firing, and none lies between `t` and it. Checked from `from` in `step`s up to `to`.
void check_consistent(const cron_schedule& s, time_point from, time_point to,
                      system_clock::duration step) {
  for (time_point t = from; t < to; t += step) {
    const auto next = s.next_after(t);
    REQUIRE(next);
    CAPTURE(iso(t));
    CAPTURE(iso(next));
    CHECK(*next > t);
    CHECK(iso(s.last_at_or_before(*next)) == iso(next));
    const auto before = s.last_at_or_before(*next - 1s);
    CHECK((!before || *before <= t));
  }
}

}  // namespace

TEST_SUITE("schedule") {
  TEST_CASE("cron: values, ranges, lists and steps") {
    const auto from = utc(2026, 1, 1);
    CHECK(firings("5 * * * *", from, 3) ==
          "2026-01-01T00:05:00Z 2026-01-01T01:05:00Z 2026-01-01T02:05:00Z");
    CHECK(firings("* * * * *", from, 2) == "2026-01-01T00:01:00Z 2026-01-01T00:02:00Z");
    CHECK(firings("10-12 0 * * *", from, 4) ==
          "2026-01-01T00:10:00Z 2026-01-01T00:11:00Z 2026-01-01T00:12:00Z 2026-01-02T00:10:00Z");
    CHECK(firings("1,30,59 0 * * *", from, 4) ==
          "2026-01-01T00:01:00Z 2026-01-01T00:30:00Z 2026-01-01T00:59:00Z 2026-01-02T00:01:00Z");
    CHECK(firings("*/20 0 * * *", from, 3) ==
          "2026-01-01T00:20:00Z 2026-01-01T00:40:00Z 2026-01-02T00:00:00Z");
    CHECK(firings("10-30/10 0 * * *", from, 4) ==
          "2026-01-01T00:10:00Z 2026-01-01T00:20:00Z 2026-01-01T00:30:00Z 2026-01-02T00:10:00Z");
    CHECK(firings("45/5 0 * * *", from, 4) ==
          "2026-01-01T00:45:00Z 2026-01-01T00:50:00Z 2026-01-01T00:55:00Z 2026-01-02T00:45:00Z");
    CHECK(firings("0 1-3,22/2 * * *", from, 5) ==
          "2026-01-01T01:00:00Z 2026-01-01T02:00:00Z 2026-01-01T03:00:00Z 2026-01-01T22:00:00Z "
          "2026-01-02T01:00:00Z");
  }

  TEST_CASE("cron: month and weekday names, case-insensitive, and Sunday as 0 or 7") {
    const auto from = utc(2026, 1, 1);  // a Thursday
    CHECK(firings("0 0 1 MAR,sep *", from, 3) ==
          "2026-03-01T00:00:00Z 2026-09-01T00:00:00Z 2027-03-01T00:00:00Z");
    CHECK(firings("0 0 1 Nov-DEC *", from, 3) ==
          "2026-11-01T00:00:00Z 2026-12-01T00:00:00Z 2027-11-01T00:00:00Z");
    CHECK(firings("0 9 * * MON-fri", from, 3) ==
          "2026-01-01T09:00:00Z 2026-01-02T09:00:00Z 2026-01-05T09:00:00Z");
    const std::string sundays = "2026-01-04T00:00:00Z 2026-01-11T00:00:00Z";
    CHECK(firings("0 0 * * 0", from, 2) == sundays);
    CHECK(firings("0 0 * * 7", from, 2) == sundays);
    CHECK(firings("0 0 * * sun", from, 2) == sundays);
    CHECK(firings("0 0 * * 6-7", from, 3) ==
          "2026-01-03T00:00:00Z 2026-01-04T00:00:00Z 2026-01-10T00:00:00Z");
    CHECK(firings("0 0 * * 0-7", from, 2) == "2026-01-02T00:00:00Z 2026-01-03T00:00:00Z");
    CHECK(firings("0 0 * JAN/6 *", utc(2026, 1, 31), 2) ==
          "2026-07-01T00:00:00Z 2026-07-02T00:00:00Z");
  }

  TEST_CASE("cron: day-of-month OR day-of-week when both are restricted (Vixie)") {
    const auto from = utc(2026, 1, 1);  // Thursday; the 13th is a Tuesday
    CHECK(firings("0 0 13 * FRI", from, 4) ==
          "2026-01-02T00:00:00Z 2026-01-09T00:00:00Z 2026-01-13T00:00:00Z 2026-01-16T00:00:00Z");
    CHECK(firings("0 0 1,15 * 1", from, 3) ==
          "2026-01-05T00:00:00Z 2026-01-12T00:00:00Z 2026-01-15T00:00:00Z");
    // A field beginning with '*' does not restrict: then a day must match both.
    CHECK(firings("0 0 */2 * FRI", from, 2) == "2026-01-09T00:00:00Z 2026-01-23T00:00:00Z");
    CHECK(firings("0 0 13 * *", from, 2) == "2026-01-13T00:00:00Z 2026-02-13T00:00:00Z");
    CHECK(firings("0 0 * * FRI", from, 2) == "2026-01-02T00:00:00Z 2026-01-09T00:00:00Z");
    // 30 February never exists, but Mondays in February do.
    CHECK(firings("0 0 30 2 MON", from, 2) == "2026-02-02T00:00:00Z 2026-02-09T00:00:00Z");
  }

  TEST_CASE("cron: month and year boundaries, 31st of the month, leap years") {
    CHECK(firings("59 23 31 12 *", utc(2026, 6, 1), 2) ==
          "2026-12-31T23:59:00Z 2027-12-31T23:59:00Z");
    CHECK(firings("0 0 * * *", utc(2026, 12, 31, 0, 0, 1), 2) ==
          "2027-01-01T00:00:00Z 2027-01-02T00:00:00Z");
    CHECK(firings("0 12 31 * *", utc(2026, 1, 31, 12), 3) ==
          "2026-03-31T12:00:00Z 2026-05-31T12:00:00Z 2026-07-31T12:00:00Z");
    CHECK(firings("0 0 29 2 *", utc(2026, 1, 1), 2) == "2028-02-29T00:00:00Z 2032-02-29T00:00:00Z");
    // 2100 is not a leap year.
    CHECK(firings("0 0 29 2 *", utc(2096, 2, 29), 1) == "2104-02-29T00:00:00Z");
    // 29 February on a Sunday: 40 years apart after 2088, within the search limit.
    CHECK(firings("0 0 29 2 */7", utc(2088, 3, 1), 1) == "2128-02-29T00:00:00Z");
    CHECK(iso(cron("0 0 29 2 */7").last_at_or_before(utc(2128, 2, 28))) == "2088-02-29T00:00:00Z");
  }

  TEST_CASE("cron: an optional leading seconds field") {
    const auto from = utc(2026, 1, 1, 10, 0, 7);
    CHECK(firings("*/15 * * * * *", from, 4) ==
          "2026-01-01T10:00:15Z 2026-01-01T10:00:30Z 2026-01-01T10:00:45Z 2026-01-01T10:01:00Z");
    CHECK(firings("30 0 12 * * *", from, 2) == "2026-01-01T12:00:30Z 2026-01-02T12:00:30Z");
    CHECK(firings("58-59 59 23 31 12 *", from, 3) ==
          "2026-12-31T23:59:58Z 2026-12-31T23:59:59Z 2027-12-31T23:59:58Z");
    // Five fields fire at second 0.
    CHECK(firings("* * * * *", from, 1) == "2026-01-01T10:01:00Z");
  }

  TEST_CASE("cron: macros") {
    const auto from = utc(2026, 5, 17, 13, 30);  // a Sunday
    CHECK(firings("@yearly", from, 1) == "2027-01-01T00:00:00Z");
    CHECK(firings("@annually", from, 1) == "2027-01-01T00:00:00Z");
    CHECK(firings("@monthly", from, 1) == "2026-06-01T00:00:00Z");
    CHECK(firings("@weekly", from, 1) == "2026-05-24T00:00:00Z");
    CHECK(firings("@daily", from, 1) == "2026-05-18T00:00:00Z");
    CHECK(firings("@midnight", from, 1) == "2026-05-18T00:00:00Z");
    CHECK(firings("@hourly", from, 2) == "2026-05-17T14:00:00Z 2026-05-17T15:00:00Z");
    CHECK(firings("@DAILY", from, 1) == "2026-05-18T00:00:00Z");
    CHECK(cron_expression::parse(" @Hourly ").to_string() == "@Hourly");
  }

  TEST_CASE("cron: to_string() keeps the text, with whitespace collapsed") {
    CHECK(cron_expression::parse("0 2 * * *").to_string() == "0 2 * * *");
    CHECK(cron_expression::parse("  0\t 2 *  * mon-FRI  ").to_string() == "0 2 * * mon-FRI");
    CHECK(cron_expression::parse("0 2 * * *") == cron_expression::parse(" 0  2 * * * "));
    CHECK_FALSE(cron_expression::parse("0 2 * * *") == cron_expression::parse("0 3 * * *"));
  }

  TEST_CASE("cron: matches() and the local-time searches") {
    const auto e = cron_expression::parse("30 2 * * *");
    const std::chrono::local_seconds day{std::chrono::local_days{std::chrono::year{2026} / 3 / 29}};
    CHECK(e.matches(day + 2h + 30min));
    CHECK_FALSE(e.matches(day + 2h + 30min + 1s));
    CHECK(e.next_local_after(day) == day + 2h + 30min);
    CHECK(e.next_local_after(day + 2h + 30min) == day + 24h + 2h + 30min);
    CHECK(e.last_local_at_or_before(day + 2h + 30min) == day + 2h + 30min);
    CHECK(e.last_local_at_or_before(day + 2h + 29min) == day - 24h + 2h + 30min);
  }

  TEST_CASE("cron: the searches agree with matches(), minute by minute") {
    using std::chrono::local_days;
    using std::chrono::local_seconds;
    const local_seconds start{local_days{std::chrono::year{2027} / 12 / 20}};
    const local_seconds end = start + std::chrono::days{75};  // over a year end and 29 February
    for (std::string_view text :
         {"*/7 * * * *", "0 0 29 2 *", "15 3 1,15 * 5", "0 */5 * JAN,FEB sat,sun", "59 23 31 * *",
          "30 12 */3 * *", "0 0 28-31 * *", "@weekly", "5-10/2 1-2 * * *"}) {
      CAPTURE(text);
      const auto e = cron_expression::parse(text);
      std::string scanned;
      std::string forward;
      std::string backward;
      int count = 0;
      for (local_seconds t = start; t <= end; t += std::chrono::minutes{1})
        if (e.matches(t)) scanned += std::to_string(t.time_since_epoch().count()) + " ";
      for (auto t = e.next_local_after(start - 1s); t && *t <= end; t = e.next_local_after(*t)) {
        forward += std::to_string(t->time_since_epoch().count()) + " ";
        ++count;
      }
      std::vector<std::string> reversed;
      for (auto t = e.last_local_at_or_before(end); t && *t >= start;
           t = e.last_local_at_or_before(*t - 1s))
        reversed.push_back(std::to_string(t->time_since_epoch().count()) + " ");
      for (auto it = reversed.rbegin(); it != reversed.rend(); ++it) backward += *it;
      CHECK(count > 0);
      CHECK(forward == scanned);
      CHECK(backward == scanned);
    }
  }

  TEST_CASE("cron: every syntax error names the field and the text") {
    struct bad {
      std::string_view text;
      std::string_view message;
    };
    const bad cases[] = {
        {"", "streamq cron '': empty expression"},
        {"   ", "streamq cron '   ': empty expression"},
        {"* * * *",
         "streamq cron '* * * *': expected 5 fields (minute hour day-of-month month day-of-week) "
         "or 6 (second first), got 4"},
        {"* * * * * * *",
         "streamq cron '* * * * * * *': expected 5 fields (minute hour day-of-month month "
         "day-of-week) or 6 (second first), got 7"},
        {"60 * * * *", "streamq cron '60 * * * *': field 1 (minute) value 60 out of range 0-59"},
        {"0 24 * * *", "streamq cron '0 24 * * *': field 2 (hour) value 24 out of range 0-23"},
        {"0 0 0 * *", "streamq cron '0 0 0 * *': field 3 (day-of-month) value 0 out of range 1-31"},
        {"0 0 32 * *",
         "streamq cron '0 0 32 * *': field 3 (day-of-month) value 32 out of range 1-31"},
        {"0 0 * 13 *", "streamq cron '0 0 * 13 *': field 4 (month) value 13 out of range 1-12"},
        {"0 0 * 0 *", "streamq cron '0 0 * 0 *': field 4 (month) value 0 out of range 1-12"},
        {"0 0 * * 8", "streamq cron '0 0 * * 8': field 5 (day-of-week) value 8 out of range 0-7"},
        {"60 0 0 * * *",
         "streamq cron '60 0 0 * * *': field 1 (second) value 60 out of range 0-59"},
        {"0 0 24 * * *", "streamq cron '0 0 24 * * *': field 3 (hour) value 24 out of range 0-23"},
        {"99999999999 * * * *",
         "streamq cron '99999999999 * * * *': field 1 (minute) value 99999999999 out of range "
         "0-59"},
        {"x * * * *", "streamq cron 'x * * * *': field 1 (minute) 'x' is not a number"},
        {"0 0 * FOO *",
         "streamq cron '0 0 * FOO *': field 4 (month) 'FOO' is not a number or month name "
         "(JAN-DEC)"},
        {"0 0 * * MONDAY",
         "streamq cron '0 0 * * MONDAY': field 5 (day-of-week) 'MONDAY' is not a number or "
         "weekday name (SUN-SAT)"},
        {"0 0 * * SAT-SUN",
         "streamq cron '0 0 * * SAT-SUN': field 5 (day-of-week) range 'SAT-SUN' is reversed (its "
         "start is after its end)"},
        {"5-3 * * * *",
         "streamq cron '5-3 * * * *': field 1 (minute) range '5-3' is reversed (its start is "
         "after its end)"},
        {"-5 * * * *", "streamq cron '-5 * * * *': field 1 (minute) '-5' is missing a value"},
        {"5- * * * *", "streamq cron '5- * * * *': field 1 (minute) '5-' is missing a value"},
        {"1-2-3 * * * *", "streamq cron '1-2-3 * * * *': field 1 (minute) '2-3' is not a number"},
        {"*/0 * * * *", "streamq cron '*/0 * * * *': field 1 (minute) step 0 out of range 1-60"},
        {"0 */25 * * *", "streamq cron '0 */25 * * *': field 2 (hour) step 25 out of range 1-24"},
        {"*/ * * * *",
         "streamq cron '*/ * * * *': field 1 (minute) '*/' is missing the step after '/'"},
        {"*/x * * * *", "streamq cron '*/x * * * *': field 1 (minute) step 'x' is not a number"},
        {"*/2/3 * * * *",
         "streamq cron '*/2/3 * * * *': field 1 (minute) step '2/3' is not a number"},
        {"/5 * * * *",
         "streamq cron '/5 * * * *': field 1 (minute) '/5' is missing a value before '/'"},
        {"1,,2 * * * *",
         "streamq cron '1,,2 * * * *': field 1 (minute) has an empty list element in '1,,2'"},
        {"1, * * * *",
         "streamq cron '1, * * * *': field 1 (minute) has an empty list element in '1,'"},
        {"*-5 * * * *", "streamq cron '*-5 * * * *': field 1 (minute) '*' is not a number"},
        {"0 0 L * *", "streamq cron '0 0 L * *': field 3 (day-of-month) 'L' is not a number"},
        {"@reboot",
         "streamq cron '@reboot': unknown macro '@reboot' (known: @yearly @annually @monthly "
         "@weekly @daily @midnight @hourly)"},
        {"@daily 5", "streamq cron '@daily 5': a macro such as @daily stands alone"},
        {"0 0 30 2 *",
         "streamq cron '0 0 30 2 *': field 3 (day-of-month) never matches a day of the selected "
         "months, so the expression would never fire"},
        {"0 0 31 4,6,9,11 *",
         "streamq cron '0 0 31 4,6,9,11 *': field 3 (day-of-month) never matches a day of the "
         "selected months, so the expression would never fire"},
        {"0 0 0 30-31 FEB */2",
         "streamq cron '0 0 0 30-31 FEB */2': field 4 (day-of-month) never matches a day of the "
         "selected months, so the expression would never fire"},
        {"0 0 * * \x01",
         "streamq cron '0 0 * * \\x01': field 5 (day-of-week) '\\x01' is not a number or "
         "weekday name (SUN-SAT)"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      CHECK(rejection(c.text) == c.message);
    }
    // Possible after all: 31 March, and 29 February in leap years.
    CHECK(rejection("0 0 31 2,3 *").empty());
    CHECK(rejection("0 0 29 2 *").empty());
  }

  TEST_CASE("time zones: unknown and malformed names are rejected by name") {
    const auto e = cron_expression::parse("0 2 * * *");
    CHECK(message_of([&] { cron_schedule(e, "Europe/Nowhere"); })
              .starts_with("streamq time zone 'Europe/Nowhere': not found in the time zone "
                           "database"));
    CHECK(message_of([&] { cron_schedule(e, ""); }) == "streamq time zone '': must not be empty");
    CHECK(message_of([&] { cron_schedule(e, "../../etc/passwd"); }) ==
          "streamq time zone '../../etc/passwd': character '.' is not allowed (allowed: A-Z a-z "
          "0-9 / _ + -)");
    CHECK(message_of([&] { cron_schedule(e, "utc"); }).starts_with("streamq time zone 'utc'"));
    CHECK(cron_schedule(e, "Etc/UTC").next_after(utc(2026, 1, 1)) == utc(2026, 1, 1, 2));
    CHECK(cron_schedule(e).zone() == "UTC");
  }

  TEST_CASE("time zones: Europe/Berlin across both transitions of 2026") {
    const std::string_view berlin = "Europe/Berlin";
    // Winter (CET, UTC+1) and summer (CEST, UTC+2).
    CHECK(firings("0 9 * * *", utc(2026, 1, 10), 1, berlin) == "2026-01-10T08:00:00Z");
    CHECK(firings("0 9 * * *", utc(2026, 7, 10), 1, berlin) == "2026-07-10T07:00:00Z");

    // 29 March: 02:00 CET becomes 03:00 CEST (01:00 UTC). 02:30 does not exist and fires at
    // 03:00 CEST, once.
    CHECK(firings("30 2 * * *", utc(2026, 3, 27, 12), 4, berlin) ==
          "2026-03-28T01:30:00Z 2026-03-29T01:00:00Z 2026-03-30T00:30:00Z 2026-03-31T00:30:00Z");
    // Several skipped matches and one at 03:00 share that firing.
    CHECK(firings("0,30 2,3 * * *", utc(2026, 3, 28, 12), 3, berlin) ==
          "2026-03-29T01:00:00Z 2026-03-29T01:30:00Z 2026-03-30T00:00:00Z");
    CHECK(firings("*/20 * * * *", utc(2026, 3, 29, 0, 30), 4, berlin) ==
          "2026-03-29T00:40:00Z 2026-03-29T01:00:00Z 2026-03-29T01:20:00Z 2026-03-29T01:40:00Z");
    CHECK(iso(cron("30 2 * * *", berlin).last_at_or_before(utc(2026, 3, 29, 1))) ==
          "2026-03-29T01:00:00Z");
    CHECK(iso(cron("30 2 * * *", berlin).last_at_or_before(utc(2026, 3, 29, 0, 59, 59))) ==
          "2026-03-28T01:30:00Z");

    // 25 October: 03:00 CEST becomes 02:00 CET (01:00 UTC), so 02:00-02:59 happen twice. 02:30
    // fires at its first occurrence (00:30 UTC) only.
    CHECK(firings("30 2 * * *", utc(2026, 10, 24, 12), 3, berlin) ==
          "2026-10-25T00:30:00Z 2026-10-26T01:30:00Z 2026-10-27T01:30:00Z");
    // Asked during the second pass (02:10 CET), the next 02:30 is tomorrow's.
    CHECK(firings("30 2 * * *", utc(2026, 10, 25, 1, 10), 1, berlin) == "2026-10-26T01:30:00Z");
    // Repeated times do not fire again: "*/20" pauses for the repeated hour.
    CHECK(firings("*/20 * * * *", utc(2026, 10, 25, 0, 30), 4, berlin) ==
          "2026-10-25T00:40:00Z 2026-10-25T02:00:00Z 2026-10-25T02:20:00Z 2026-10-25T02:40:00Z");
    CHECK(firings("*/20 * * * *", utc(2026, 10, 25, 1, 30), 1, berlin) == "2026-10-25T02:00:00Z");
    CHECK(iso(cron("*/20 * * * *", berlin).last_at_or_before(utc(2026, 10, 25, 1, 30))) ==
          "2026-10-25T00:40:00Z");
    CHECK(iso(cron("30 2 * * *", berlin).last_at_or_before(utc(2026, 10, 25, 1, 45))) ==
          "2026-10-25T00:30:00Z");
    // Times after the overlap are unique again.
    CHECK(firings("0 3 * * *", utc(2026, 10, 24, 12), 2, berlin) ==
          "2026-10-25T02:00:00Z 2026-10-26T02:00:00Z");

    for (std::string_view expression : {"30 2 * * *", "*/20 * * * *", "0,30 1-3 * * *",
                                        "15 */2 * * * *", "@hourly", "59 59 2 * * *"}) {
      CAPTURE(expression);
      const auto s = cron(expression, berlin);
      check_consistent(s, utc(2026, 3, 28, 22), utc(2026, 3, 29, 4), 7min + 3s);
      check_consistent(s, utc(2026, 10, 24, 22), utc(2026, 10, 25, 4), 7min + 3s);
    }
  }

  TEST_CASE("time zones: America/New_York across both transitions of 2026") {
    const std::string_view new_york = "America/New_York";
    // 8 March: 02:00 EST becomes 03:00 EDT (07:00 UTC).
    CHECK(firings("30 2 * * *", utc(2026, 3, 6, 12), 3, new_york) ==
          "2026-03-07T07:30:00Z 2026-03-08T07:00:00Z 2026-03-09T06:30:00Z");
    CHECK(firings("0 9 * * MON-FRI", utc(2026, 3, 6, 12), 2, new_york) ==
          "2026-03-06T14:00:00Z 2026-03-09T13:00:00Z");
    // 1 November: 02:00 EDT becomes 01:00 EST (06:00 UTC); 01:30 fires at 01:30 EDT only.
    CHECK(firings("30 1 * * *", utc(2026, 10, 31, 12), 3, new_york) ==
          "2026-11-01T05:30:00Z 2026-11-02T06:30:00Z 2026-11-03T06:30:00Z");
    CHECK(iso(cron("30 1 * * *", new_york).last_at_or_before(utc(2026, 11, 1, 6, 45))) ==
          "2026-11-01T05:30:00Z");
    const auto s = cron("*/10 * * * *", new_york);
    check_consistent(s, utc(2026, 3, 8, 5), utc(2026, 3, 8, 9), 3min + 1s);
    check_consistent(s, utc(2026, 11, 1, 4), utc(2026, 11, 1, 8), 3min + 1s);
  }

  TEST_CASE("cron: next_after is strictly after, last_at_or_before includes t") {
    const auto s = cron("0 2 * * *");
    CHECK(iso(s.next_after(utc(2026, 1, 1, 2))) == "2026-01-02T02:00:00Z");
    CHECK(iso(s.next_after(utc(2026, 1, 1, 1, 59, 59))) == "2026-01-01T02:00:00Z");
    CHECK(iso(s.next_after(utc(2026, 1, 1, 2) + 500ms)) == "2026-01-02T02:00:00Z");
    CHECK(iso(s.next_after(utc(2026, 1, 1, 2) - 1ns)) == "2026-01-01T02:00:00Z");
    CHECK(iso(s.last_at_or_before(utc(2026, 1, 1, 2))) == "2026-01-01T02:00:00Z");
    CHECK(iso(s.last_at_or_before(utc(2026, 1, 1, 2) + 500ms)) == "2026-01-01T02:00:00Z");
    CHECK(iso(s.last_at_or_before(utc(2026, 1, 1, 2) - 1ns)) == "2025-12-31T02:00:00Z");
    // Beyond system_clock's range (about 2262 with nanoseconds).
    CHECK_FALSE(cron("@yearly").next_after(utc(2262, 1, 1)));
    CHECK(cron("@yearly").last_at_or_before(utc(2262, 1, 1)) == utc(2262, 1, 1));
  }

  TEST_CASE("interval schedules: anchor + k * every") {
    const interval_schedule::anchor_type anchor{1767225600000ms};  // 2026-01-01T00:00:00Z
    const interval_schedule s{60s, anchor};
    CHECK(s.every() == 60000ms);
    CHECK(s.anchor() == anchor);
    CHECK(iso(s.next_after(anchor - 1h)) == "2026-01-01T00:00:00Z");
    CHECK(iso(s.next_after(anchor - 1ns)) == "2026-01-01T00:00:00Z");
    CHECK(iso(s.next_after(anchor)) == "2026-01-01T00:01:00Z");
    CHECK(iso(s.next_after(anchor + 59999999999ns)) == "2026-01-01T00:01:00Z");
    CHECK(iso(s.next_after(anchor + 60s)) == "2026-01-01T00:02:00Z");
    CHECK(iso(s.next_after(anchor + 24h + 30s)) == "2026-01-02T00:01:00Z");
    CHECK(iso(s.last_at_or_before(anchor - 1ns)) == "none");
    CHECK(iso(s.last_at_or_before(anchor)) == "2026-01-01T00:00:00Z");
    CHECK(iso(s.last_at_or_before(anchor + 119s)) == "2026-01-01T00:01:00Z");
    CHECK(iso(s.last_at_or_before(anchor + 120s)) == "2026-01-01T00:02:00Z");

    const interval_schedule odd{1500ms, anchor + 250ms};
    CHECK(iso(odd.next_after(anchor + 1s)) == "2026-01-01T00:00:01.750000000Z");
    CHECK(iso(odd.last_at_or_before(anchor + 1s)) == "2026-01-01T00:00:00.250000000Z");

    // Near the end of system_clock's range.
    const interval_schedule long_one{
        std::chrono::milliseconds{std::numeric_limits<std::int64_t>::max()}, anchor};
    CHECK_FALSE(long_one.next_after(anchor + 1s));
    CHECK(long_one.last_at_or_before(anchor + 1s) == anchor);
  }

  TEST_CASE("interval schedules: every must be positive, the anchor representable") {
    const interval_schedule::anchor_type anchor{0ms};
    CHECK(message_of([&] { interval_schedule(0ms, anchor); }) ==
          "streamq interval schedule: every must be positive, got 0ms");
    CHECK(message_of([&] { interval_schedule(-5ms, anchor); }) ==
          "streamq interval schedule: every must be positive, got -5ms");
    CHECK(message_of([&] {
            interval_schedule(1ms, interval_schedule::anchor_type{std::chrono::milliseconds{
                                       std::numeric_limits<std::int64_t>::max()}});
          }) ==
          "streamq interval schedule: anchor 9223372036854775807 (Unix ms) is outside "
          "the range of system_clock");
  }

  TEST_CASE("schedule: spec() round-trips") {
    const schedule cases[] = {
        cron("0 2 * * *", "Europe/Berlin"),
        cron("@daily"),
        cron("*/15 0 9-17 * * MON-FRI", "America/New_York"),
        cron("0 0 13 * FRI"),
        interval_schedule{60s, interval_schedule::anchor_type{1767225600000ms}},
        interval_schedule{1ms, interval_schedule::anchor_type{-86400000ms}},
    };
    for (const auto& s : cases) {
      CAPTURE(s.spec());
      const schedule again = schedule::parse(s.spec());
      CHECK(again == s);
      CHECK(again.spec() == s.spec());
      CHECK(iso(again.next_after(utc(2026, 3, 29))) == iso(s.next_after(utc(2026, 3, 29))));
    }
    CHECK(schedule(cron("0 2 * * *", "Europe/Berlin")).spec() == "cron:0 2 * * *@Europe/Berlin");
    CHECK(schedule(cron("@daily")).spec() == "cron:@daily@UTC");
    CHECK(schedule(cron(" 0  2 * * *")).spec() == "cron:0 2 * * *@UTC");
    CHECK(
        schedule(interval_schedule{60s, interval_schedule::anchor_type{1767225600000ms}}).spec() ==
        "every:60000ms@1767225600000");

    const auto parsed = schedule::parse("cron:30 2 * * *@Europe/Berlin");
    REQUIRE(parsed.cron() != nullptr);
    CHECK(parsed.interval() == nullptr);
    CHECK(parsed.cron()->zone() == "Europe/Berlin");
    CHECK(iso(parsed.next_after(utc(2026, 3, 28, 12))) == "2026-03-29T01:00:00Z");
    CHECK(iso(parsed.last_at_or_before(utc(2026, 3, 29, 12))) == "2026-03-29T01:00:00Z");
    const auto every = schedule::parse("every:1000ms@0");
    REQUIRE(every.interval() != nullptr);
    CHECK(iso(every.next_after(utc(2026, 1, 1))) == "2026-01-01T00:00:01Z");
    CHECK(iso(every.last_at_or_before(utc(2026, 1, 1) + 1500ms)) == "2026-01-01T00:00:01Z");
    CHECK_FALSE(schedule(cron("@daily")) == schedule(cron("@daily", "Europe/Berlin")));
  }

  TEST_CASE("schedule: malformed specs are rejected with what is wrong") {
    const std::string cron_form =
        "expected 'cron:<expression>@<zone>', e.g. 'cron:0 2 * * *@Europe/Berlin'";
    const std::string every_form =
        "expected 'every:<milliseconds>ms@<anchor, Unix milliseconds>', e.g. "
        "'every:60000ms@1767225600000'";
    const auto rejected = [](std::string_view spec) {
      return message_of([&] { (void)schedule::parse(spec); });
    };
    CHECK(rejected("") == "streamq schedule '': unknown kind (expected 'cron:...' or 'every:...')");
    CHECK(rejected("hourly") ==
          "streamq schedule 'hourly': unknown kind (expected 'cron:...' or 'every:...')");
    CHECK(rejected("cron:0 2 * * *") == "streamq schedule 'cron:0 2 * * *': " + cron_form);
    CHECK(rejected("cron:@daily") == "streamq schedule 'cron:@daily': " + cron_form);
    CHECK(rejected("cron:0 24 * * *@UTC") ==
          "streamq cron '0 24 * * *': field 2 (hour) value 24 out of range 0-23");
    CHECK(rejected("cron:0 2 * * *@Mars/Olympus")
              .starts_with("streamq time zone 'Mars/Olympus': not found"));
    CHECK(rejected("cron:0 2 * * *@") == "streamq time zone '': must not be empty");
    for (std::string_view spec :
         {"every:", "every:60000", "every:60000ms", "every:60000@0", "every:ms@0", "every:-5ms@0",
          "every:60000ms@", "every:60sms@0", "every:60000ms@1x", "every:60000ms@ 1",
          "every:99999999999999999999ms@0"}) {
      CAPTURE(spec);
      CHECK(rejected(spec) == "streamq schedule '" + std::string(spec) + "': " + every_form);
    }
    CHECK(rejected("every:0ms@0") == "streamq interval schedule: every must be positive, got 0ms");
  }
}

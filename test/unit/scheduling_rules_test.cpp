// The scheduler's rules (lib/streams/sansio/scheduling.hpp), with no server and no io_context:
// the poller's sleep, its early wake-ups, recurring occurrences under each missed_policy, and
// the clock arithmetic at the edges of its ranges.
#include "streams/sansio/scheduling.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using namespace streamq::streams;
using namespace streamq::streams::detail;

namespace {

using sys_time = std::chrono::system_clock::time_point;
using steady_time = wake_plan::clock::time_point;
using kind = occurrence_decision::kind;
constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();
constexpr auto int64_min = std::numeric_limits<std::int64_t>::min();

// 2026-01-01T00:00:00Z.
const sys_time t0 = sys_time(1767225600000ms);

schedule every(std::chrono::milliseconds period, sys_time anchor = t0) {
  return interval_schedule(period,
                           std::chrono::time_point_cast<std::chrono::milliseconds>(anchor));
}

std::int64_t ms_of(sys_time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

TEST_CASE("Unix milliseconds become time points, clamped to what system_clock holds") {
  CHECK(from_unix_ms(1767225600000) == t0);
  CHECK(from_unix_ms(0) == sys_time{});
  CHECK(from_unix_ms(-1) == sys_time{} - 1ms);
  // Beyond system_clock's nanoseconds (year 2262): the latest / earliest whole millisecond.
  CHECK(from_unix_ms(int64_max) == std::chrono::floor<std::chrono::milliseconds>(sys_time::max()));
  CHECK(from_unix_ms(int64_min) == std::chrono::ceil<std::chrono::milliseconds>(sys_time::min()));
  CHECK(from_unix_ms(int64_max) > from_unix_ms(ms_of(sys_time::max()) - 1));
}

TEST_CASE("the time between two server times saturates instead of overflowing") {
  CHECK(ms_between(1000, 1500) == 500ms);
  CHECK(ms_between(1500, 1000) == -500ms);
  CHECK(ms_between(-5, 5) == 10ms);
  CHECK(ms_between(int64_min, int64_max) == std::chrono::milliseconds::max());
  CHECK(ms_between(-1, int64_max) == std::chrono::milliseconds::max());
  CHECK(ms_between(int64_max, int64_min) == std::chrono::milliseconds::min());
  CHECK(ms_between(1, int64_min) == std::chrono::milliseconds::min());
  CHECK(ms_between(int64_max, int64_max) == 0ms);
  CHECK(ms_between(0, int64_max) == std::chrono::milliseconds(int64_max));
}

TEST_CASE("publish_in's delay: negative counts as 0, over max_delay is refused by name") {
  constexpr auto max_delay = scheduler::max_delay;
  CHECK(delay_argument(1500ms, max_delay) == 1500);
  CHECK(delay_argument(0ms, max_delay) == 0);
  CHECK(delay_argument(-10s, max_delay) == 0);
  CHECK(delay_argument(std::chrono::milliseconds::min(), max_delay) == 0);
  CHECK(delay_argument(max_delay, max_delay) == max_delay.count());
  CHECK_THROWS_AS((void)delay_argument(max_delay + 1ms, max_delay), std::invalid_argument);
  try {
    (void)delay_argument(std::chrono::milliseconds::max(), max_delay);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("max_delay") != std::string::npos);
    CHECK(what.find(std::to_string(std::chrono::milliseconds::max().count())) !=
          std::string::npos);
  }
}

TEST_CASE("a topic's delayed tasks: a full batch polls at once, else the next due time") {
  const std::int64_t now = ms_of(t0);
  // A full batch: more may be due, whatever the next due time says.
  CHECK(delayed_wait({512, now + 60'000, now}, 512) == 0ms);
  CHECK(delayed_wait({513, -1, now}, 512) == 0ms);
  // Not full: until the earliest waiting task.
  CHECK(delayed_wait({511, now + 250, now}, 512) == 250ms);
  CHECK(delayed_wait({0, now + 250, now}, 512) == 250ms);
  // An empty topic (nothing moved, nothing waits) needs no poll of its own.
  CHECK(delayed_wait({0, -1, now}, 512) == std::chrono::milliseconds::max());
  // Due already (the server's clock jumped forward, or the task was due as the script ran).
  CHECK(delayed_wait({0, now - 5000, now}, 512) == 0ms);
  CHECK(delayed_wait({0, now, now}, 512) == 0ms);
  // The server's clock went back: the task is further away, by the server's clock.
  CHECK(delayed_wait({0, now + 250, now - 3'600'000}, 512) == 3'600'250ms);
  // Replies at the edges of int64 saturate.
  CHECK(delayed_wait({0, int64_max, int64_min}, 512) == std::chrono::milliseconds::max());
  CHECK(delayed_wait({0, 0, int64_max}, 512) == 0ms);
}

TEST_CASE("the poller's sleep: the soonest need, never over max_sleep, never negative") {
  poll_sleep idle(500ms);
  CHECK(idle.get() == 500ms);  // nothing needs a poll sooner
  idle.need(std::chrono::milliseconds::max());
  idle.need(10min);
  CHECK(idle.get() == 500ms);

  poll_sleep busy(500ms);
  busy.need(300ms);
  busy.need(450ms);
  CHECK(busy.get() == 300ms);
  busy.need(200ms);  // retry_delay of a topic whose poll failed
  CHECK(busy.get() == 200ms);
  busy.need(-5ms);  // overdue: at once
  CHECK(busy.get() == 0ms);
  busy.need(100ms);
  CHECK(busy.get() == 0ms);

  CHECK(poll_sleep(-1ms).get() == 0ms);
  CHECK(poll_sleep(std::chrono::milliseconds::max()).get() == std::chrono::milliseconds::max());

  // One poll of two topics: an empty one and one with a task due in 80 ms.
  const std::int64_t now = ms_of(t0);
  poll_sleep poll(500ms);
  poll.need(delayed_wait({0, -1, now}, 16));
  poll.need(delayed_wait({3, now + 80, now}, 16));
  CHECK(poll.get() == 80ms);
  poll.need(delayed_wait({16, now + 80, now}, 16));  // a third topic's batch was full
  CHECK(poll.get() == 0ms);
}

TEST_CASE("wake plan: the planned sleep, or at once") {
  const steady_time now = steady_time{} + 1h;
  wake_plan plan;
  CHECK_FALSE(plan.planned().has_value());
  plan.poll_started();
  CHECK(plan.sleep_until(now, 500ms) == now + 500ms);
  CHECK(plan.planned() == now + 500ms);
  plan.poll_started();
  CHECK_FALSE(plan.planned().has_value());
  CHECK_FALSE(plan.sleep_until(now, 0ms).has_value());  // a full batch, NOSCRIPT: poll again
  CHECK_FALSE(plan.planned().has_value());
  CHECK_FALSE(plan.sleep_until(now, -3ms).has_value());
  // A failed poll waits retry_delay, as any other sleep.
  CHECK(plan.sleep_until(now, 200ms) == now + 200ms);
}

TEST_CASE("wake plan: a sooner task wakes the sleeping poller, once") {
  const steady_time now = steady_time{} + 1h;
  wake_plan plan;
  plan.poll_started();
  REQUIRE(plan.sleep_until(now, 500ms) == now + 500ms);
  CHECK_FALSE(plan.task_scheduled(now + 10ms, 600ms));  // after the planned wake-up
  CHECK_FALSE(plan.task_scheduled(now + 10ms, 490ms));  // exactly at it
  CHECK(plan.task_scheduled(now + 10ms, 100ms));        // before it: wake now
  CHECK(plan.planned() == now + 10ms);
  CHECK_FALSE(plan.task_scheduled(now + 11ms, 0ms));  // woken already
  // Due already (a due time in the past, a negative delay): wakes at once.
  plan.poll_started();
  REQUIRE(plan.sleep_until(now, 500ms).has_value());
  CHECK(plan.task_scheduled(now, -1h));
}

TEST_CASE("wake plan: a task scheduled while a poll is in flight bounds the next sleep") {
  const steady_time now = steady_time{} + 1h;
  wake_plan plan;
  plan.poll_started();
  // The poll's script may have run before the task was added: nothing to cancel now...
  CHECK_FALSE(plan.task_scheduled(now, 120ms));
  CHECK_FALSE(plan.task_scheduled(now, 300ms));
  // ...but the poll's own answer (max_sleep, nothing due) cannot outlast it.
  CHECK(plan.sleep_until(now + 5ms, 500ms) == now + 120ms);
  // A sooner need of the poll itself still wins.
  plan.poll_started();
  CHECK_FALSE(plan.task_scheduled(now, 120ms));
  CHECK(plan.sleep_until(now, 40ms) == now + 40ms);
  // Due before the poll ended (or a recurring task registered meanwhile: due "now"): poll
  // again at once.
  plan.poll_started();
  CHECK_FALSE(plan.task_scheduled(now, 0ms));
  CHECK_FALSE(plan.sleep_until(now + 1ms, 500ms).has_value());
  // The next poll sees those tasks: they are forgotten when it starts.
  plan.poll_started();
  CHECK(plan.sleep_until(now + 2ms, 500ms) == now + 502ms);
}

TEST_CASE("wake plan: sleeps and delays at the edges of the clock saturate") {
  const steady_time now = steady_time{} + 1h;
  wake_plan plan;
  plan.poll_started();
  CHECK(plan.sleep_until(now, std::chrono::milliseconds::max()) == steady_time::max());
  CHECK_FALSE(plan.task_scheduled(now, std::chrono::milliseconds::max()));
  CHECK(plan.task_scheduled(now, scheduler::max_delay));  // before time_point::max()
  plan.poll_started();
  const steady_time late = steady_time::max() - 1s;
  CHECK(plan.sleep_until(late, 10s) == steady_time::max());
  CHECK(plan.sleep_until(late, 500ms) == late + 500ms);
  // A negative clock reading (steady_clock's epoch is unspecified) is no special case.
  plan.poll_started();
  const steady_time early = steady_time::min() + 1s;
  CHECK(plan.sleep_until(early, 500ms) == early + 500ms);
  CHECK(plan.sleep_until(early, std::chrono::milliseconds::max()) == steady_time::max());
}

TEST_CASE("recurring: the first occurrence comes after registration, then each fires on time") {
  const schedule minutely = every(1min);
  // Never claimed: the first occurrence after now, however close.
  auto first = next_occurrence(minutely, std::nullopt, missed_policy::skip, t0 + 20s, 60s);
  CHECK(first.what == kind::wait);
  CHECK(first.wait == 40s);
  auto at_anchor = next_occurrence(minutely, std::nullopt, missed_policy::skip, t0, 60s);
  CHECK(at_anchor.what == kind::wait);  // an occurrence at registration is not fired
  CHECK(at_anchor.wait == 1min);
  // Due: fires that occurrence.
  auto due = next_occurrence(minutely, t0, missed_policy::skip, t0 + 1min, 60s);
  CHECK(due.what == kind::fire);
  CHECK(due.occurrence == t0 + 1min);
  // Claimed: waits for the next.
  auto next = next_occurrence(minutely, t0 + 1min, missed_policy::skip, t0 + 1min + 250ms, 60s);
  CHECK(next.what == kind::wait);
  CHECK(next.wait == 59750ms);
}

TEST_CASE("recurring: a poller behind by less than misfire_grace catches up one per poll") {
  const schedule every_second = every(1s);
  const sys_time now = t0 + 3500ms;
  std::optional<sys_time> last = t0;
  std::vector<sys_time> fired;
  for (int poll = 0; poll < 10; ++poll) {
    const auto d = next_occurrence(every_second, last, missed_policy::skip, now, 60s);
    if (d.what != kind::fire) {
      CHECK(d.what == kind::wait);
      CHECK(d.wait == 500ms);
      break;
    }
    fired.push_back(d.occurrence);
    last = d.occurrence;  // what the claim script records
  }
  CHECK(fired == std::vector<sys_time>{t0 + 1s, t0 + 2s, t0 + 3s});
}

TEST_CASE("recurring: found later than misfire_grace, the policy decides about the latest") {
  const schedule hourly = every(1h);
  const sys_time now = t0 + 5h + 10min;  // four occurrences missed while no scheduler ran
  auto skipped = next_occurrence(hourly, t0, missed_policy::skip, now, 60s);
  CHECK(skipped.what == kind::skip);
  CHECK(skipped.occurrence == t0 + 5h);
  auto once = next_occurrence(hourly, t0, missed_policy::run_once, now, 60s);
  CHECK(once.what == kind::fire);
  CHECK(once.occurrence == t0 + 5h);
  // Once the latest is claimed, the next occurrence is waited for: nothing fires twice.
  auto after = next_occurrence(hourly, t0 + 5h, missed_policy::run_once, now, 60s);
  CHECK(after.what == kind::wait);
  CHECK(after.wait == 50min);
  // A single occurrence found late is missed too.
  auto late = next_occurrence(hourly, t0, missed_policy::skip, t0 + 1h + 61s, 60s);
  CHECK(late.what == kind::skip);
  CHECK(late.occurrence == t0 + 1h);
}

TEST_CASE("recurring: misfire_grace bounds, inclusive, and a negative grace counts as 0") {
  const schedule hourly = every(1h);
  CHECK(next_occurrence(hourly, t0, missed_policy::skip, t0 + 1h + 60s, 60s).what == kind::fire);
  CHECK(next_occurrence(hourly, t0, missed_policy::skip, t0 + 1h + 60001ms, 60s).what ==
        kind::skip);
  CHECK(next_occurrence(hourly, t0, missed_policy::skip, t0 + 1h, 0ms).what == kind::fire);
  CHECK(next_occurrence(hourly, t0, missed_policy::skip, t0 + 1h + 1ms, 0ms).what == kind::skip);
  CHECK(next_occurrence(hourly, t0, missed_policy::skip, t0 + 1h, -5s).what == kind::fire);
  CHECK(next_occurrence(hourly, t0, missed_policy::run_once, t0 + 1h + 1ms, -5s).what ==
        kind::fire);
}

TEST_CASE("recurring: the server's clock jumping back fires nothing again, forward misses") {
  const schedule hourly = every(1h);
  // Claimed up to t0 + 3h, and the server now says t0 + 1h: wait for t0 + 4h, by its clock.
  auto back = next_occurrence(hourly, t0 + 3h, missed_policy::run_once, t0 + 1h, 60s);
  CHECK(back.what == kind::wait);
  CHECK(back.wait == 3h);
  // Forward by a day: the occurrences between are missed.
  auto forward = next_occurrence(hourly, t0 + 3h, missed_policy::skip, t0 + 27h + 30min, 60s);
  CHECK(forward.what == kind::skip);
  CHECK(forward.occurrence == t0 + 27h);
}

TEST_CASE("recurring: cron schedules, by the same rule") {
  const schedule nightly = schedule::parse("cron:0 2 * * *@UTC");
  const sys_time day1_2am = t0 + 2h;
  auto on_time = next_occurrence(nightly, t0, missed_policy::skip, day1_2am + 1s, 60s);
  CHECK(on_time.what == kind::fire);
  CHECK(on_time.occurrence == day1_2am);
  // Down for two days: one decision about the latest night.
  auto missed = next_occurrence(nightly, day1_2am, missed_policy::run_once, t0 + 58h, 60s);
  CHECK(missed.what == kind::fire);
  CHECK(missed.occurrence == t0 + 50h);
  auto waiting = next_occurrence(nightly, t0 + 50h, missed_policy::run_once, t0 + 58h, 60s);
  CHECK(waiting.what == kind::wait);
  CHECK(waiting.wait == 16h);  // until 02:00 on 4 January
}

TEST_CASE("recurring: waits round up, never early, at least 1 ms") {
  const schedule every_second = every(1s);
  auto almost = next_occurrence(every_second, t0, missed_policy::skip, t0 + 1s - 1ns, 60s);
  CHECK(almost.what == kind::wait);
  CHECK(almost.wait == 1ms);
  auto half = next_occurrence(every_second, t0, missed_policy::skip, t0 + 500500us, 60s);
  CHECK(half.wait == 500ms);  // due at 1000 ms, now 500.5 ms: woken no earlier than due
  CHECK(t0 + 500500us + half.wait >= t0 + 1s);
}

TEST_CASE("recurring: no occurrence ahead, and the ends of system_clock") {
  // The next occurrence is beyond what system_clock holds: nothing to do, ever.
  const auto end = std::chrono::floor<std::chrono::milliseconds>(sys_time::max());
  const schedule past_the_end = every(24h, end - 1h);
  auto none = next_occurrence(past_the_end, end - 1h, missed_policy::run_once, end - 30min, 60s);
  CHECK(none.what == kind::none);
  // A claim at the start of time and a clock at its end: a lateness of centuries, in range.
  const schedule daily = every(24h, sys_time{});
  const auto begin = std::chrono::ceil<std::chrono::milliseconds>(sys_time::min());
  auto centuries = next_occurrence(daily, begin, missed_policy::skip, end, 60s);
  CHECK(centuries.what == kind::skip);
  CHECK(centuries.occurrence <= end);
  CHECK(centuries.occurrence > end - 24h);
  // A task claimed at the end of time while the clock reads its start: wait (capped by
  // poll_sleep), without overflow.
  const schedule at_end = every(1h, end - 10h);
  auto far = next_occurrence(at_end, end - 10h, missed_policy::skip, begin, 60s);
  CHECK(far.what == kind::wait);
  CHECK(far.wait > std::chrono::hours(24 * 365 * 500));
  poll_sleep sleep(500ms);
  sleep.need(far.wait);
  CHECK(sleep.get() == 500ms);
}

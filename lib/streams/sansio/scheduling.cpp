#include "scheduling.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace streamq::streams::detail {
namespace {

using std::chrono::milliseconds;
using sys_time = std::chrono::system_clock::time_point;
using steady_time = std::chrono::steady_clock::time_point;

// The Unix milliseconds that system_clock can hold.
constexpr std::int64_t earliest_ms =
    std::chrono::ceil<milliseconds>(sys_time::min()).time_since_epoch().count();
constexpr std::int64_t latest_ms =
    std::chrono::floor<milliseconds>(sys_time::max()).time_since_epoch().count();

// t + d for d >= 0, or time_point::max() where that overflows (d of about 292 years or more
// counts as forever).
steady_time later(steady_time t, milliseconds d) noexcept {
  if (d <= milliseconds(0)) return t;
  constexpr auto longest = std::chrono::floor<milliseconds>(steady_time::duration::max());
  if (d >= longest) return steady_time::max();
  const steady_time::duration step = d;  // exact: d < longest
  if (t.time_since_epoch() > steady_time::duration::max() - step) return steady_time::max();
  return t + step;
}

// Whole milliseconds since the epoch, rounded down or up: within +-2^53, so their differences
// cannot overflow, unlike those of system_clock's nanoseconds across its whole range.
std::int64_t floor_ms(sys_time t) noexcept {
  return std::chrono::floor<milliseconds>(t.time_since_epoch()).count();
}
std::int64_t ceil_ms(sys_time t) noexcept {
  return std::chrono::ceil<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

sys_time from_unix_ms(std::int64_t ms) noexcept {
  return sys_time(milliseconds(std::clamp(ms, earliest_ms, latest_ms)));
}

milliseconds ms_between(std::int64_t from_ms, std::int64_t to_ms) noexcept {
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  if (from_ms < 0 && to_ms > max + from_ms) return milliseconds::max();
  if (from_ms > 0 && to_ms < min + from_ms) return milliseconds::min();
  return milliseconds(to_ms - from_ms);
}

std::int64_t delay_argument(milliseconds delay, milliseconds max_delay) {
  if (delay > max_delay)
    throw std::invalid_argument("streamq scheduler::publish_in: delay of " +
                                std::to_string(delay.count()) + " ms is over max_delay (" +
                                std::to_string(max_delay.count()) + " ms)");
  return std::max<std::int64_t>(0, delay.count());
}

milliseconds delayed_wait(const delayed_poll& poll, std::size_t batch) noexcept {
  if (poll.moved >= batch) return milliseconds(0);  // a full batch: more may be due now
  if (poll.next_due_ms < 0) return milliseconds::max();
  return std::max(milliseconds(0), ms_between(poll.server_now_ms, poll.next_due_ms));
}

poll_sleep::poll_sleep(milliseconds max_sleep) noexcept
    : sleep_(std::max(max_sleep, milliseconds(0))) {}

void poll_sleep::need(milliseconds in) noexcept {
  sleep_ = std::min(sleep_, std::max(in, milliseconds(0)));
}

void wake_plan::poll_started() noexcept {
  planned_.reset();
  scheduled_due_ = clock::time_point::max();
}

std::optional<wake_plan::clock::time_point> wake_plan::sleep_until(clock::time_point now,
                                                                   milliseconds sleep) noexcept {
  const auto wake = std::min(later(now, sleep), scheduled_due_);
  if (wake <= now) {
    planned_.reset();
    return std::nullopt;
  }
  planned_ = wake;
  return wake;
}

bool wake_plan::task_scheduled(clock::time_point now, milliseconds in) noexcept {
  const auto due = later(now, in);
  if (!planned_) {  // a poll is in flight: it may not see the task
    scheduled_due_ = std::min(scheduled_due_, due);
    return false;
  }
  if (due >= *planned_) return false;
  planned_ = now;  // woken now: a later task does not wake it again
  return true;
}

occurrence_decision next_occurrence(const schedule& when, std::optional<sys_time> last,
                                    missed_policy on_missed, sys_time now,
                                    milliseconds misfire_grace) {
  using kind = occurrence_decision::kind;
  const auto first = when.next_after(last.value_or(now));
  if (!first) return {kind::none, {}, {}};
  if (*first > now) return {kind::wait, {}, milliseconds(ceil_ms(*first) - floor_ms(now))};
  const milliseconds late(floor_ms(now) - floor_ms(*first));
  if (late <= std::max(misfire_grace, milliseconds(0))) return {kind::fire, *first, {}};
  // Missed: the latest occurrence stands for all of them (never one before `first`).
  const auto latest = std::max(*first, when.last_at_or_before(now).value_or(*first));
  return {on_missed == missed_policy::run_once ? kind::fire : kind::skip, latest, {}};
}

}  // namespace streamq::streams::detail

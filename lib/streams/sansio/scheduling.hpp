#pragma once
// The scheduler's rules as pure functions: how long run() sleeps between polls (a full batch,
// the next due task, the next recurring occurrence, a failed poll, max_sleep), when this
// process's own scheduling wakes it early, what a recurring task does at a poll (fire its
// occurrence, skip the missed ones, or wait), and the due-time arithmetic, which saturates
// rather than overflows whatever the clocks or the server's replies say. No I/O, no Asio, no
// clock reads: unit-tested in test/unit/scheduling_rules_test.cpp; scheduler_impl.cpp and
// recurring.cpp only carry out what these decide. (Which failures are reported is
// error_throttle's rule, failure_log.hpp.)

#include <streamq/streams/schedule.hpp>
#include <streamq/streams/scheduler.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace streamq::streams::detail {

// ---- clocks ------------------------------------------------------------------------------

// Unix milliseconds (Redis TIME, the scripts' due times) as a system_clock time point. Values
// beyond its range (about 1678 to 2262 with libstdc++'s nanoseconds) are clamped into it.
[[nodiscard]] std::chrono::system_clock::time_point from_unix_ms(std::int64_t ms) noexcept;

// to_ms - from_ms (both Unix milliseconds), saturating at the limits of milliseconds.
[[nodiscard]] std::chrono::milliseconds ms_between(std::int64_t from_ms,
                                                   std::int64_t to_ms) noexcept;

// ---- delayed tasks -----------------------------------------------------------------------

// The `when` argument publish_in gives the scheduling script, which adds it to the server's
// TIME: the delay in milliseconds, a negative one counting as 0. Throws std::invalid_argument
// for a delay over `max_delay` (scheduler::max_delay), naming it.
[[nodiscard]] std::int64_t delay_argument(std::chrono::milliseconds delay,
                                          std::chrono::milliseconds max_delay);

// What one topic's poll script reports about its delayed tasks, by the server's clock.
struct delayed_poll {
  std::uint64_t moved = 0;         // tasks this poll moved into the topic
  std::int64_t next_due_ms = -1;   // Unix ms of the earliest task still waiting; < 0: none
  std::int64_t server_now_ms = 0;  // the server's TIME as the script ran
};

// When the topic's delayed tasks need the next poll: at once after a full batch (`moved` >=
// `batch`: more may be due), else when the earliest waiting task is due (at once if it is due
// already, e.g. after the server's clock jumped forward), else milliseconds::max() (nothing
// waits; poll_sleep caps it).
[[nodiscard]] std::chrono::milliseconds delayed_wait(const delayed_poll& poll,
                                                     std::size_t batch) noexcept;

// ---- the poller's sleep ------------------------------------------------------------------

// The sleep after one poll: the soonest that anything polled needs, never negative and never
// longer than max_sleep (tasks that other processes schedule sooner than any this poller knew
// of are moved at most that late). Each topic's delayed_wait(), each recurring task's wait,
// and the retry_delay of a topic whose poll failed lower it through need().
class poll_sleep {
 public:
  explicit poll_sleep(std::chrono::milliseconds max_sleep) noexcept;
  // Something needs a poll in `in`; 0 or less: at once.
  void need(std::chrono::milliseconds in) noexcept;
  [[nodiscard]] std::chrono::milliseconds get() const noexcept { return sleep_; }

 private:
  std::chrono::milliseconds sleep_;
};

// When run() polls next, and when this process's own scheduling wakes it early. Used on run()'s
// executor only; it holds no timer: the runner sets its timer to sleep_until() and cancels it
// when task_scheduled() says so.
//
// A task this process schedules while a poll is in flight may be missing from that poll's
// reply (the poll's script ran first): it bounds the next sleep instead of being lost until
// max_sleep. The same holds for a recurring task registered meanwhile (due "now").
class wake_plan {
 public:
  using clock = std::chrono::steady_clock;

  // A poll starts: the poller is awake, and what is scheduled from now on may miss the poll.
  void poll_started() noexcept;
  // The poll asked for `sleep` (poll_sleep::get(), or retry_delay after a failed poll): the
  // time to wake at, or nullopt to poll again at once. No later than the earliest task
  // scheduled since poll_started(). Saturates at clock::time_point::max().
  [[nodiscard]] std::optional<clock::time_point> sleep_until(
      clock::time_point now, std::chrono::milliseconds sleep) noexcept;
  // This process scheduled a task due `in` from `now` (negative: due already). True when the
  // poller sleeps past that and must be woken now; while a poll is in flight it is remembered
  // for sleep_until() instead (false).
  [[nodiscard]] bool task_scheduled(clock::time_point now, std::chrono::milliseconds in) noexcept;
  // Asleep: when it wakes; nullopt while a poll is in flight (or before the first).
  [[nodiscard]] std::optional<clock::time_point> planned() const noexcept { return planned_; }

 private:
  std::optional<clock::time_point> planned_;
  clock::time_point scheduled_due_ = clock::time_point::max();  // since poll_started()
};

// ---- recurring tasks ---------------------------------------------------------------------

// What a poll does about one (unpaused) recurring task.
struct occurrence_decision {
  enum class kind : std::uint8_t {
    fire,  // claim `occurrence` and publish it
    skip,  // claim `occurrence` without publishing it: it, and the ones between it and the
           // last claimed, were missed and the policy is missed_policy::skip
    wait,  // nothing is due: the next occurrence is `wait` from now (at least 1 ms)
    none,  // no occurrence lies ahead (none within the schedule's search range, or beyond
           // the range of system_clock): nothing to do, ever
  };
  kind what = kind::none;
  std::chrono::system_clock::time_point occurrence{};  // fire, skip
  std::chrono::milliseconds wait{0};                   // wait
};

// The first occurrence after `last` (the latest claimed; nullopt before the first claim:
// occurrences after `now`) is due when it is at or before `now`. Found at most
// `misfire_grace` late it fires: a poller that was briefly behind catches up one occurrence
// per poll. Later than that it was missed, and `on_missed` decides about the latest missed
// occurrence: run_once fires it, skip claims it unpublished; the ones between are dropped
// with it either way. A `last` after `now` (the server's clock went back) fires nothing until
// the clock passes the next occurrence. A negative misfire_grace counts as 0.
[[nodiscard]] occurrence_decision next_occurrence(
    const schedule& when, std::optional<std::chrono::system_clock::time_point> last,
    missed_policy on_missed, std::chrono::system_clock::time_point now,
    std::chrono::milliseconds misfire_grace);

}  // namespace streamq::streams::detail

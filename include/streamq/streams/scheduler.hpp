#pragma once
// Delayed and recurring tasks, moved into topics atomically inside Redis.
//
//   scheduler s(client, {.topics = {"emails"}});
//   auto id = co_await s.publish_in("emails", reminder, std::chrono::minutes(5));
//   co_await s.upsert_recurring("emails", "nightly-report", schedule::parse("cron:0 2 * * *"),
//                               report_request, missed_policy::skip);
//   co_await s.run();  // until stop() or cancelled: moves due tasks, fires recurring ones
//
// Delayed tasks wait in a sorted set under the topic's hash tag (docs/wire-format.md). run()
// moves due tasks into the topic stream with one Lua script per poll (due range, XADD,
// removal), so any number of schedulers in any number of processes never lose a task and never
// deliver one twice, even if a scheduler dies between calls or a call is retried. Tasks due
// at the same millisecond are delivered in the order they were scheduled. The poller sleeps
// until the earliest due task (at most max_sleep) and wakes at once when this object
// schedules a sooner one.
//
// Recurring tasks (cron or interval schedules) are stored per topic and name. Every
// scheduler computes the same occurrences, and each occurrence is claimed in one Lua script
// that records it as fired and adds the message: exactly one process wins, with no leader
// election.
//
// Clocks: due times are the server's (docs/wire-format.md §9). publish_in() adds its delay to
// the server's TIME inside the scheduling script; publish_at() takes an absolute time, which by
// definition is the caller's wall clock, so a skew between this host and Redis shifts it.

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/log.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/last_error.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/schedule.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams {

namespace detail {
class scheduler_impl;
}  // namespace detail

// What to do with occurrences of a recurring task that passed while no scheduler ran (or that
// are found later than scheduler_config::misfire_grace).
enum class missed_policy : std::uint8_t {
  skip,      // drop them; the next occurrence fires as usual
  run_once,  // fire once for the latest missed occurrence, however many were missed
};

// Something an operator should hear about. None of these stop the scheduler. Each also goes to
// scheduler_config::log.
struct scheduler_event {
  enum class kind : std::uint8_t {
    // A poll failed: for every topic (`topic` empty: connection trouble, waited out) or for one
    // (an error reply such as NOPERM or WRONGTYPE: that topic's tasks wait until it is fixed;
    // the other topics go on). Reported when it starts, when the error changes, then at most
    // once per error_report_interval while it persists; `failures` counts what it stands for.
    poll_failed,
    // Polls of `topic` (empty: of every topic) work again; `failures` is how many failed.
    poll_recovered,
    // A recurring task this build cannot read (its spec is not one it knows, or its message is
    // not an envelope): it is never fired. Reported once per task and spec.
    recurring_task_unreadable,
  };
  kind what;
  std::string topic;
  error_code error;  // why (clear for poll_recovered)
  std::string detail;
  std::uint64_t failures = 0;
};

struct scheduler_config {
  // The topics whose delayed and recurring tasks run() moves. publish_in/publish_at and the
  // recurring-task calls work on any topic; only run() needs this list.
  std::vector<std::string> topics{};
  // Longest sleep between polls. Tasks scheduled by other processes sooner than the earliest
  // task this poller knew of are moved at most this late.
  std::chrono::milliseconds max_sleep{500};
  // Most tasks one poll moves per topic (one script call); a full batch polls again at once.
  std::size_t batch = 512;
  // A recurring occurrence found later than this after its time counts as missed
  // (missed_policy decides); earlier ones fire normally.
  std::chrono::milliseconds misfire_grace{std::chrono::seconds(60)};
  // How long an idempotency key of a scheduled task suppresses another task with that key.
  std::chrono::milliseconds dedup_window{std::chrono::hours(24)};
  // Wait after a failed poll (connection trouble) before the next one.
  std::chrono::milliseconds retry_delay{200};
  entry_limits limits{};
  // Receives scheduler_event reports on run()'s executor; must not block. An exception from it
  // is logged and dropped. Empty: the events still reach `log`.
  std::function<void(const scheduler_event&)> on_event{};
  // Where events and errors are written; empty: one JSON object per line on stderr.
  logger log{};
  // A failure that repeats (same topic, same error) is reported at most once per this long;
  // health() shows every one at once.
  std::chrono::milliseconds error_report_interval{std::chrono::minutes(1)};

  // Every duration above is at most this long: longer is surely a mistake, and a deadline
  // computed from one near milliseconds::max() would overflow.
  static constexpr std::chrono::milliseconds max_duration{std::chrono::days(3650)};

  // Throws std::invalid_argument naming the first invalid field.
  void validate() const;
  // Leading part of every Redis key this component uses (names.hpp, default_key_prefix): the
  // same for every component of one deployment. Default "streamq".
  std::string key_prefix{default_key_prefix};
};

struct scheduled_task {
  std::string id;                               // the task ID (for cancel_scheduled)
  std::chrono::system_clock::time_point due{};  // when it is moved into the topic
  v1::Envelope envelope;                        // the message, as it will be published
};

struct recurring_task {
  std::string name;
  std::string spec;  // schedule::spec(): parse it with schedule::parse
  missed_policy on_missed = missed_policy::skip;
  bool paused = false;
  // The latest occurrence claimed (fired or skipped); nullopt before the first.
  std::optional<std::chrono::system_clock::time_point> last_occurrence;
  v1::Envelope envelope;  // what each occurrence publishes (a fresh message_id each time)
};

// running, connection, `failing` (the latest poll failed for some topic) and the last error.
using scheduler_health = component_health;

struct scheduler_stats {
  std::uint64_t scheduled = 0;          // delayed tasks scheduled through this object
  std::uint64_t duplicates = 0;         // scheduling suppressed by an idempotency key
  std::uint64_t cancelled = 0;          // cancel_scheduled() calls that removed a task
  std::uint64_t moved = 0;              // due tasks this poller moved into their topics
  std::uint64_t polls = 0;              // poll round trips
  std::uint64_t poll_errors = 0;        // failed polls, one per topic that failed (retried
                                        // after retry_delay; see scheduler_health)
  std::uint64_t recurring_fired = 0;    // occurrences this process claimed and published
  std::uint64_t recurring_skipped = 0;  // missed occurrences this process claimed and dropped
};

class scheduler {
 public:
  // Throws std::invalid_argument for an invalid configuration (naming the field).
  scheduler(client& c, scheduler_config config);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // Schedules `message` for `topic` at `due` (or after `delay`) and returns the task ID.
  // With options.idempotency_key (or dedup_by_content), a second task with the same key
  // within dedup_window is not added: the first task's ID is returned. A due time in the
  // past is due at once. publish_in's due time is the server's TIME + delay (a negative delay
  // counts as 0; one over max_delay throws std::invalid_argument). Throws
  // boost::system::system_error: errc::invalid_name, errc::message_too_large (nothing written),
  // errc::publish_indeterminate (written, reply lost: a retry with an idempotency key is safe),
  // resp::server_errc (e.g. oom), redis::client_errc. Two overloads each: see publisher::publish.
  // Every call copies its arguments before it returns (the message too).
  boost::asio::awaitable<std::string> publish_at(std::string_view topic,
                                                 const google::protobuf::Message& message,
                                                 std::chrono::system_clock::time_point due,
                                                 const envelope_options& options);
  boost::asio::awaitable<std::string> publish_at(std::string_view topic,
                                                 const google::protobuf::Message& message,
                                                 std::chrono::system_clock::time_point due);
  boost::asio::awaitable<std::string> publish_in(std::string_view topic,
                                                 const google::protobuf::Message& message,
                                                 std::chrono::milliseconds delay,
                                                 const envelope_options& options);
  boost::asio::awaitable<std::string> publish_in(std::string_view topic,
                                                 const google::protobuf::Message& message,
                                                 std::chrono::milliseconds delay);
  // Schedules an envelope as it is (its idempotency_key, if any, deduplicates).
  boost::asio::awaitable<std::string> schedule_envelope(std::string_view topic,
                                                        v1::Envelope envelope,
                                                        std::chrono::system_clock::time_point due);

  // Removes a task that is not yet due. True if it was removed; false if it was unknown or
  // already moved into the topic (atomic with the poller: never both).
  boost::asio::awaitable<bool> cancel_scheduled(std::string_view topic, std::string_view id);
  // The first `limit` tasks not yet due, earliest first.
  boost::asio::awaitable<std::vector<scheduled_task>> list_scheduled(std::string_view topic,
                                                                     std::size_t limit);
  // How many tasks of `topic` are waiting.
  boost::asio::awaitable<std::uint64_t> scheduled_count(std::string_view topic);

  // Registers or updates the recurring task `name` of `topic`. Registering the same schedule
  // again (e.g. from every process at start-up) keeps its firing history; a changed schedule
  // starts afresh from now. The message is published with a fresh message_id each time.
  boost::asio::awaitable<void> upsert_recurring(std::string_view topic, std::string_view name,
                                                const schedule& when,
                                                const google::protobuf::Message& message,
                                                missed_policy on_missed);
  boost::asio::awaitable<std::vector<recurring_task>> list_recurring(std::string_view topic);
  // Each returns false if there is no such task.
  boost::asio::awaitable<bool> pause_recurring(std::string_view topic, std::string_view name);
  boost::asio::awaitable<bool> resume_recurring(std::string_view topic, std::string_view name);
  boost::asio::awaitable<bool> remove_recurring(std::string_view topic, std::string_view name);

  // The owner operation: polls the configured topics, moving due tasks and firing recurring
  // ones, until stop() or cancellation (then returns normally, promptly: a poll in flight is
  // given up, which is safe since each is one atomic script). Failures are waited out and
  // reported (scheduler_event, config().log, health()). Run it on the client's executor.
  // Throws std::logic_error when called twice at once.
  boost::asio::awaitable<void> run();
  // The operations above for any completion token (use_awaitable by default, as_tuple,
  // use_future, deferred, a callback): completion void(error_code, T) where the coroutine
  // forms throw (detail/async_op.hpp). Arguments are copied when called.
  // Cancellation (terminal only; partial and total are ignored): the operation stops at its
  // next request and completes with operation_aborted or the request's error; a script
  // already sent runs to its end on the server (each is atomic: a task is scheduled, cancelled or moved, never half).
  // async_run: the graceful stop described at run().
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish_at(std::string_view topic, const google::protobuf::Message& message,
                        std::chrono::system_clock::time_point due, const envelope_options& options,
                        Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish_at(topic, message, due, options), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish_in(std::string_view topic, const google::protobuf::Message& message,
                        std::chrono::milliseconds delay, const envelope_options& options,
                        Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish_in(topic, message, delay, options), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_cancel_scheduled(std::string_view topic, std::string_view id, Token&& token = {}) {
    return streamq::detail::start_async(executor(), cancel_scheduled(topic, id), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_list_scheduled(std::string_view topic, std::size_t limit, Token&& token = {}) {
    return streamq::detail::start_async(executor(), list_scheduled(topic, limit), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_scheduled_count(std::string_view topic, Token&& token = {}) {
    return streamq::detail::start_async(executor(), scheduled_count(topic), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_upsert_recurring(std::string_view topic, std::string_view name, const schedule& when,
                              const google::protobuf::Message& message, missed_policy on_missed,
                              Token&& token = {}) {
    return streamq::detail::start_async(executor(), upsert_recurring(topic, name, when, message, on_missed), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_list_recurring(std::string_view topic, Token&& token = {}) {
    return streamq::detail::start_async(executor(), list_recurring(topic), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_pause_recurring(std::string_view topic, std::string_view name, Token&& token = {}) {
    return streamq::detail::start_async(executor(), pause_recurring(topic, name), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_resume_recurring(std::string_view topic, std::string_view name, Token&& token = {}) {
    return streamq::detail::start_async(executor(), resume_recurring(topic, name), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_remove_recurring(std::string_view topic, std::string_view name, Token&& token = {}) {
    return streamq::detail::start_async(executor(), remove_recurring(topic, name), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_run(Token&& token = {}) {
    return streamq::detail::start_async(executor(), run(), std::forward<Token>(token));
  }

  // Asks run() to return. Any thread. Called while no run() is active, it makes the next
  // run() return at once; a run() that returned has forgotten the request.
  void stop() noexcept;

  [[nodiscard]] scheduler_stats stats() const noexcept;
  // Any thread.
  [[nodiscard]] scheduler_health health() const;
  [[nodiscard]] const scheduler_config& config() const noexcept;

  // The longest delay publish_in() accepts.
  static constexpr std::chrono::milliseconds max_delay{std::chrono::days(36500)};

 private:
  boost::asio::any_io_executor executor() const;

  std::unique_ptr<detail::scheduler_impl> impl_;
};

}  // namespace streamq::streams

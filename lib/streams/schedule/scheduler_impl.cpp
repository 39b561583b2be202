// streams::scheduler's delayed tasks (schedule, cancel, list, count) and run()'s poller.
// Recurring tasks are in recurring.cpp; how long the poller sleeps is decided by
// sansio/scheduling.hpp.
#include "scheduler_impl.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/run_until.hpp>

#include "commands/recurring_requests.hpp"
#include "commands/schedule_requests.hpp"
#include "commands/script.hpp"
#include "scheduler_internal.hpp"
#include "support/run_guard.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <span>
#include <stdexcept>

namespace streamq::streams::detail {
namespace asio = boost::asio;

scheduler_impl::scheduler_impl(client& c, scheduler_config config)
    : client_(c),
      config_(std::move(config)),
      sleep_(c.get_executor()),
      stop_(c.get_executor()),
      failures_("scheduler", config_.log, config_.error_report_interval) {
  config_.validate();
  for (const auto& topic : config_.topics) {
    auto state = std::make_unique<scheduler_topic>();
    state->keys = keys_of(topic);
    topics_.push_back(std::move(state));
  }
}

scheduler_impl::~scheduler_impl() = default;

boost::asio::any_io_executor scheduler_impl::executor() const {
  return client_.get_executor();
}

scheduler_stats scheduler_impl::stats() const noexcept {
  const auto& c = counters_;
  return {c.scheduled.load(),       c.duplicates.load(),
          c.cancelled.load(),       c.moved.load(),
          c.polls.load(),           c.poll_errors.load(),
          c.recurring_fired.load(), c.recurring_skipped.load()};
}

scheduler_health scheduler_impl::health() const {
  return failures_.health(client_.shared_connection(), running_);
}

std::shared_ptr<const topic_keys> scheduler_impl::keys_of(std::string_view topic) {
  if (!is_valid_topic_name(topic)) fail(errc::invalid_name, std::string(topic));
  const std::lock_guard lock(keys_mutex_);
  auto it = keys_.find(topic);
  if (it == keys_.end())
    it = keys_.emplace(std::string(topic), std::make_shared<const topic_keys>(topic, config_.key_prefix))
             .first;
  return it->second;
}

// ---- delayed tasks ----------------------------------------------------------------------

asio::awaitable<std::string> scheduler_impl::schedule_task(
    std::string topic, v1::Envelope envelope,
    std::optional<std::chrono::system_clock::time_point> due,
    std::optional<std::chrono::milliseconds> delay) {
  const auto keys = keys_of(topic);
  const std::int64_t when = delay ? delay_argument(*delay, scheduler::max_delay) : unix_ms(*due);
  if (auto ec = check_limits(envelope, config_.limits))
    fail(ec, "message of " + std::to_string(envelope.payload().size()) + " payload bytes");
  const std::string bytes = encode_entry(envelope)[3];
  const task_due when_due{when, delay.has_value()};
  scheduled_reply scheduled;
  const auto result = co_await send_script(
      client_,
      [&](resp::request& req, bool by_source) {
        build_schedule_task(req, by_source, *keys, envelope.idempotency_key(), config_.dedup_window,
                            when_due, bytes);
      },
      [&](const resp::value& reply) { return decode_schedule_task(reply, scheduled); });
  if (result.transport) fail(publish_error(result.transport), "scheduling a task");
  check(result, "scheduling a task");
  if (scheduled.duplicate) {
    ++counters_.duplicates;
  } else {
    ++counters_.scheduled;
    // Due and now both by the server's clock.
    wake_for(ms_between(scheduled.now_ms, scheduled.due_ms));
  }
  co_return std::move(scheduled.id);
}

void scheduler_impl::wake_for(std::chrono::milliseconds in) {
  if (!running_) return;
  const auto now = std::chrono::steady_clock::now();
  // The timer and the plan belong to run()'s executor; this may be called from another
  // thread. run() may have ended, and this scheduler been destroyed, by the time the wake-up
  // runs: `alive` says.
  asio::dispatch(sleep_.get_executor(), [this, alive = std::weak_ptr<const void>(alive_), now, in] {
    if (!alive.expired() && running_ && wake_.task_scheduled(now, in)) sleep_.cancel();
  });
}

asio::awaitable<bool> scheduler_impl::cancel_scheduled(std::string topic, std::string id) {
  const auto keys = keys_of(topic);
  bool removed = false;
  check(co_await send_script(
            client_,
            [&](resp::request& req, bool by_source) {
              build_cancel_scheduled(req, by_source, *keys, id);
            },
            [&](const resp::value& reply) { return decode_cancel_scheduled(reply, removed); }),
        "cancelling a scheduled task");
  if (removed) ++counters_.cancelled;
  co_return removed;
}

asio::awaitable<std::vector<scheduled_task>> scheduler_impl::list_scheduled(std::string topic,
                                                                            std::size_t limit) {
  const auto keys = keys_of(topic);
  std::vector<scheduled_task> tasks;
  if (limit == 0) co_return tasks;
  std::vector<listed_task> listed;
  check(co_await send_script(
            client_,
            [&](resp::request& req, bool by_source) {
              build_list_scheduled(req, by_source, *keys, limit);
            },
            [&](const resp::value& reply) { return decode_list_scheduled(reply, listed); }),
        "listing scheduled tasks");
  tasks.reserve(listed.size());
  for (auto& l : listed) {
    scheduled_task task;
    task.id = std::move(l.id);
    task.due = from_unix_ms(l.due_ms);
    if (!task.envelope.ParseFromString(l.envelope))
      fail(errc::malformed_entry, "scheduled task " + task.id + " holds no valid envelope");
    tasks.push_back(std::move(task));
  }
  co_return tasks;
}

asio::awaitable<std::uint64_t> scheduler_impl::scheduled_count(std::string topic) {
  const auto keys = keys_of(topic);
  std::uint64_t count = 0;
  check(co_await send_command(
            client_, [&](resp::request& req) { build_scheduled_count(req, *keys); },
            [&](const resp::value& reply) { return decode_scheduled_count(reply, count); }),
        "counting scheduled tasks");
  co_return count;
}

// ---- the poller ------------------------------------------------------------------------

asio::awaitable<void> scheduler_impl::run() {
  if (running_.exchange(true)) throw std::logic_error("streamq scheduler: run() twice at once");
  const run_guard guard(running_, stop_);
  // stop() before run(), or a cancellation that came before run() started: co_await would
  // throw operation_aborted for the latter.
  const auto cs = co_await asio::this_coro::cancellation_state;
  if (stop_.requested() || cs.cancelled() != asio::cancellation_type::none) co_return;
  // stop() ends the wait, which cancels the poll loop: its graceful end.
  co_await run_until(poll_loop(), stop_.wait());
}

asio::awaitable<void> scheduler_impl::poll_loop() {
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto cs = co_await asio::this_coro::cancellation_state;
  auto stopped = [&] { return cs.cancelled() != asio::cancellation_type::none; };
  while (!stopped()) {
    wake_.poll_started();
    std::chrono::milliseconds sleep = config_.retry_delay;  // after a failed poll
    try {
      sleep = co_await poll_once();
    } catch (const boost::system::system_error& e) {
      if (stopped()) break;  // a poll given up by the cancellation: no failure
      ++counters_.poll_errors;
      poll_failed({}, e.code(), e.what());  // connection trouble: waited out, then polled again
    }
    if (stopped()) break;
    const auto wake = wake_.sleep_until(std::chrono::steady_clock::now(), sleep);
    if (!wake) continue;
    sleep_.expires_at(*wake);
    co_await sleep_.async_wait(use_tuple);  // cancelled early by wake_for()
  }
}

void scheduler_impl::poll_failed(std::string_view topic, const error_code& ec,
                                 std::string_view text) {
  const auto failures = failures_.failed("poll_failed", topic, ec, text);
  if (failures > 0)
    report(
        {scheduler_event::kind::poll_failed, std::string(topic), ec, std::string(text), failures});
}

void scheduler_impl::report(const scheduler_event& event) {
  failures_.notify(config_.on_event, event);
}

asio::awaitable<std::chrono::milliseconds> scheduler_impl::poll_once() {
  // One round trip for every topic: move due tasks, and read the recurring tasks. Polls the
  // server answered NOSCRIPT go again by source, in a second one (exec_script_pipeline): the
  // others ran already.
  script_pipeline pipeline(2 * topics_.size());
  auto build = [&](resp::request& req, std::span<const std::size_t> calls, bool by_source) {
    for (const std::size_t call : calls) {
      const topic_keys& keys = *topics_[call / 2]->keys;
      if (call % 2 == 0)
        build_poll_scheduled(req, by_source, keys, config_.batch);
      else
        build_recurring_tasks(req, keys);
    }
  };
  auto send = [&](const resp::request& req,
                  resp::generic_response& replies) -> asio::awaitable<error_code> {
    auto [ec] = co_await client_.async_exec(req, replies, use_tuple);
    co_return ec;
  };
  const error_code ec = co_await exec_script_pipeline(pipeline, send, build);
  ++counters_.polls;
  if (ec) fail(ec, "polling delayed tasks");
  if (const auto n = failures_.succeeded("poll_recovered", {}))
    report({scheduler_event::kind::poll_recovered, {}, {}, "polls work again", n});
  poll_sleep sleep(config_.max_sleep);
  for (std::size_t i = 0; i < topics_.size(); ++i) {
    const std::string& topic = topics_[i]->keys->topic();
    try {
      sleep.need(co_await poll_topic(i, pipeline.reply(2 * i), pipeline.reply(2 * i + 1)));
    } catch (const boost::system::system_error& e) {
      if (!answered_by_server(e.code()) && e.code() != errc::malformed_entry)
        throw;  // the connection's: every topic's
      // This topic's keys (NOPERM, WRONGTYPE, ...): the other topics go on.
      ++counters_.poll_errors;
      poll_failed(topic, e.code(), e.what());
      sleep.need(config_.retry_delay);
      continue;
    }
    if (const auto n = failures_.succeeded("poll_recovered", topic))
      report({scheduler_event::kind::poll_recovered, topic, {}, "polls work again", n});
  }
  co_return sleep.get();
}

asio::awaitable<std::chrono::milliseconds> scheduler_impl::poll_topic(
    std::size_t topic_index, const resp::value& moved, const resp::value& recurring) {
  polled_tasks polled;
  if (const auto result = decode_poll_scheduled(moved, polled); !result)
    fail(result.ec, result.diagnostic);
  hash_fields fields;
  if (const auto result = decode_recurring_tasks(recurring, fields); !result)
    fail(result.ec, result.diagnostic);
  counters_.moved += polled.moved;
  poll_sleep sleep(config_.max_sleep);
  sleep.need(delayed_wait({polled.moved, polled.next_due_ms, polled.now_ms}, config_.batch));
  scheduler_topic& t = *topics_[topic_index];
  std::vector<std::pair<std::string, std::string>> unreadable;  // name, spec
  t.recurring = parse_recurring(fields, &unreadable);
  for (const auto& [name, spec] : unreadable)
    recurring_unreadable(t, name, spec, "its message is not a streamq envelope");
  sleep.need(co_await fire_recurring(topic_index, polled.now_ms));
  co_return sleep.get();
}

}  // namespace streamq::streams::detail

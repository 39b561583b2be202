// streams::scheduler's delayed tasks (schedule, cancel, list, count) and run()'s poller.
// Recurring tasks are in recurring.cpp; how long the poller sleeps is decided by
// sansio/scheduling.hpp.
#include "scheduler_impl.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/run_until.hpp>

#include "run_guard.hpp"
#include "scheduler_internal.hpp"
#include "scheduler_scripts.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <cstdlib>
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
  if (!is_valid_name(topic)) fail(errc::invalid_name, std::string(topic));
  const std::lock_guard lock(keys_mutex_);
  auto it = keys_.find(topic);
  if (it == keys_.end())
    it = keys_.emplace(std::string(topic), std::make_shared<const topic_keys>(topic)).first;
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
  const bool keyed = !envelope.idempotency_key().empty();
  const std::string& key = envelope.idempotency_key();
  const std::string dedup_key = keyed ? keys->task_dedup(key) : keys->meta();
  const std::string wave1_key = keyed ? keys->dedup(key) : keys->meta();
  const std::string bytes = encode_entry(envelope)[3];
  resp::response<std::vector<std::string>> reply;
  auto build = [&](resp::request& req, bool by_source) {
    schedule_script().push(req, by_source, 5, resp::key{keys->delayed()},
                           resp::key{keys->delayed_data()}, resp::key{keys->meta()},
                           resp::key{dedup_key}, resp::key{wave1_key}, when, bytes,
                           keyed ? config_.dedup_window.count() : 0, delay ? "in" : "at");
  };
  if (auto ec = co_await exec_script(client_, reply, build))
    fail(publish_error(ec), "scheduling a task");
  auto& result = reply.get<0>();
  if (!result.has_value()) fail(result.error(), result.diagnostic());
  auto& parts = result.value();
  if (parts.size() != 4) fail(resp::adapt_errc::size_mismatch, "schedule reply");
  if (parts[0] == "0") {
    ++counters_.duplicates;
  } else {
    ++counters_.scheduled;
    // Due and now both by the server's clock.
    wake_for(ms_between(std::strtoll(parts[3].c_str(), nullptr, 10),
                        std::strtoll(parts[2].c_str(), nullptr, 10)));
  }
  co_return std::move(parts[1]);
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
  resp::response<std::int64_t> reply;
  auto build = [&](resp::request& req, bool by_source) {
    cancel_script().push(req, by_source, 2, resp::key{keys->delayed()},
                         resp::key{keys->delayed_data()}, id);
  };
  if (auto ec = co_await exec_script(client_, reply, build))
    fail(ec, "cancelling a scheduled task");
  auto& result = reply.get<0>();
  if (!result.has_value()) fail(result.error(), result.diagnostic());
  if (result.value() == 1) ++counters_.cancelled;
  co_return result.value() == 1;
}

asio::awaitable<std::vector<scheduled_task>> scheduler_impl::list_scheduled(std::string topic,
                                                                            std::size_t limit) {
  const auto keys = keys_of(topic);
  std::vector<scheduled_task> tasks;
  if (limit == 0) co_return tasks;
  resp::response<std::vector<std::string>> reply;
  auto build = [&](resp::request& req, bool by_source) {
    list_scheduled_script().push(req, by_source, 2, resp::key{keys->delayed()},
                                 resp::key{keys->delayed_data()}, limit);
  };
  if (auto ec = co_await exec_script(client_, reply, build)) fail(ec, "listing scheduled tasks");
  auto& result = reply.get<0>();
  if (!result.has_value()) fail(result.error(), result.diagnostic());
  const auto& flat = result.value();
  for (std::size_t i = 0; i + 2 < flat.size(); i += 3) {
    scheduled_task task;
    task.id = flat[i];
    task.due = from_unix_ms(std::strtoll(flat[i + 1].c_str(), nullptr, 10));
    if (!task.envelope.ParseFromString(flat[i + 2]))
      fail(errc::malformed_entry, "scheduled task " + task.id + " holds no valid envelope");
    tasks.push_back(std::move(task));
  }
  co_return tasks;
}

asio::awaitable<std::uint64_t> scheduler_impl::scheduled_count(std::string topic) {
  const auto keys = keys_of(topic);
  resp::request req;
  req.push("ZCARD", resp::key{keys->delayed()});
  co_return co_await exec_one<std::uint64_t>(client_, std::move(req), "counting scheduled tasks");
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
  bool by_source = false;
  while (!stopped()) {
    wake_.poll_started();
    std::chrono::milliseconds sleep = config_.retry_delay;  // after a failed poll
    try {
      sleep = co_await poll_once(by_source);
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

asio::awaitable<std::chrono::milliseconds> scheduler_impl::poll_once(bool& by_source) {
  // One round trip for every topic: move due tasks, and read the recurring tasks.
  resp::request req;
  for (const auto& t : topics_) {
    poll_script().push(req, by_source, 3, resp::key{t->keys->stream()},
                       resp::key{t->keys->delayed()}, resp::key{t->keys->delayed_data()},
                       config_.batch, version_field, envelope_version, envelope_field);
    req.push("HGETALL", resp::key{t->keys->cron()});
  }
  resp::generic_response replies;
  auto [ec] = co_await client_.async_exec(req, replies, use_tuple);
  ++counters_.polls;
  if (ec) fail(ec, "polling delayed tasks");
  const auto& values = replies.values();
  if (values.size() != 2 * topics_.size()) fail(resp::adapt_errc::size_mismatch, "poll replies");
  if (!by_source)
    for (std::size_t i = 0; i < topics_.size(); ++i)
      if (values[2 * i].is_error() &&
          resp::classify_server_error(values[2 * i].text) == resp::server_errc::noscript) {
        by_source = true;  // a server that lost its scripts: send sources from now on
        co_return std::chrono::milliseconds(0);
      }
  if (const auto n = failures_.succeeded("poll_recovered", {}))
    report({scheduler_event::kind::poll_recovered, {}, {}, "polls work again", n});
  poll_sleep sleep(config_.max_sleep);
  for (std::size_t i = 0; i < topics_.size(); ++i) {
    const std::string& topic = topics_[i]->keys->topic();
    try {
      sleep.need(co_await poll_topic(i, values[2 * i], values[2 * i + 1]));
    } catch (const boost::system::system_error& e) {
      if (!answered_by_server(e.code())) throw;  // the connection's: every topic's
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
  if (moved.is_error()) fail(resp::classify_server_error(moved.text), moved.text);
  if (moved.elements.size() != 3) fail(resp::adapt_errc::size_mismatch, "poll reply");
  if (recurring.is_error()) fail(resp::classify_server_error(recurring.text), recurring.text);
  const delayed_poll polled{std::strtoull(moved.elements[0].text.c_str(), nullptr, 10),
                            std::strtoll(moved.elements[1].text.c_str(), nullptr, 10),
                            std::strtoll(moved.elements[2].text.c_str(), nullptr, 10)};
  counters_.moved += polled.moved;
  poll_sleep sleep(config_.max_sleep);
  sleep.need(delayed_wait(polled, config_.batch));
  scheduler_topic& t = *topics_[topic_index];
  std::vector<std::pair<std::string, std::string>> unreadable;  // name, spec
  t.recurring = parse_recurring(recurring, &unreadable);
  for (const auto& [name, spec] : unreadable)
    recurring_unreadable(t, name, spec, "its message is not a streamq envelope");
  sleep.need(co_await fire_recurring(topic_index, polled.server_now_ms));
  co_return sleep.get();
}

}  // namespace streamq::streams::detail

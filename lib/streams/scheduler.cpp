// streams::scheduler: delayed tasks (schedule, cancel, list) and the polling loop of run().
// Recurring tasks are in recurring.cpp.
#include <streamq/redis/error.hpp>
#include <streamq/streams/scheduler.hpp>

#include "failure_log.hpp"
#include "run_guard.hpp"
#include "scheduler_internal.hpp"
#include "scheduler_scripts.hpp"
#include "stop_request.hpp"

#include <streamq/run_until.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace streamq::streams {
namespace asio = boost::asio;
using detail::fail;
using detail::use_tuple;

void scheduler_config::validate() const {
  auto invalid = [](const std::string& field, const std::string& why) {
    throw std::invalid_argument("streamq scheduler_config." + field + ": " + why);
  };
  for (const auto& topic : topics)
    if (!is_valid_name(topic)) invalid("topics", "'" + topic + "' is not a valid topic name");
  auto duration = [&](const std::string& field, std::chrono::milliseconds d, bool zero_ok) {
    if (d.count() < 0 || (d.count() == 0 && !zero_ok))
      invalid(field, zero_ok ? "must be >= 0" : "must be positive");
    if (d > max_duration)
      invalid(field, "must be at most " + std::to_string(max_duration.count()) + " ms");
  };
  duration("max_sleep", max_sleep, false);
  if (batch == 0) invalid("batch", "must be positive");
  if (batch > 4096) invalid("batch", "must be at most 4096 (one script's Lua stack)");
  duration("misfire_grace", misfire_grace, true);
  duration("dedup_window", dedup_window, false);
  duration("retry_delay", retry_delay, false);
  duration("error_report_interval", error_report_interval, false);
  if (limits.max_payload_bytes == 0) invalid("limits.max_payload_bytes", "must be positive");
}

scheduler::scheduler(client& c, scheduler_config config)
    : client_(c),
      config_(std::move(config)),
      sleep_(c.get_executor()),
      stop_(std::make_unique<detail::stop_request>(c.get_executor())) {
  config_.validate();
  failures_ = std::make_unique<detail::failure_log>("scheduler", config_.log,
                                                    config_.error_report_interval);
  for (const auto& topic : config_.topics) {
    auto state = std::make_unique<topic_state>();
    state->keys = keys_of(topic);
    topics_.push_back(std::move(state));
  }
}

scheduler::~scheduler() = default;

boost::asio::any_io_executor scheduler::executor() const { return client_.get_executor(); }

scheduler_stats scheduler::stats() const noexcept {
  const auto& c = counters_;
  return {c.scheduled.load(),       c.duplicates.load(),
          c.cancelled.load(),       c.moved.load(),
          c.polls.load(),           c.poll_errors.load(),
          c.recurring_fired.load(), c.recurring_skipped.load()};
}

scheduler_health scheduler::health() const {
  return failures_->health(client_.shared_connection(), running_);
}

void scheduler::stop() noexcept {
  stop_->request();
}

std::shared_ptr<const topic_keys> scheduler::keys_of(std::string_view topic) {
  if (!is_valid_name(topic)) fail(errc::invalid_name, std::string(topic));
  const std::lock_guard lock(keys_mutex_);
  auto it = keys_.find(topic);
  if (it == keys_.end())
    it = keys_.emplace(std::string(topic), std::make_shared<const topic_keys>(topic)).first;
  return it->second;
}

// ---- delayed tasks ----------------------------------------------------------------------

asio::awaitable<std::string> scheduler::publish_at(std::string_view topic,
                                                   const google::protobuf::Message& message,
                                                   std::chrono::system_clock::time_point due,
                                                   const envelope_options& options) {
  return schedule_envelope(topic, make_envelope(message, options), due);
}

asio::awaitable<std::string> scheduler::publish_at(std::string_view topic,
                                                   const google::protobuf::Message& message,
                                                   std::chrono::system_clock::time_point due) {
  return schedule_envelope(topic, make_envelope(message, envelope_options{}), due);
}

asio::awaitable<std::string> scheduler::publish_in(std::string_view topic,
                                                   const google::protobuf::Message& message,
                                                   std::chrono::milliseconds delay,
                                                   const envelope_options& options) {
  // The delay goes to the script, which adds it to the server's TIME: the client's clock
  // plays no part in a relative due time.
  return schedule_copy(std::string(topic), make_envelope(message, options), std::nullopt, delay);
}

asio::awaitable<std::string> scheduler::publish_in(std::string_view topic,
                                                   const google::protobuf::Message& message,
                                                   std::chrono::milliseconds delay) {
  return publish_in(topic, message, delay, envelope_options{});
}

asio::awaitable<std::string> scheduler::schedule_envelope(
    std::string_view topic, v1::Envelope envelope, std::chrono::system_clock::time_point due) {
  // Copied into the coroutine: it may start after the caller's string is gone.
  return schedule_copy(std::string(topic), std::move(envelope), due, std::nullopt);
}

asio::awaitable<std::string> scheduler::schedule_copy(
    std::string topic, v1::Envelope envelope,
    std::optional<std::chrono::system_clock::time_point> due,
    std::optional<std::chrono::milliseconds> delay) {
  const auto keys = keys_of(topic);
  if (delay && *delay > max_delay)
    throw std::invalid_argument("streamq scheduler::publish_in: delay of " +
                                std::to_string(delay->count()) + " ms is over max_delay");
  if (auto ec = check_limits(envelope, config_.limits))
    fail(ec, "message of " + std::to_string(envelope.payload().size()) + " payload bytes");
  const bool keyed = !envelope.idempotency_key().empty();
  const std::string& key = envelope.idempotency_key();
  const std::string dedup_key = keyed ? keys->task_dedup(key) : keys->meta();
  const std::string wave1_key = keyed ? keys->dedup(key) : keys->meta();
  const std::string bytes = encode_entry(envelope)[3];
  const std::int64_t when =
      delay ? std::max<std::int64_t>(0, delay->count()) : detail::unix_ms(*due);
  resp::response<std::vector<std::string>> reply;
  auto build = [&](resp::request& req, bool by_source) {
    detail::schedule_script().push(req, by_source, 5, resp::key{keys->delayed()},
                                   resp::key{keys->delayed_data()}, resp::key{keys->meta()},
                                   resp::key{dedup_key}, resp::key{wave1_key}, when, bytes,
                                   keyed ? config_.dedup_window.count() : 0, delay ? "in" : "at");
  };
  if (auto ec = co_await detail::exec_script(client_, reply, build))
    fail(detail::publish_error(ec), "scheduling a task");
  auto& result = reply.get<0>();
  if (!result.has_value()) fail(result.error(), result.diagnostic());
  auto& parts = result.value();
  if (parts.size() != 4) fail(resp::adapt_errc::size_mismatch, "schedule reply");
  if (parts[0] == "0") {
    ++counters_.duplicates;
  } else {
    ++counters_.scheduled;
    // Due and now both by the server's clock.
    wake_for(std::chrono::milliseconds(std::strtoll(parts[2].c_str(), nullptr, 10) -
                                       std::strtoll(parts[3].c_str(), nullptr, 10)));
  }
  co_return std::move(parts[1]);
}

void scheduler::wake_for(std::chrono::milliseconds in) {
  if (!running_) return;
  const auto due_steady =
      std::chrono::steady_clock::now() + std::clamp(in, std::chrono::milliseconds(0), max_delay);
  // The timer belongs to run()'s executor; this may be called from another thread. run() may
  // have ended, and this scheduler been destroyed, by the time the wake-up runs: `alive` says.
  asio::dispatch(sleep_.get_executor(),
                 [this, alive = std::weak_ptr<const void>(alive_), due_steady] {
                   if (!alive.expired() && running_ && due_steady < planned_wake_) sleep_.cancel();
                 });
}

// The calls taking string_views are plain functions that copy them into the coroutine they
// return: awaitables start lazily, after the caller's strings may be gone.
asio::awaitable<bool> scheduler::cancel_scheduled(std::string_view topic, std::string_view id) {
  return do_cancel_scheduled(std::string(topic), std::string(id));
}

asio::awaitable<bool> scheduler::do_cancel_scheduled(std::string topic, std::string id) {
  const auto keys = keys_of(topic);
  resp::response<std::int64_t> reply;
  auto build = [&](resp::request& req, bool by_source) {
    detail::cancel_script().push(req, by_source, 2, resp::key{keys->delayed()},
                                 resp::key{keys->delayed_data()}, id);
  };
  if (auto ec = co_await detail::exec_script(client_, reply, build))
    fail(ec, "cancelling a scheduled task");
  auto& result = reply.get<0>();
  if (!result.has_value()) fail(result.error(), result.diagnostic());
  if (result.value() == 1) ++counters_.cancelled;
  co_return result.value() == 1;
}

asio::awaitable<std::vector<scheduled_task>> scheduler::list_scheduled(std::string_view topic,
                                                                       std::size_t limit) {
  return do_list_scheduled(std::string(topic), limit);
}

asio::awaitable<std::vector<scheduled_task>> scheduler::do_list_scheduled(std::string topic,
                                                                          std::size_t limit) {
  const auto keys = keys_of(topic);
  std::vector<scheduled_task> tasks;
  if (limit == 0) co_return tasks;
  resp::response<std::vector<std::string>> reply;
  auto build = [&](resp::request& req, bool by_source) {
    detail::list_scheduled_script().push(req, by_source, 2, resp::key{keys->delayed()},
                                         resp::key{keys->delayed_data()}, limit);
  };
  if (auto ec = co_await detail::exec_script(client_, reply, build))
    fail(ec, "listing scheduled tasks");
  auto& result = reply.get<0>();
  if (!result.has_value()) fail(result.error(), result.diagnostic());
  const auto& flat = result.value();
  for (std::size_t i = 0; i + 2 < flat.size(); i += 3) {
    scheduled_task task;
    task.id = flat[i];
    task.due = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(std::strtoll(flat[i + 1].c_str(), nullptr, 10)));
    if (!task.envelope.ParseFromString(flat[i + 2]))
      fail(errc::malformed_entry, "scheduled task " + task.id + " holds no valid envelope");
    tasks.push_back(std::move(task));
  }
  co_return tasks;
}

asio::awaitable<std::uint64_t> scheduler::scheduled_count(std::string_view topic) {
  return do_scheduled_count(std::string(topic));
}

asio::awaitable<std::uint64_t> scheduler::do_scheduled_count(std::string topic) {
  const auto keys = keys_of(topic);
  resp::request req;
  req.push("ZCARD", resp::key{keys->delayed()});
  resp::response<std::uint64_t> reply;
  auto [ec] = co_await client_.async_exec(req, reply, use_tuple);
  if (ec) fail(ec, "counting scheduled tasks");
  if (!reply.get<0>().has_value()) fail(reply.get<0>().error(), reply.get<0>().diagnostic());
  co_return reply.get<0>().value();
}

// ---- the poller ------------------------------------------------------------------------

asio::awaitable<void> scheduler::run() {
  if (running_.exchange(true)) throw std::logic_error("streamq scheduler: run() twice at once");
  const detail::run_guard guard(running_, *stop_);
  // stop() before run(), or a cancellation that came before run() started: co_await would
  // throw operation_aborted for the latter.
  const auto cs = co_await asio::this_coro::cancellation_state;
  if (stop_->requested() || cs.cancelled() != asio::cancellation_type::none) co_return;
  // stop() ends the wait, which cancels the poll loop: its graceful end.
  co_await run_until(poll_loop(), stop_->wait());
}

asio::awaitable<void> scheduler::poll_loop() {
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto cs = co_await asio::this_coro::cancellation_state;
  auto stopped = [&] { return cs.cancelled() != asio::cancellation_type::none; };
  bool by_source = false;
  while (!stopped()) {
    std::chrono::milliseconds sleep = config_.retry_delay;
    try {
      sleep = co_await poll_once(by_source);
    } catch (const boost::system::system_error& e) {
      if (stopped()) break;  // a poll given up by the cancellation: no failure
      ++counters_.poll_errors;
      poll_failed({}, e.code(), e.what());  // connection trouble: waited out, then polled again
    }
    if (stopped()) break;
    if (sleep.count() <= 0) continue;
    planned_wake_ = std::chrono::steady_clock::now() + sleep;
    sleep_.expires_at(planned_wake_);
    co_await sleep_.async_wait(use_tuple);  // cancelled early by wake_for()
    planned_wake_ = std::chrono::steady_clock::time_point::min();
  }
}

void scheduler::poll_failed(std::string_view topic, const error_code& ec, std::string_view text) {
  const auto failures = failures_->failed("poll_failed", topic, ec, text);
  if (failures > 0)
    report(
        {scheduler_event::kind::poll_failed, std::string(topic), ec, std::string(text), failures});
}

void scheduler::report(const scheduler_event& event) {
  failures_->notify(config_.on_event, event);
}

asio::awaitable<std::chrono::milliseconds> scheduler::poll_once(bool& by_source) {
  // One round trip for every topic: move due tasks, and read the recurring tasks.
  resp::request req;
  for (const auto& t : topics_) {
    detail::poll_script().push(req, by_source, 3, resp::key{t->keys->stream()},
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
  if (const auto n = failures_->succeeded("poll_recovered", {}))
    report({scheduler_event::kind::poll_recovered, {}, {}, "polls work again", n});
  std::chrono::milliseconds sleep = config_.max_sleep;
  for (std::size_t i = 0; i < topics_.size(); ++i) {
    const std::string& topic = topics_[i]->keys->topic();
    try {
      sleep = std::min(sleep, co_await poll_topic(i, values[2 * i], values[2 * i + 1]));
    } catch (const boost::system::system_error& e) {
      if (!detail::answered_by_server(e.code())) throw;  // the connection's: every topic's
      // This topic's keys (NOPERM, WRONGTYPE, ...): the other topics go on.
      ++counters_.poll_errors;
      poll_failed(topic, e.code(), e.what());
      sleep = std::min(sleep, config_.retry_delay);
      continue;
    }
    if (const auto n = failures_->succeeded("poll_recovered", topic))
      report({scheduler_event::kind::poll_recovered, topic, {}, "polls work again", n});
  }
  co_return sleep;
}

asio::awaitable<std::chrono::milliseconds> scheduler::poll_topic(std::size_t topic_index,
                                                                 const resp::value& moved,
                                                                 const resp::value& recurring) {
  if (moved.is_error()) fail(resp::classify_server_error(moved.text), moved.text);
  if (moved.elements.size() != 3) fail(resp::adapt_errc::size_mismatch, "poll reply");
  if (recurring.is_error()) fail(resp::classify_server_error(recurring.text), recurring.text);
  std::chrono::milliseconds sleep = config_.max_sleep;
  const auto count = std::strtoull(moved.elements[0].text.c_str(), nullptr, 10);
  const auto next_due = std::strtoll(moved.elements[1].text.c_str(), nullptr, 10);
  const auto server_now = std::strtoll(moved.elements[2].text.c_str(), nullptr, 10);
  counters_.moved += count;
  if (count >= config_.batch) sleep = std::chrono::milliseconds(0);  // more are due
  if (next_due >= 0)
    sleep = std::min(sleep,
                     std::chrono::milliseconds(std::max<std::int64_t>(0, next_due - server_now)));
  topic_state& t = *topics_[topic_index];
  std::vector<std::pair<std::string, std::string>> unreadable;  // name, spec
  t.recurring = detail::parse_recurring(recurring, &unreadable);
  for (const auto& [name, spec] : unreadable)
    recurring_unreadable(t, name, spec, "its message is not a streamq envelope");
  co_return std::min(sleep, co_await fire_recurring(topic_index, server_now));
}

}  // namespace streamq::streams

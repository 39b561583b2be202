// streams::scheduler: delayed tasks (schedule, cancel, list) and the polling loop of run().
// Recurring tasks are in recurring.cpp.
#include <streamq/redis/error.hpp>
#include <streamq/streams/scheduler.hpp>

#include "scheduler_internal.hpp"
#include "scheduler_scripts.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
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
  if (max_sleep.count() <= 0) invalid("max_sleep", "must be positive");
  if (batch == 0) invalid("batch", "must be positive");
  if (batch > 4096) invalid("batch", "must be at most 4096 (one script's Lua stack)");
  if (misfire_grace.count() < 0) invalid("misfire_grace", "must be >= 0");
  if (dedup_window.count() <= 0) invalid("dedup_window", "must be positive");
  if (retry_delay.count() <= 0) invalid("retry_delay", "must be positive");
  if (limits.max_payload_bytes == 0) invalid("limits.max_payload_bytes", "must be positive");
}

scheduler::scheduler(client& c, scheduler_config config)
    : client_(c), config_(std::move(config)), sleep_(c.get_executor()) {
  config_.validate();
  for (const auto& topic : config_.topics) {
    auto state = std::make_unique<topic_state>();
    state->keys = keys_of(topic);
    topics_.push_back(std::move(state));
  }
}

scheduler::~scheduler() = default;

scheduler_stats scheduler::stats() const noexcept {
  const auto& c = counters_;
  return {c.scheduled.load(),       c.duplicates.load(),
          c.cancelled.load(),       c.moved.load(),
          c.polls.load(),           c.poll_errors.load(),
          c.recurring_fired.load(), c.recurring_skipped.load()};
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
  return publish_at(topic, message, std::chrono::system_clock::now() + delay, options);
}

asio::awaitable<std::string> scheduler::publish_in(std::string_view topic,
                                                   const google::protobuf::Message& message,
                                                   std::chrono::milliseconds delay) {
  return publish_at(topic, message, std::chrono::system_clock::now() + delay);
}

asio::awaitable<std::string> scheduler::schedule_envelope(
    std::string_view topic, v1::Envelope envelope, std::chrono::system_clock::time_point due) {
  // Copied into the coroutine: it may start after the caller's string is gone.
  return schedule_copy(std::string(topic), std::move(envelope), due);
}

asio::awaitable<std::string> scheduler::schedule_copy(std::string topic, v1::Envelope envelope,
                                                      std::chrono::system_clock::time_point due) {
  const auto keys = keys_of(topic);
  if (auto ec = check_limits(envelope, config_.limits))
    fail(ec, "message of " + std::to_string(envelope.payload().size()) + " payload bytes");
  const bool keyed = !envelope.idempotency_key().empty();
  const std::string dedup_key = keyed ? keys->dedup(envelope.idempotency_key()) : keys->meta();
  const std::string bytes = encode_entry(envelope)[3];
  const std::int64_t due_ms = detail::unix_ms(due);
  resp::response<std::vector<std::string>> reply;
  auto build = [&](resp::request& req, bool by_source) {
    detail::schedule_script().push(req, by_source, 4, resp::key{keys->delayed()},
                                   resp::key{keys->delayed_data()}, resp::key{keys->meta()},
                                   resp::key{dedup_key}, due_ms, bytes,
                                   keyed ? config_.dedup_window.count() : 0);
  };
  if (auto ec = co_await detail::exec_script(client_, reply, build))
    fail(detail::publish_error(ec), "scheduling a task");
  auto& result = reply.get<0>();
  if (!result.has_value()) fail(result.error(), result.diagnostic());
  auto& parts = result.value();
  if (parts.size() != 2) fail(resp::adapt_errc::size_mismatch, "schedule reply");
  if (parts[0] == "0") {
    ++counters_.duplicates;
  } else {
    ++counters_.scheduled;
    wake_for(due);
  }
  co_return std::move(parts[1]);
}

void scheduler::wake_for(std::chrono::system_clock::time_point due) {
  if (!running_) return;
  const auto due_steady =
      std::chrono::steady_clock::now() + (due - std::chrono::system_clock::now());
  // The timer belongs to run()'s executor; this may be called from another thread. run() may
  // have ended, and this scheduler been destroyed, by the time the wake-up runs: `alive` says.
  asio::dispatch(sleep_.get_executor(),
                 [this, alive = std::weak_ptr<const void>(alive_), due_steady] {
                   if (!alive.expired() && running_ && due_steady < planned_wake_) sleep_.cancel();
                 });
}

asio::awaitable<bool> scheduler::cancel_scheduled(std::string_view topic, std::string_view id) {
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
  struct stop_guard {
    std::atomic<bool>& flag;
    ~stop_guard() { flag = false; }
  } guard{running_};
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto cs = co_await asio::this_coro::cancellation_state;
  auto stopped = [&] { return cs.cancelled() != asio::cancellation_type::none; };
  bool by_source = false;
  while (!stopped()) {
    std::chrono::milliseconds sleep = config_.retry_delay;
    try {
      sleep = co_await poll_once(by_source);
    } catch (const boost::system::system_error&) {
      ++counters_.poll_errors;  // connection trouble: waited out, then polled again
    }
    if (stopped()) break;
    if (sleep.count() <= 0) continue;
    planned_wake_ = std::chrono::steady_clock::now() + sleep;
    sleep_.expires_at(planned_wake_);
    co_await sleep_.async_wait(use_tuple);  // cancelled early by wake_for()
    planned_wake_ = std::chrono::steady_clock::time_point::min();
  }
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
  std::chrono::milliseconds sleep = config_.max_sleep;
  for (std::size_t i = 0; i < topics_.size(); ++i) {
    const auto& moved = replies.values().at(2 * i);
    if (moved.is_error()) {
      const auto code = resp::classify_server_error(moved.text);
      if (code == resp::server_errc::noscript && !by_source) {
        by_source = true;  // a server that lost its scripts: send sources from now on
        co_return std::chrono::milliseconds(0);
      }
      fail(code, moved.text);
    }
    if (moved.elements.size() != 3) fail(resp::adapt_errc::size_mismatch, "poll reply");
    const auto count = std::strtoull(moved.elements[0].text.c_str(), nullptr, 10);
    const auto next_due = std::strtoll(moved.elements[1].text.c_str(), nullptr, 10);
    const auto server_now = std::strtoll(moved.elements[2].text.c_str(), nullptr, 10);
    counters_.moved += count;
    if (count >= config_.batch) sleep = std::chrono::milliseconds(0);  // more are due
    if (next_due >= 0)
      sleep = std::min(sleep,
                       std::chrono::milliseconds(std::max<std::int64_t>(0, next_due - server_now)));
    topics_[i]->recurring = detail::parse_recurring(replies.values().at(2 * i + 1));
    sleep = std::min(sleep, co_await fire_recurring(i, server_now));
  }
  co_return sleep;
}

}  // namespace streamq::streams

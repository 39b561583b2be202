// streams::topic_trimmer's run(): a round of trims every interval (trimmer_impl.hpp).
#include "maintain/trimmer_impl.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/run_until.hpp>

#include "support/run_guard.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace streamq::streams::detail {
namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Checked between awaits: a cancellation that arrives while the coroutine runs (rather
// than waits) is only recorded in this state.
bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

trimmer_impl::trimmer_impl(client& c, trimmer_config config)
    : client_(c),
      config_(std::move(config)),
      stop_(c.get_executor()),
      failures_("trimmer", config_.log, config_.error_report_interval) {
  config_.validate();
  keys_.reserve(config_.topics.size());
  stats_.topics.reserve(config_.topics.size());
  for (const auto& t : config_.topics) {
    keys_.emplace_back(t.topic, config_.key_prefix);
    stats_.topics.emplace_back().topic = t.topic;
  }
}

trimmer_stats trimmer_impl::stats() const {
  const std::lock_guard lock(stats_mutex_);
  return stats_;
}

trimmer_health trimmer_impl::health() const {
  return failures_.health(client_.shared_connection(), running_);
}

void trimmer_impl::record_failure(std::size_t topic, error_code ec, const std::string& text) {
  if (ec == redis::client_errc::timeout) {
    // Timed out waiting for a connection: say why there is none.
    const auto& conn = client_.shared_connection();
    if (conn.state() != redis::connection_state::connected && conn.last_error())
      ec = conn.last_error();
  }
  {
    const std::lock_guard lock(stats_mutex_);
    ++stats_.errors;
    ++stats_.topics[topic].errors;
    stats_.last_error = ec;
  }
  const std::string& name = config_.topics[topic].topic;
  if (const auto n = failures_.failed("trim_failed", name, ec, text))
    report({trimmer_event::kind::trim_failed, name, ec, text, n});
}

void trimmer_impl::record_success(std::size_t topic, std::uint64_t removed) {
  {
    const std::lock_guard lock(stats_mutex_);
    stats_.topics[topic].entries_trimmed += removed;
    stats_.entries_trimmed += removed;
  }
  const std::string& name = config_.topics[topic].topic;
  if (const auto n = failures_.succeeded("trim_recovered", name))
    report({trimmer_event::kind::trim_recovered, name, {}, "trimming works again", n});
}

void trimmer_impl::report(const trimmer_event& event) {
  failures_.notify(config_.on_event, event);
}

asio::awaitable<void> trimmer_impl::run() {
  if (running_.exchange(true))
    throw boost::system::system_error(asio::error::already_started, "topic_trimmer::run");
  const run_guard guard(running_, stop_);
  // stop() before run(), or a cancellation that came before run() started: co_await would
  // throw operation_aborted for the latter.
  const auto cs = co_await asio::this_coro::cancellation_state;
  if (stop_.requested() || cancelled(cs)) co_return;
  // stop() ends the wait, which cancels the loop: its graceful end.
  co_await run_until(loop(), stop_.wait());
}

asio::awaitable<void> trimmer_impl::loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!cancelled(cs)) {
    const auto started = std::chrono::steady_clock::now();
    const bool finished = co_await round();
    if (!finished) break;
    {
      const std::lock_guard lock(stats_mutex_);
      ++stats_.rounds;
    }
    // Checked before every wait: a cancellation that arrived while this coroutine ran is
    // only recorded, never delivered to a later wait (which would throw operation_aborted
    // at once, as throw_if_cancelled is left on).
    if (cancelled(cs)) break;
    timer.expires_at(started + config_.interval);
    co_await timer.async_wait(use_tuple);
  }
}

asio::awaitable<bool> trimmer_impl::round() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (cancelled(cs)) co_return false;
    error_code ec;
    std::string text;
    std::uint64_t removed = 0;
    try {
      removed = co_await with_deadline(trim_topic(client_, keys_[i], config_.topics[i].policy),
                                       config_.trim_timeout);
    } catch (const boost::system::system_error& e) {
      ec = e.code();
      text = e.what();
    }
    // A failure after cancellation is the cancellation's doing (an aborted or timed-out
    // call): not an error of the trimmer.
    if (cancelled(cs)) co_return false;
    if (ec) {
      record_failure(i, ec, text);
      if (!answered_by_server(ec)) break;  // the next round tries again
      continue;
    }
    record_success(i, removed);
  }
  co_return true;
}

}  // namespace streamq::streams::detail

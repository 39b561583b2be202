// The sampler: one owned coroutine that asks the server about every watched topic each
// sample_interval (commands/sampling_requests.hpp), computes lag (sansio/lag.hpp, sent by
// commands/sampling_commands.hpp) and refreshes.
#include <streamq/metrics/metrics.hpp>
#include <streamq/redis/deadline.hpp>

#include "commands/sampling_commands.hpp"
#include "commands/sampling_requests.hpp"
#include "commands/send_command.hpp"
#include "sansio/lag.hpp"
#include "state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace streamq::metrics {

namespace asio = boost::asio;
namespace sd = streams::detail;

namespace {

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

asio::awaitable<detail::topic_sample> sample_topic(client& c, streams::topic_keys keys,
                                                   std::string group, metrics_config config) {
  detail::topic_sample out;
  const auto sent = co_await sd::send_commands(
      c, [&](resp::request& req) { sd::build_topic_sample(req, keys, group); },
      [&](std::span<const resp::value> replies) {
        return sd::decode_topic_sample(replies, group, out.reply);
      });
  if (!sent) sd::throw_failure(sent);
  // Ages by this host's clock against the server's IDs and due times (server ms): a clock
  // skew between the two shows here, as it does in any age read from an entry ID.
  const auto now_ms = unix_ms_now();
  if (out.reply.oldest_pending_id)
    out.oldest_pending_age_s = sd::id_age_seconds(*out.reply.oldest_pending_id, now_ms);
  if (out.reply.earliest_due_ms && *out.reply.earliest_due_ms < static_cast<double>(now_ms))
    out.lateness_s = (static_cast<double>(now_ms) - *out.reply.earliest_due_ms) / 1000.0;
  if (out.reply.group) {
    const auto measured =
        co_await sd::measure_group_lag(c, keys.stream(), out.reply.stream, *out.reply.group,
                                       config.lag_page, config.lag_count_limit);
    out.lag = measured.lag;
  }
  co_return out;
}

struct sample_job {
  std::uint64_t id;
  client* target;
  streams::topic_keys keys;
  std::string group;
};

bool cancelled(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}

asio::awaitable<void> tick(detail::metrics_state& state) {
  std::vector<sample_job> jobs;
  {
    const std::lock_guard lock(state.mutex);
    for (const auto& [id, w] : state.topics) jobs.push_back({id, w.target, w.keys, w.group});
  }
  bool failed = false;
  // A handle on the coroutine's state: cancelled() reads it as it is now.
  const auto cs = co_await asio::this_coro::cancellation_state;
  for (const auto& job : jobs) {
    if (state.stop_requested || cancelled(cs)) co_return;
    try {
      auto sample = co_await with_deadline(
          sample_topic(*job.target, job.keys, job.group, state.config), state.config.sample_timeout);
      const std::lock_guard lock(state.mutex);
      if (auto it = state.topics.find(job.id); it != state.topics.end())
        it->second.sample = std::move(sample);
    } catch (const boost::system::system_error& e) {
      if (cancelled(cs)) co_return;
      failed = true;
      const std::string why = e.what();
      {
        const std::lock_guard lock(state.mutex);
        state.f.sampler_errors.Add({{detail::destination_label, job.keys.topic()}}).Increment();
        state.last_sample_error = job.keys.topic() + "/" + job.group + ": " + why;
      }
      state.config.log.log(log_level::warning, "metrics", "sample_failed",
                           "sampling a topic failed (kept its last sample; retried next tick): " + why,
                           {{"topic", job.keys.topic()}, {"group", job.group}});
    }
  }
  const std::lock_guard lock(state.mutex);
  state.failed_ticks = failed ? state.failed_ticks + 1 : 0;
  state.refresh_locked();
}

}  // namespace

asio::awaitable<void> metrics::run() {
  const auto state = state_;  // the coroutine keeps it alive
  if (state->running.exchange(true))
    throw std::logic_error("streamq metrics::run: the sampler is running already");
  state->stop_requested = false;
  // Whatever ends run() (an exception from the registry, say), the next run() may start.
  struct running_guard {
    detail::metrics_state& s;
    ~running_guard() {
      s.wait = nullptr;
      s.running = false;
    }
  } guard{*state};
  // Cancellation is looked at after each step instead of thrown out of the next co_await: a
  // sample in flight ends (within sample_timeout) and run() returns normally.
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer wait(co_await asio::this_coro::executor);
  state->wait = &wait;
  while (!state->stop_requested) {
    co_await tick(*state);
    if (state->stop_requested || cancelled(co_await asio::this_coro::cancellation_state)) break;
    wait.expires_after(state->config.sample_interval);
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    if (cancelled(co_await asio::this_coro::cancellation_state)) break;
  }
}

void metrics::stop() noexcept {
  state_->stop_requested = true;
  try {
    asio::post(ex_, [weak = std::weak_ptr<detail::metrics_state>(state_)] {
      if (auto state = weak.lock(); state && state->wait != nullptr) state->wait->cancel();
    });
  } catch (...) {  // NOLINT: posting can only fail for want of memory; the flag still stops it
  }
}

}  // namespace streamq::metrics

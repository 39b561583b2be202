// consumer_impl: acknowledgements. Successes are acknowledged in batches (one XACK per topic,
// pipelined), and counted only once Redis confirmed them. XACK is idempotent, so one whose
// outcome is unknown (the connection dropped after the write) is simply sent again after the
// reconnect; one that Redis refused for a passing reason (READONLY during a failover, LOADING)
// is retried too. A refusal that will not pass (NOPERM, NOGROUP) is reported: its entries stay
// pending and are delivered again, which at-least-once allows.
#include "consumer_impl.hpp"

#include <streamq/redis/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace streamq::streams::detail {
namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// How long one XACK round may take before its outcome counts as unknown (and it is resent).
constexpr std::chrono::milliseconds ack_timeout{10'000};

// Whether an XACK failure is worth sending again: its outcome is unknown, or the refusal passes.
bool resend(const error_code& ec) {
  return ec == redis::client_errc::outcome_unknown || ec == redis::client_errc::timeout ||
         ec == redis::client_errc::health_check_timeout || redis::is_retryable(ec) ||
         ec == resp::server_errc::readonly || ec == resp::server_errc::loading ||
         ec == resp::server_errc::masterdown || ec == resp::server_errc::tryagain ||
         ec == resp::server_errc::busy;
}

// Moves `from`'s IDs to the end of `to`; both keep their buffers.
void append(id_list& to, id_list& from) {
  if (to.empty())
    to.swap(from);
  else
    to.append(from);
  from.clear();
}
}  // namespace

void consumer_impl::ack(std::size_t sub, std::string_view id) {
  pending_acks_[sub].push_back(id);
  ack_wake_.cancel();
}

asio::awaitable<bool> consumer_impl::flush_acks() {
  ack_batch batch;
  std::vector<std::size_t> subs;
  bool fenced = false;
  for (std::size_t sub = 0; sub < subs_.size(); ++sub) {
    if (pending_acks_[sub].empty()) continue;
    // In flight until confirmed: held_ids() counts them, so recovery leaves them alone.
    append(acks_in_flight_[sub], pending_acks_[sub]);
    batch.streams.push_back(&subs_[sub].keys.stream());
    batch.ids.push_back(&acks_in_flight_[sub]);
    batch.fences.push_back(subs_[sub].fence ? &*subs_[sub].fence : nullptr);
    fenced = fenced || subs_[sub].fence.has_value();
    subs.push_back(sub);
  }
  if (subs.empty()) co_return true;
  if (!fenced) batch.fences.clear();  // plain XACKs
  std::vector<command_result> results;
  std::vector<std::uint64_t> acked;
  const auto sent = co_await acknowledge(client_, config_.group, batch, results, acked, ack_timeout);
  bool all_done = true;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    const std::size_t sub = subs[i];
    auto& ids = acks_in_flight_[sub];
    const command_result& result = sent ? results[i] : sent;
    if (result) {
      // Fewer acknowledged than sent: some were no longer pending here (another consumer took
      // them over and finished them, or they were acknowledged twice); nothing to resend.
      stats_.acked += acked[i];
      subs_[sub].counters->acked += acked[i];
      ids.clear();
      continue;
    }
    if (result.ec == errc::ownership_lost) {
      // The partition's lease names another member now: its successor answers for these
      // entries (they stay pending in the group and are taken over there).
      stats_.ownership_lost += ids.size();
      report(consumer_event::kind::ownership_lost, subs_[sub].keys.topic(),
             "not acknowledging " + std::to_string(ids.size()) +
                 " entries: the partition's lease is held by another member",
             errc::ownership_lost);
      ids.clear();
      continue;
    }
    if (resend(result.ec)) {
      all_done = false;
      append(pending_acks_[sub], ids);  // again, at the next round
      continue;
    }
    stats_.ack_failures += ids.size();
    failed(consumer_event::kind::ack_failed, sub, result,
           "acknowledging " + std::to_string(ids.size()) +
               " entries (they stay pending and will be delivered again)");
    ids.clear();
  }
  // A resend is not reported each time the connection blips; final_flush() reports what is
  // still unconfirmed at stop.
  co_return all_done;
}

asio::awaitable<void> consumer_impl::ack_loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer pause(co_await asio::this_coro::executor);
  std::chrono::milliseconds backoff{50};
  while (cs.cancelled() == asio::cancellation_type::none) {
    // All queued while the last XACK was in flight. Uncancellable: a cancellation would
    // withdraw XACKs not yet written, and finished work would run again after a claim even on
    // a graceful stop. ack_timeout bounds it.
    bool done = true;
    co_await uncancellable([&]() -> asio::awaitable<void> { done = co_await flush_acks(); }());
    if (!done) {
      // Connection trouble or a failover: wait a little (growing, at most 1 s), then resend.
      pause.expires_after(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    backoff = std::chrono::milliseconds(50);
    bool queued = false;
    for (const auto& p : pending_acks_) queued = queued || !p.empty();
    // Checked again before waiting: a cancellation recorded during flush_acks() does not
    // cancel the next wait, which nothing else would end.
    if (!queued && cs.cancelled() == asio::cancellation_type::none) {
      ack_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await ack_wake_.async_wait(use_tuple);
    }
  }
}

asio::awaitable<void> consumer_impl::final_flush(std::chrono::milliseconds limit) {
  const auto give_up_at = std::chrono::steady_clock::now() + limit;
  asio::steady_timer pause(co_await asio::this_coro::executor);
  while (!co_await flush_acks()) {
    if (std::chrono::steady_clock::now() >= give_up_at) break;
    pause.expires_after(std::chrono::milliseconds(100));
    co_await pause.async_wait(use_tuple);
  }
  std::size_t left = 0;
  for (const auto& p : pending_acks_) left += p.size();
  if (left > 0) {
    failed(consumer_event::kind::ack_failed, 0,
           command_result{redis::client_errc::outcome_unknown, {}},
           "stopping with " + std::to_string(left) +
               " acknowledgements unconfirmed (those entries stay pending and will be "
               "delivered again)");
    for (auto& p : pending_acks_) p.clear();
  }
}

}  // namespace streamq::streams::detail

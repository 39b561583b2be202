// consumer_impl: getting entries back. This consumer's own pending entries after a restart or
// a lost read reply; entries idle past claim_idle on consumers presumed dead; retries that are
// due; and, for entries it is working on, claim keep-alives and handler timeouts. Each takes
// over entries through one script that re-checks them (still pending, the expected owner, not
// waiting for a retry) and counts the delivery, so the attempt number is honest on every path.
#include "consumer_impl.hpp"
#include "sansio/delivery.hpp"

#include <streamq/streams/claims.hpp>
#include <streamq/streams/maintenance.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace streamq::streams::detail {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds request_timeout{10'000};
// PEL rows one idle-claim scan looks at per entry it could take: entries waiting for a retry
// are pending too, and are skipped.
constexpr std::size_t scan_factor = 10;
constexpr std::size_t own_page = 100;

bool cancelled(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}
}  // namespace

std::unordered_set<std::string> consumer_impl::held_ids(std::size_t sub) const {
  std::unordered_set<std::string> held;
  for (const auto& w : workers_)
    if (w.busy && w.sub == sub) held.insert(w.id);
  for (const auto& q : queue_)
    if (q.sub == sub) held.insert(q.id);
  if (subs_[sub].gate)
    subs_[sub].gate->for_each_waiting(
        [&](std::string_view id, const queued_entry&) { held.emplace(id); });
  for (auto id : pending_acks_[sub]) held.emplace(id);
  for (auto id : acks_in_flight_[sub]) held.emplace(id);
  return held;
}

void consumer_impl::take_claimed(std::size_t sub, claim_result& result, bool count_as_claim) {
  if (!result.lost.empty()) {
    // Their data was trimmed or deleted before anyone handled them: the only trace of that
    // loss, so it is counted and reported, never ignored.
    stats_.lost += result.lost.size();
    subs_[sub].counters->lost += result.lost.size();
    std::string ids;
    for (const auto& id : result.lost) ids += " " + id;
    report(consumer_event::kind::entries_lost, subs_[sub].keys.topic(),
           "pending entries trimmed or deleted before being handled:" + ids,
           errc::data_loss_detected);
  }
  if (count_as_claim) {
    stats_.claimed += result.claimed.size();
    subs_[sub].counters->claimed += result.claimed.size();
  }
  for (auto& e : result.claimed)
    dispatch(sub, std::move(e.id), std::move(e.fields), e.deliveries);
}

asio::awaitable<void> consumer_impl::recover_own_pending(const std::vector<std::size_t>& topics) {
  const auto cs = co_await asio::this_coro::cancellation_state;
  std::vector<pending_row> rows;
  std::vector<pending_row> wanted;
  for (const std::size_t sub : topics) {
    const auto g = group_of(sub);
    // Only a partition's holder: it alone takes the partition's retries. A consumer sharing a
    // stream could block a key on a retry another consumer then takes, holding it for good.
    if (subs_[sub].gate && subs_[sub].gate->ordered() && subs_[sub].fence)
      co_await block_waiting_keys(sub);
    // A partition's lease holder answers for all of the group's entries of that partition:
    // at start it takes over what the previous holder left (crashed, paused past its lease,
    // or handed over) at once instead of after claim_idle, before reading new entries, so
    // that a key's earlier entries run before its later ones. The previous holder's
    // acknowledgements are fenced by the lease meanwhile.
    const std::string owner = subs_[sub].fence ? std::string() : config_.name;
    std::string start = "-";
    while (!stop_reading_ && !cancelled(cs)) {
      while (credit(sub) == 0) {
        credit_wake_.expires_at(asio::steady_timer::time_point::max());
        co_await credit_wake_.async_wait(use_tuple);
        if (stop_reading_ || cancelled(cs)) co_return;
      }
      const std::size_t page = std::min(credit(sub), own_page);
      auto result = co_await pending_entries(client_, g, std::chrono::milliseconds(0), start, page,
                                             owner, rows, request_timeout);
      if (!result) {
        failed(consumer_event::kind::recovery_failed, sub, result,
               "listing this consumer's own pending entries (they are claimed after claim_idle)");
        break;
      }
      if (rows.empty()) break;
      start = "(" + rows.back().id;
      const auto held = held_ids(sub);
      wanted.clear();
      for (const auto& row : rows)
        if (!held.contains(row.id)) wanted.push_back(row);
      claim_result claimed;
      // Uncancellable: entries the script moved are ours; a dropped reply would strand them.
      co_await uncancellable([&]() -> asio::awaitable<void> {
        result = co_await claim_entries(client_, g, std::chrono::milliseconds(0), owner, wanted,
                                        claimed, request_timeout);
      }());
      if (result.ec == errc::ownership_lost) {
        lease_taken(sub, "taking over the partition's pending entries");
        break;
      }
      if (!result) {
        failed(consumer_event::kind::recovery_failed, sub, result,
               "taking back this consumer's own pending entries (they are claimed after "
               "claim_idle)");
        break;
      }
      take_claimed(sub, claimed, false);
      if (rows.size() < page) break;
    }
  }
}

asio::awaitable<void> consumer_impl::block_waiting_keys(std::size_t sub) {
  // Entries of the group waiting for a retry (this consumer's before a restart, a previous
  // partition holder's, or another consumer's): their keys hold back what is recovered or read
  // from now on, until each comes back when due.
  constexpr std::size_t most = 10'000;
  std::vector<entry_by_id> waiting;
  const auto result = co_await waiting_retries(client_, group_of(sub), most, waiting,
                                               request_timeout);
  if (!result) {
    failed(consumer_event::kind::recovery_failed, sub, result,
           "reading the group's retries (their keys' later messages may run before them)");
    co_return;
  }
  auto& gate = *subs_[sub].gate;
  for (const auto& e : waiting) {
    if (e.fields.empty()) continue;  // gone: take_due_retries reports it
    const auto key = key_of(e.fields);
    if (!key.empty()) gate.block(key, e.id, false);
  }
}

asio::awaitable<void> consumer_impl::claim_loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    // A cancellation recorded while this loop was busy does not cancel the next wait.
    if (cancelled(cs)) co_return;
    timer.expires_after(config_.claim_interval);
    co_await timer.async_wait(use_tuple);
    if (cancelled(cs)) co_return;
    for (std::size_t sub = 0; sub < subs_.size(); ++sub) {
      // Entries a claim moved to this consumer are its own: a reply dropped by a cancellation
      // would leave them unhandled until claimed again.
      co_await uncancellable(claim_idle(sub));
      if (cancelled(cs)) co_return;
      if (config_.remove_idle_consumers_after.count() > 0) {
        try {
          co_await remove_idle_consumers(client_, subs_[sub].keys, config_.group,
                                         config_.remove_idle_consumers_after, config_.name);
        } catch (const boost::system::system_error& e) {
          failed(consumer_event::kind::cleanup_failed, sub, {e.code(), e.what()},
                 "removing idle consumers of the group (tried again next round)");
        }
      }
    }
  }
}

asio::awaitable<void> consumer_impl::claim_idle(std::size_t sub) {
  const std::size_t room = credit(sub);
  if (room == 0) co_return;
  auto& s = subs_[sub];
  const auto g = group_of(sub);
  std::vector<pending_row> rows;
  auto result = co_await pending_entries(client_, g, config_.claim_idle, s.claim_cursor,
                                         room * scan_factor, "", rows, request_timeout);
  if (!result) {
    failed(consumer_event::kind::claim_failed, sub, result,
           "looking for entries idle past claim_idle (tried again next round)");
    co_return;
  }
  // Like XAUTOCLAIM's cursor: the next scan goes on after these, and starts over at the end.
  s.claim_cursor = rows.size() < room * scan_factor ? std::string("-") : "(" + rows.back().id;
  const auto held = held_ids(sub);
  std::vector<pending_row> wanted;
  for (auto& row : rows) {
    if (wanted.size() == room) break;
    if (!held.contains(row.id)) wanted.push_back(std::move(row));
  }
  if (wanted.empty()) co_return;
  claim_result claimed;
  result = co_await claim_entries(client_, g, config_.claim_idle, "", wanted, claimed,
                                  request_timeout);
  if (result.ec == errc::ownership_lost) {
    lease_taken(sub, "taking over entries idle past claim_idle");
    co_return;
  }
  if (!result) {
    failed(consumer_event::kind::claim_failed, sub, result,
           "taking over entries idle past claim_idle (tried again next round)");
    co_return;
  }
  take_claimed(sub, claimed, true);
}

asio::awaitable<void> consumer_impl::retry_loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  std::vector<std::chrono::milliseconds> delays(subs_.size(), config_.retry_poll_interval);
  while (!cancelled(cs)) {
    auto delay = config_.retry_poll_interval;
    if (credit() == 0) {
      delay = std::chrono::milliseconds(10);  // busy: look again soon, without taking anything
    } else {
      for (std::size_t sub = 0; sub < subs_.size() && credit() > 0; ++sub) {
        if (credit(sub) == 0) {  // this topic is at its own limit: look again soon
          delays[sub] = std::chrono::milliseconds(10);
          continue;
        }
        due_retries due;
        command_result result;
        // Uncancellable: retries the script handed over are this consumer's to run.
        co_await uncancellable([&]() -> asio::awaitable<void> {
          result = co_await take_due_retries(client_, group_of(sub), credit(sub), due,
                                             request_timeout);
        }());
        if (result.ec == errc::ownership_lost) {
          lease_taken(sub, "taking due retries");
          continue;
        }
        if (!result) {
          failed(consumer_event::kind::claim_failed, sub, result,
                 "taking due retries (tried again after retry_poll_interval)");
          continue;
        }
        stats_.retries_taken += due.taken.claimed.size();
        take_claimed(sub, due.taken, false);
        delays[sub] = retry_poll_delay(due.now_ms, due.next_due_ms, config_.retry_poll_interval);
        // All that was due was not taken (no credit left): more are due now.
        if (due.next_due_ms >= 0 && due.next_due_ms <= due.now_ms)
          delays[sub] = std::chrono::milliseconds(1);
      }
      delay = *std::min_element(delays.begin(), delays.end());
    }
    if (cancelled(cs)) co_return;
    const auto now = std::chrono::steady_clock::now();
    const auto wake = std::min(now + delay, std::max(local_retry_due_, now + 1ms));
    local_retry_due_ = std::chrono::steady_clock::time_point::max();
    retry_wake_.expires_at(wake);
    co_await retry_wake_.async_wait(use_tuple);  // or woken by schedule_retry()
  }
}

asio::awaitable<void> consumer_impl::keepalive_loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    // A cancellation recorded while this loop was busy does not cancel the next wait.
    if (cancelled(cs)) co_return;
    timer.expires_after(config_.claim_idle / 3);
    co_await timer.async_wait(use_tuple);
    if (cancelled(cs)) co_return;
    for (std::size_t sub = 0; sub < subs_.size(); ++sub) {
      // Entries being handled or waiting for a worker; not those waiting for a retry, whose
      // idle time must grow (they are not being worked on).
      std::vector<std::string> ids;
      for (const auto& w : workers_)
        if (w.busy && w.sub == sub) ids.push_back(w.id);
      for (const auto& q : queue_)
        if (q.sub == sub) ids.push_back(q.id);
      // Held back behind their key: this consumer answers for them too.
      if (subs_[sub].gate)
        subs_[sub].gate->for_each_waiting(
            [&](std::string_view id, const queued_entry&) { ids.emplace_back(id); });
      if (ids.empty()) continue;
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      try {
        const auto kept =
            co_await refresh_claims(client_, subs_[sub].keys, config_.group, config_.name, ids);
        stats_.claims_refreshed += kept.size();
        // Taken over while we were slow: the other consumer handles it too (at-least-once).
        if (kept.size() < ids.size()) {
          stats_.ownership_lost += ids.size() - kept.size();
          report(consumer_event::kind::ownership_lost, subs_[sub].keys.topic(),
                 std::to_string(ids.size() - kept.size()) +
                     " in-flight entries were taken over by another consumer",
                 errc::ownership_lost);
        }
      } catch (const boost::system::system_error& e) {
        failed(consumer_event::kind::keepalive_failed, sub, {e.code(), e.what()},
               "refreshing the claims of " + std::to_string(ids.size()) +
                   " entries in progress (tried again in claim_idle / 3)");
      }
      if (cancelled(cs)) co_return;
    }
  }
}

asio::awaitable<void> consumer_impl::timeout_loop() {
  // One sweep over the in-flight handlers per tick instead of a timer per message: the
  // timeout is enforced within a tick (a tenth of it, 10 ms to 1 s).
  if (config_.handler_timeout.count() <= 0) {
    // Nothing to enforce; still end only with run(): a branch of its || that ends stops it.
    asio::steady_timer forever(co_await asio::this_coro::executor,
                               asio::steady_timer::time_point::max());
    co_await forever.async_wait(use_tuple);
    co_return;
  }
  const auto tick = std::clamp<std::chrono::milliseconds>(
      config_.handler_timeout / 10, std::chrono::milliseconds(10), std::chrono::seconds(1));
  const auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    if (cancelled(cs)) co_return;
    timer.expires_after(tick);
    co_await timer.async_wait(use_tuple);
    if (cancelled(cs)) co_return;
    const auto now = std::chrono::steady_clock::now();
    for (auto& flight : workers_)
      if (flight.busy && !flight.timed_out && flight.deadline <= now) {
        flight.timed_out = true;
        flight.signal.emit(asio::cancellation_type::terminal);
      }
  }
}

}  // namespace streamq::streams::detail

// consumer_impl: running a handler and what happens after it fails (retry with backoff or
// dead letter), and recovery of entries left pending by dead consumers (XAUTOCLAIM).
#include "consumer_impl.hpp"
#include "scheduler_scripts.hpp"

#include <streamq/streams/claims.hpp>
#include <streamq/streams/maintenance.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

namespace streamq::streams::detail {
namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string code_string(const error_code& ec) {
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}
}  // namespace

std::chrono::milliseconds consumer_impl::backoff(std::uint32_t attempt) {
  const auto& policy = config_.retry;
  const double grown =
      static_cast<double>(policy.base.count()) * std::pow(2.0, std::min(attempt, 30U));
  const double capped = std::min(grown, static_cast<double>(policy.cap.count()));
  std::uniform_real_distribution<double> spread(1.0 - policy.jitter, 1.0);
  return std::chrono::milliseconds(static_cast<long>(capped * spread(rng_)));
}

void consumer_impl::record_latency(std::chrono::steady_clock::duration took) noexcept {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  std::size_t bucket = 0;
  for (auto v = static_cast<std::uint64_t>(us > 0 ? us : 1); v > 1; v >>= 1) ++bucket;
  auto& buckets = stats_.handler_latency_log2_us;
  ++buckets[std::min(bucket, buckets.size() - 1)];
}

asio::awaitable<std::pair<error_code, std::string>> consumer_impl::run_handler(
    in_flight_entry& flight, const v1::Envelope& envelope, message_context& ctx) {
  // timeout_loop() cancels a handler past its deadline through the same signal as shutdown,
  // flagging it so that the two can be told apart here.
  std::pair<error_code, std::string> failure;
  try {
    co_await subs_[flight.sub].handler(envelope, ctx);
  } catch (const boost::system::system_error& e) {
    failure = {e.code(), e.what()};
  } catch (const std::exception& e) {
    failure = {errc::handler_failed, e.what()};
  } catch (...) {
    failure = {errc::handler_failed, "unknown exception"};
  }
  if (flight.timed_out && !stopping_) {
    failure = {errc::handler_timeout, "handler did not finish within handler_timeout (" +
                                          std::to_string(config_.handler_timeout.count()) + " ms)"};
    // The cancellation was ours, not a shutdown: the retry path must be able to wait.
    co_await asio::this_coro::reset_cancellation_state();
  }
  co_return failure;
}

asio::awaitable<void> consumer_impl::handle(in_flight_entry& flight, fields entry) {
  const std::size_t sub = flight.sub;
  const std::string& id = flight.id;
  const subscription& s = subs_[sub];
  v1::Envelope envelope;
  if (auto ec = decode_entry(entry, envelope, config_.limits)) {
    co_await dead_letter(sub, id, nullptr, entry, ec, ec.message());
    co_return;
  }
  if (envelope.type() != s.type_name) {
    co_await dead_letter(sub, id, &envelope, entry, errc::decode_failed,
                         "envelope type '" + envelope.type() + "' is not '" + s.type_name + "'");
    co_return;
  }
  std::string message_key;
  if (s.options.once) {
    message_key =
        envelope.idempotency_key().empty() ? envelope.message_id() : envelope.idempotency_key();
    if (co_await already_processed(sub, message_key)) {
      ++stats_.skipped_processed;
      ack(sub, id);
      co_return;
    }
  }
  message_context ctx{s.keys.topic(), id, envelope.attempt(), &envelope};
  const auto started = std::chrono::steady_clock::now();
  if (config_.handler_timeout.count() > 0) {
    ctx.deadline = started + config_.handler_timeout;
    flight.deadline = ctx.deadline;
  }
  auto [failure, failure_text] = co_await run_handler(flight, envelope, ctx);
  record_latency(std::chrono::steady_clock::now() - started);
  const auto cs = co_await asio::this_coro::cancellation_state;
  if (cs.cancelled() != asio::cancellation_type::none) co_return;  // shutdown: stays pending
  if (!failure) {
    if (s.options.once)
      co_await ack_processed(sub, id, message_key);  // on failure: pending, comes back
    else
      ack(sub, id);
    co_return;
  }
  if (is_permanent(failure)) {
    co_await dead_letter(sub, id, &envelope, entry, failure, failure_text);
  } else if (envelope.attempt() + 1 >= config_.retry.max_attempts) {
    co_await dead_letter(sub, id, &envelope, entry, failure,
                         "retries exhausted after " + std::to_string(envelope.attempt() + 1) +
                             " attempts: " + failure_text);
  } else {
    asio::steady_timer delay(co_await asio::this_coro::executor, backoff(envelope.attempt()));
    co_await delay.async_wait(use_tuple);
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    co_await requeue(sub, id, std::move(envelope));
  }
}

asio::awaitable<bool> consumer_impl::already_processed(std::size_t sub,
                                                       const std::string& message_key) {
  resp::request req;
  req.push("ZSCORE", resp::key{subs_[sub].processed_key}, message_key);
  resp::response<std::optional<double>> score;  // RESP3 sends scores as doubles
  // Unknown (connection trouble): run the handler; at-least-once still holds.
  if (!co_await exec_shared(req, score) || !score.get<0>().has_value()) co_return false;
  const auto& handled_at = score.get<0>().value();
  co_return handled_at.has_value() &&
      *handled_at >= static_cast<double>(now_unix_ms() - subs_[sub].options.remember_for.count());
}

asio::awaitable<bool> consumer_impl::ack_processed(std::size_t sub, const std::string& id,
                                                   const std::string& message_key) {
  const auto& s = subs_[sub];
  resp::response<std::int64_t> acked;
  auto build = [&](resp::request& req, bool by_source) {
    detail::ack_processed_script().push(req, by_source, 2, resp::key{s.processed_key},
                                        resp::key{s.keys.stream()}, config_.group, id, message_key,
                                        s.options.remember_for.count());
  };
  if (co_await detail::exec_script(client_, acked, build) || !acked.get<0>().has_value())
    co_return false;
  ++stats_.acked;
  co_return true;
}

asio::awaitable<void> consumer_impl::requeue(std::size_t sub, const std::string& id,
                                             v1::Envelope envelope) {
  // The next attempt is added and the failed delivery acknowledged in one transaction: a
  // crash in between can neither lose the message nor leave two live copies.
  envelope.set_attempt(envelope.attempt() + 1);
  const auto& keys = subs_[sub].keys;
  resp::request req;
  req.push("MULTI");
  req.push("XADD", resp::key{keys.stream()}, "*", encode_entry(envelope));
  req.push("XACK", resp::key{keys.stream()}, config_.group, id);
  req.push("EXEC");
  resp::generic_response replies;
  if (co_await exec_shared(req, replies) && !replies.values().back().is_null() &&
      !replies.values().back().is_error())
    ++stats_.retried;
  // On failure the entry stays pending and is recovered by the claim loop.
}

asio::awaitable<void> consumer_impl::dead_letter(std::size_t sub, const std::string& id,
                                                 const v1::Envelope* envelope, const fields& entry,
                                                 error_code why, const std::string& text) {
  const auto& keys = subs_[sub].keys;
  v1::DeadLetter letter;
  letter.set_original_entry_id(id);
  letter.set_topic(keys.topic());
  letter.set_group(config_.group);
  letter.set_attempts(envelope ? envelope->attempt() + 1 : 1);
  letter.set_last_error(text);
  letter.set_error_code(code_string(why));
  letter.set_consumer(config_.name);
  letter.set_dead_lettered_at_unix_ms(now_unix_ms());
  if (envelope != nullptr) {
    *letter.mutable_envelope() = *envelope;
  } else {
    for (std::size_t i = 0; i + 1 < entry.size(); i += 2) {
      auto* field = letter.add_raw_fields();
      field->set_name(entry[i]);
      field->set_value(entry[i + 1]);
    }
  }
  // Added to the dead-letter stream and acknowledged together, or neither.
  resp::request req;
  req.push("MULTI");
  req.push("XADD", resp::key{keys.dead_letters(config_.group)}, "*", encode_dead_letter(letter));
  req.push("XACK", resp::key{keys.stream()}, config_.group, id);
  req.push("EXEC");
  resp::generic_response replies;
  if (co_await exec_shared(req, replies) && !replies.values().back().is_null() &&
      !replies.values().back().is_error()) {
    ++stats_.dead_lettered;
    report(consumer_event::kind::dead_lettered, keys.topic(), "entry " + id + ": " + text);
  }
}

// ---- recovery ---------------------------------------------------------------------------

asio::awaitable<void> consumer_impl::keepalive_loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    // A cancellation recorded while this loop was busy does not cancel the next wait.
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    timer.expires_after(config_.claim_idle / 3);
    co_await timer.async_wait(use_tuple);
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    for (std::size_t sub = 0; sub < subs_.size(); ++sub) {
      std::vector<std::string> ids;
      for (const auto& w : workers_)
        if (w.busy && w.sub == sub) ids.push_back(w.id);
      for (const auto& q : queue_)  // delivered, pending, waiting for a worker
        if (q.sub == sub) ids.push_back(q.id);
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
                     " in-flight entries were taken over by another consumer");
        }
      } catch (const boost::system::system_error&) {
        // connection trouble: the next round tries again; claim_idle leaves margin
      }
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
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
    // A cancellation recorded while this loop was busy does not cancel the next wait.
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    timer.expires_after(tick);
    co_await timer.async_wait(use_tuple);
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    const auto now = std::chrono::steady_clock::now();
    for (auto& flight : workers_)
      if (flight.busy && !flight.timed_out && flight.deadline <= now) {
        flight.timed_out = true;
        flight.signal.emit(asio::cancellation_type::terminal);
      }
  }
}

asio::awaitable<void> consumer_impl::claim_loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    // A cancellation recorded while this loop was busy does not cancel the next wait.
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    timer.expires_after(config_.claim_interval);
    co_await timer.async_wait(use_tuple);
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    for (std::size_t sub = 0; sub < subs_.size(); ++sub) {
      // Entries an XAUTOCLAIM moved to this consumer are its own: a reply dropped by a
      // cancellation would leave them unhandled until claimed again.
      co_await uncancellable(claim_topic(sub));
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
      if (config_.remove_idle_consumers_after.count() > 0) {
        try {
          co_await remove_idle_consumers(client_, subs_[sub].keys, config_.group,
                                         config_.remove_idle_consumers_after, config_.name);
        } catch (const boost::system::system_error&) {
          // best effort: tried again next round
        }
      }
    }
  }
}

asio::awaitable<void> consumer_impl::claim_topic(std::size_t sub) {
  const std::size_t room = credit();
  if (room == 0) co_return;
  const auto& stream = subs_[sub].keys.stream();
  resp::request req;
  req.push("XAUTOCLAIM", resp::key{stream}, config_.group, config_.name, config_.claim_idle.count(),
           "0-0", "COUNT", room);
  resp::response<resp::value> reply;
  if (!co_await exec_shared(req, reply) || !reply.get<0>().has_value()) co_return;
  const resp::value& claimed = reply.get<0>().value();
  if (claimed.elements.size() < 2) co_return;
  // Since Redis 7, entries whose data was trimmed or deleted are dropped from the PEL and
  // reported here: the only trace of that loss, so it is counted, never ignored.
  if (claimed.elements.size() >= 3 && !claimed.elements[2].elements.empty()) {
    stats_.lost += claimed.elements[2].elements.size();
    std::string ids;
    for (const auto& gone : claimed.elements[2].elements) ids += " " + gone.text;
    report(consumer_event::kind::entries_lost, subs_[sub].keys.topic(),
           "pending entries trimmed or deleted before being handled:" + ids);
  }

  std::vector<std::pair<std::string, fields>> entries;
  for (const auto& e : claimed.elements[1].elements) {
    if (e.elements.size() != 2 || e.elements[1].is_null()) continue;
    fields f;
    for (const auto& x : e.elements[1].elements) f.push_back(x.text);
    entries.emplace_back(e.elements[0].text, std::move(f));
  }
  if (entries.empty()) co_return;
  stats_.claimed += entries.size();

  // Delivery counts (XAUTOCLAIM does not return them): an entry that keeps crashing its
  // consumers is dead-lettered instead of being handled again.
  resp::request counts_req;
  for (const auto& [id, f] : entries)
    counts_req.push("XPENDING", resp::key{stream}, config_.group, id, id, 1);
  resp::generic_response counts;
  const bool have_counts = co_await exec_shared(counts_req, counts);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto& [id, f] = entries[i];
    std::uint64_t deliveries = 0;
    if (have_counts && i < counts.values().size()) {
      const auto& row = counts.values()[i];
      if (!row.elements.empty() && row.elements[0].elements.size() == 4)
        deliveries = std::strtoull(row.elements[0].elements[3].text.c_str(), nullptr, 10);
    }
    if (deliveries > config_.max_deliveries) {
      v1::Envelope envelope;
      const bool decoded = !decode_entry(f, envelope, config_.limits);
      co_await dead_letter(
          sub, id, decoded ? &envelope : nullptr, f, errc::dead_lettered,
          "delivered " + std::to_string(deliveries) + " times without being acknowledged");
      continue;
    }
    dispatch(sub, std::move(id), std::move(f));
  }
}

}  // namespace streamq::streams::detail

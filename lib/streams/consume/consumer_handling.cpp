// consumer_impl: one message. Decode it, check the delivery limits, run the handler, then carry
// out what sansio/delivery.hpp decides: acknowledge, schedule a retry (the entry stays pending
// in the group under its own ID, its due time in the group's retry set), dead-letter, or drop.
#include "consumer_impl.hpp"
#include "sansio/commit_plan.hpp"
#include "sansio/delivery.hpp"
#include "commands/consumer_commands.hpp"
#include "commands/lease_requests.hpp"
#include "commands/send_command.hpp"
#include "support/failure_log.hpp"
#include "support/shown.hpp"

#include <streamq/redis/deadline.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <optional>
#include <span>

namespace streamq::streams::detail {
namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// How long a retry, dead-letter or once-only request may take; what it was for then stays
// pending and comes back. The connection's health check usually fails a dead connection's
// requests sooner.
constexpr std::chrono::milliseconds request_timeout{10'000};

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void consumer_impl::record_latency(std::chrono::steady_clock::duration took) noexcept {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  std::size_t bucket = 0;
  for (auto v = static_cast<std::uint64_t>(us > 0 ? us : 1); v > 1; v >>= 1) ++bucket;
  auto& buckets = stats_.handler_latency_log2_us;
  ++buckets[std::min(bucket, buckets.size() - 1)];
}

void consumer_impl::failed(consumer_event::kind what, std::size_t sub,
                           const command_result& result, const std::string& doing,
                           const message_ref* about) {
  ++stats_.errors;
  std::string detail = doing + " failed: " + result.ec.message();
  if (!result.diagnostic.empty()) detail += " (" + result.diagnostic + ")";
  {
    std::lock_guard lock(error_mutex_);
    last_error_ = result.ec;
    last_error_detail_ = detail;
    last_error_at_ = std::chrono::system_clock::now();
  }
  report(what, sub < subs_.size() ? subs_[sub].keys.topic() : std::string(), std::move(detail),
         result.ec, about);
}

asio::awaitable<outcome> consumer_impl::run_handler(in_flight_entry& flight,
                                                    const v1::Envelope& envelope,
                                                    message_context& ctx) {
  // timeout_loop() cancels a handler past its deadline through the same signal as shutdown,
  // flagging it so that the two can be told apart here.
  std::optional<outcome> result;
  try {
    result.emplace(co_await subs_[flight.sub].handler(envelope, ctx));
  } catch (const boost::system::system_error& e) {
    result.emplace(outcome_of_failure(e.code(), e.what()));
  } catch (const std::exception& e) {
    result.emplace(outcome_of_failure(errc::handler_failed, e.what()));
  } catch (...) {
    result.emplace(outcome_of_failure(errc::handler_failed, "unknown exception"));
  }
  if (flight.timed_out && !stopping_) {
    result.emplace(outcome::retry("handler did not finish within handler_timeout (" +
                                      std::to_string(config_.handler_timeout.count()) + " ms)",
                                  errc::handler_timeout));
    // The cancellation was ours, not a shutdown: what follows must be able to wait.
    co_await asio::this_coro::reset_cancellation_state();
  }
  co_return std::move(*result);
}

asio::awaitable<void> consumer_impl::handle(in_flight_entry& flight, queued_entry& entry) {
  const std::size_t sub = flight.sub;
  const std::string& id = flight.id;
  const subscription& s = subs_[sub];
  v1::Envelope& envelope = flight.envelope;
  // Its spans, and the entry and trace IDs of every log record about it.
  message_trace trace(config_.tracing.get(), s.keys.topic(), config_.group, id);
  if (lease_expired()) {
    // Read or claimed before the partition's lease ran out (the process was paused, say), or
    // before a refused read or claim showed another member holds it; not started: it stays
    // pending, and the partition's holder takes it over.
    ++stats_.ownership_lost;
    const message_ref about = trace.ref();
    report(consumer_event::kind::ownership_lost, s.keys.topic(),
           "entry " + id + " not started: " +
               (lease_taken_ ? "another member holds the partition's lease"
                             : "the partition's lease ran out by this member's clock"),
           errc::ownership_lost, &about);
    co_return;
  }
  if (auto ec = decode_entry(entry.fields, envelope, config_.limits)) {
    trace.received(nullptr, attempt_of(entry.deliveries, 0), entry.received_at);
    entry.fate = dead_letter_fate(
        co_await dead_letter(sub, id, nullptr, entry.fields, attempt_of(entry.deliveries, 0) + 1,
                             ec, ec.message(), trace),
        sub, entry, trace);
    co_return;
  }
  const std::uint32_t attempt = attempt_of(entry.deliveries, envelope.attempt());
  trace.received(&envelope, attempt, entry.received_at);
  const message_ref about = trace.ref();
  if (envelope.type() != s.type_name) {
    entry.fate = dead_letter_fate(
        co_await dead_letter(sub, id, &envelope, entry.fields, attempt + 1, errc::decode_failed,
                             "envelope type '" + envelope.type() + "' is not '" + s.type_name + "'",
                             trace),
        sub, entry, trace);
    co_return;
  }
  // A message that keeps killing its consumers, or whose runs were never recorded, is given
  // up before it runs again.
  if (auto before = before_run(entry.deliveries, attempt, config_.max_deliveries, s.retry);
      before.what == action::dead_letter) {
    entry.fate = dead_letter_fate(
        co_await dead_letter(sub, id, &envelope, entry.fields, attempt, before.code, before.text,
                             trace),
        sub, entry, trace);
    co_return;
  }
  std::string message_key;
  if (s.options.once || s.options.effectively_once) {
    message_key =
        envelope.idempotency_key().empty() ? envelope.message_id() : envelope.idempotency_key();
    if (co_await already_processed(sub, message_key, &about)) {
      ++stats_.skipped_processed;
      ack(sub, id);
      co_return;
    }
  }
  message_context ctx{s.keys.topic(), id, attempt, config_.group, config_.name, entry.deliveries,
                      flight.index, &envelope};
  ctx.trace = trace.start_process();
  std::optional<handler_outputs> outputs;
  if (s.options.effectively_once) {
    outputs.emplace(output_id_prefix(config_.group, message_key), config_.limits);
    outputs->continue_trace(ctx.trace);
    ctx.outputs = &*outputs;
  }
  const auto started = std::chrono::steady_clock::now();
  if (config_.handler_timeout.count() > 0) {
    ctx.deadline = started + config_.handler_timeout;
    flight.deadline = ctx.deadline;
  }
  const outcome result = co_await run_handler(flight, envelope, ctx);
  if (result.what() == outcome::kind::ack || result.what() == outcome::kind::drop)
    trace.end_process(span_status::ok, {});
  else
    trace.end_process(span_status::error, result.reason());
  const auto took = std::chrono::steady_clock::now() - started;
  record_latency(took);
  s.counters->record_latency(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
  const auto cs = co_await asio::this_coro::cancellation_state;
  if (cs.cancelled() != asio::cancellation_type::none) co_return;  // shutdown: stays pending
  const decision next = after_run(result, attempt, s.retry, unit_random());
  switch (next.what) {
    case action::ack:
      if (outputs) {
        commit_step_reached(sub, commit_step::handler_returned, id);
        co_await commit_outputs(sub, id, message_key, *outputs, &about);
      } else if (s.options.once)
        co_await ack_processed(sub, id, message_key, &about);  // on failure: pending, comes back
      else
        ack(sub, id);
      break;
    case action::drop:
      ++stats_.dropped;
      config_.log.log(log_level::debug, "consumer", "dropped", next.text,
                      {{"group", config_.group},
                       {"topic", s.keys.topic()},
                       {"entry_id", id},
                       {"trace_id", about.trace_id}});
      if (outputs) {
        // Given up: none of its outputs are written, but it is recorded like a success, so
        // a copy of it is not run again either.
        outputs->clear();
        co_await commit_outputs(sub, id, message_key, *outputs, &about);
      } else {
        ack(sub, id);
      }
      break;
    case action::retry:
      // The key waits for this entry's retry, unless another consumer took it over.
      entry.fate = co_await schedule_retry(sub, id, next.delay, next.code, next.text, trace)
                       ? key_fate::blocked
                       : key_fate::done;
      break;
    case action::dead_letter:
      entry.fate = dead_letter_fate(
          co_await dead_letter(sub, id, &envelope, entry.fields, attempt + 1, next.code, next.text,
                               trace),
          sub, entry, trace);
      break;
    case action::run:
      break;  // not an outcome after a run
  }
}

asio::awaitable<bool> consumer_impl::schedule_retry(std::size_t sub, const std::string& id,
                                                    std::chrono::milliseconds delay,
                                                    const error_code& why,
                                                    const std::string& text,
                                                    message_trace& trace) {
  const message_ref about = trace.ref();
  trace.settling("retry");
  bool scheduled = false;
  const auto result =
      co_await detail::schedule_retry(client_, group_of(sub), id, delay, scheduled, request_timeout);
  if (result.ec == errc::ownership_lost) {
    trace.settled(span_status::error, "the partition's lease is held by another member");
    lease_lost(sub, "not scheduling the retry of entry " + id, &about);
    co_return false;
  }
  if (!result) {
    trace.settled(span_status::error, result.ec.message());
    failed(consumer_event::kind::retry_failed, sub, result,
           "scheduling the retry of entry " + id + " after " + code_string(why) + " (" + text +
               "); it stays pending and is claimed again after claim_idle",
           &about);
    co_return true;
  }
  if (!scheduled) {
    trace.settled(span_status::error, "taken over by another consumer");
    ++stats_.ownership_lost;
    report(consumer_event::kind::ownership_lost, subs_[sub].keys.topic(),
           "entry " + id + " was taken over by another consumer before its retry was scheduled",
           errc::ownership_lost, &about);
    co_return false;
  }
  trace.settled(span_status::ok, {});
  ++stats_.retried;
  ++subs_[sub].counters->retried;
  // The retry loop sleeps no later than this; if it is asleep past it already, wake it (a
  // timer not being waited on has an expiry in the past: nothing to cancel then).
  const auto due = std::chrono::steady_clock::now() + delay;
  local_retry_due_ = std::min(local_retry_due_, due);
  if (due < retry_wake_.expiry()) retry_wake_.cancel();
  co_return true;
}

asio::awaitable<bool> consumer_impl::already_processed(std::size_t sub,
                                                       const std::string& message_key,
                                                       const message_ref* about) {
  std::optional<double> handled_at;
  const auto result = co_await processed_at(client_, subs_[sub].processed_key, message_key,
                                            handled_at, request_timeout);
  if (!result) {
    // Unknown: run the handler; at-least-once still holds, once-only does not: logged.
    if (config_.log.enabled(log_level::warning))
      config_.log.log(log_level::warning, "consumer", "once_check_failed",
                      "checking whether once-only message " + message_key +
                          " was handled failed: " + result.ec.message() + " (" +
                          result.diagnostic + "); the handler runs",
                      {{"group", config_.group},
                       {"topic", subs_[sub].keys.topic()},
                       {"entry_id", about ? about->entry_id : ""},
                       {"trace_id", about ? about->trace_id : ""}});
    co_return false;
  }
  co_return handled_at.has_value() &&
      *handled_at >= static_cast<double>(now_unix_ms() - subs_[sub].options.remember_for.count());
}

asio::awaitable<bool> consumer_impl::ack_processed(std::size_t sub, const std::string& id,
                                                   const std::string& message_key,
                                                   const message_ref* about) {
  const auto& s = subs_[sub];
  std::uint64_t acked = 0;
  const auto result =
      co_await detail::ack_processed(client_, s.processed_key, s.keys.stream(), config_.group, id,
                                     message_key, s.options.remember_for,
                                     s.fence ? &*s.fence : nullptr, acked, request_timeout);
  if (result.ec == errc::ownership_lost) {
    lease_lost(sub, "not recording and acknowledging once-only entry " + id, about);
    co_return false;
  }
  if (!result) {
    failed(consumer_event::kind::ack_failed, sub, result,
           "recording and acknowledging once-only entry " + id +
               " (it stays pending and comes back)",
           about);
    co_return false;
  }
  ++stats_.acked;
  ++subs_[sub].counters->acked;
  co_return true;
}

asio::awaitable<consumer_impl::letter_result> consumer_impl::dead_letter(std::size_t sub, const std::string& id,
                                                 const v1::Envelope* envelope, const fields& entry,
                                                 std::uint32_t attempts, error_code why,
                                                 const std::string& text, message_trace& trace) {
  const auto& keys = subs_[sub].keys;
  const message_ref about = trace.ref();
  trace.settling("dead_letter");
  v1::DeadLetter letter;
  letter.set_original_entry_id(id);
  letter.set_topic(keys.topic());
  letter.set_group(config_.group);
  letter.set_attempts(attempts);
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
  const auto letter_fields = encode_dead_letter(letter);
  std::string dead_id;
  const auto result = co_await write_dead_letter(client_, group_of(sub), id, letter_fields,
                                                 dead_id, request_timeout);
  if (result.ec == errc::ownership_lost) {
    trace.settled(span_status::error, "the partition's lease is held by another member");
    lease_lost(sub, "not dead-lettering entry " + id, &about);
    co_return letter_result::not_ours;  // its successor answers for it, and for its key
  }
  if (!result) {
    trace.settled(span_status::error, result.ec.message());
    failed(consumer_event::kind::dead_letter_failed, sub, result,
           "dead-lettering entry " + id + " (" + text +
               "); it stays pending and is claimed again after claim_idle",
           &about);
    co_return letter_result::failed;
  }
  if (dead_id.empty()) {
    trace.settled(span_status::error, "taken over by another consumer");
    ++stats_.ownership_lost;
    report(consumer_event::kind::ownership_lost, keys.topic(),
           "entry " + id + " was taken over by another consumer before it was dead-lettered",
           errc::ownership_lost, &about);
    co_return letter_result::not_ours;  // its key is not ours to hold either
  }
  ++stats_.dead_lettered;
  ++subs_[sub].counters->dead_lettered;
  trace.settled(span_status::ok, {});
  report(consumer_event::kind::dead_lettered, keys.topic(),
         "entry " + id + " (dead letter " + dead_id + "): " + text, why, &about);
  co_return letter_result::written;
}

asio::awaitable<bool> consumer_impl::read_gate_closed(const std::vector<std::size_t>& topics) {
  std::vector<std::size_t> fenced;
  std::vector<std::string> gates;
  for (const std::size_t t : topics)
    if (subs_[t].fence) {
      fenced.push_back(t);
      gates.push_back(subs_[t].read_gate);
    }
  std::vector<bool> open;
  command_result result;
  try {
    const auto sent = co_await with_deadline(
        send_commands(
            client_, [&](resp::request& req) { build_read_gates_open(req, gates); },
            [&](std::span<const resp::value> replies) {
              return decode_read_gates_open(replies, gates.size(), open);
            }),
        request_timeout);
    result = sent.transport ? command_result{sent.transport, {}} : sent.reply;
  } catch (const boost::system::system_error& e) {
    result = {e.code(), {}};
  }
  if (!result) {
    // Unknown: the read loop goes on as for any failed read (and the lease's clock still
    // stops this consumer in time).
    failed(consumer_event::kind::read_failed, fenced.front(), result,
           "checking whether the partition's lease was taken after a refused read");
    co_return false;
  }
  bool closed = false;
  for (std::size_t i = 0; i < fenced.size(); ++i)
    if (!open[i]) {
      lease_taken(fenced[i], "reading new entries");
      closed = true;
    }
  co_return closed;
}

void consumer_impl::lease_taken(std::size_t sub, const std::string& what) {
  if (!lease_taken_) lease_lost(sub, what);
  lease_taken_ = true;
}

void consumer_impl::lease_lost(std::size_t sub, const std::string& what,
                               const message_ref* about) {
  ++stats_.ownership_lost;
  report(consumer_event::kind::ownership_lost, subs_[sub].keys.topic(),
         what + ": the partition's lease is held by another member, which answers for it now",
         errc::ownership_lost, about);
}

key_fate consumer_impl::dead_letter_fate(letter_result result, std::size_t sub,
                                         const queued_entry& entry,
                                         const message_trace& trace) {
  // Not written: it stays pending and comes back (claimed after claim_idle); its key waits.
  if (result == letter_result::failed) return key_fate::blocked;
  // Not ours: whoever took it over decides; nothing is released here by a dead letter.
  if (result == letter_result::not_ours) return key_fate::done;
  const auto& s = subs_[sub];
  if (!entry.gated || !s.gate || !s.gate->ordered()) return key_fate::done;
  const message_ref about = trace.ref();
  if (s.options.dead_letter_releases_key) {
    report(consumer_event::kind::key_released, s.keys.topic(),
           "entry " + entry.id + " was dead-lettered; the later messages of its key '" +
               shown(entry.key, 64) + "' run now (dead_letter_releases_key)",
           {}, &about);
    return key_fate::done;
  }
  report(consumer_event::kind::key_held, s.keys.topic(),
         "entry " + entry.id + " was dead-lettered; the later messages of its key '" +
             shown(entry.key, 64) + "' wait until it is requeued and succeeds",
         {}, &about);
  return key_fate::held;
}

}  // namespace streamq::streams::detail

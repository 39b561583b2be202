// consumer_impl: effectively-once processing (subscription_options::effectively_once,
// docs/effectively-once.md). A successful run's outputs are committed with the input's
// record and acknowledgement in one script (commit_outputs-3+.lua) that first checks the
// input is still this consumer's; outputs that cannot be written there (another slot, a
// partitioned topic) wait in the group's outbox, and the relay publishes them with their
// derived idempotency keys, then deletes them. A crash between publishing and deleting
// publishes them again, which their keys make a no-op.
#include "consumer_impl.hpp"
#include "commands/output_commands.hpp"
#include "sansio/commit_plan.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace streamq::streams::detail {
namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// How long a commit or an outbox request may take; a commit whose outcome is then unknown
// leaves its input pending (if it did not run) or acknowledged (if it did): either way
// exactly one set of outputs is written.
constexpr std::chrono::milliseconds request_timeout{10'000};
// Outbox entries read (and published) per pass.
constexpr std::size_t relay_batch = 128;
}  // namespace

const topic_keys& consumer_impl::output_keys(const std::string& topic) {
  auto it = output_keys_.find(topic);
  if (it == output_keys_.end())
    it = output_keys_.emplace(topic, topic_keys(topic, config_.key_prefix)).first;
  return it->second;
}

void consumer_impl::commit_step_reached(std::size_t sub, commit_step step, std::string_view id) {
  const auto& hook = subs_[sub].options.on_commit_step;
  if (!hook) return;
  try {
    hook(step, id);
  } catch (...) {
    // an observer must not break the consumer
  }
}

asio::awaitable<void> consumer_impl::commit_outputs(std::size_t sub, const std::string& id,
                                                    const std::string& message_key,
                                                    const handler_outputs& outputs,
                                                    const message_ref* about) {
  const auto& s = subs_[sub];
  const auto& entries = outputs.entries();
  std::vector<output_target> targets;
  targets.reserve(entries.size());
  for (const auto& o : entries) {
    output_target t{output_keys(o.topic).slot(), 0};
    try {
      t.partitions = co_await relay_router_->partitions_of(o.topic);
    } catch (const boost::system::system_error&) {
      // Unknown: the outbox is right either way (the relay's publish routes it).
      t.partitions = 1;
    }
    targets.push_back(t);
  }
  const commit_plan plan = plan_commit(s.keys.slot(), targets);
  std::vector<std::string> direct_streams, direct_envelopes, outbox_topics, outbox_envelopes;
  for (const std::size_t i : plan.direct) {
    direct_streams.push_back(output_keys(entries[i].topic).stream());
    direct_envelopes.push_back(entries[i].envelope.SerializeAsString());
  }
  for (const std::size_t i : plan.outbox) {
    outbox_topics.push_back(entries[i].topic);
    outbox_envelopes.push_back(entries[i].envelope.SerializeAsString());
  }
  commit_request request;
  request.input = &s.keys;
  request.group = config_.group;
  request.consumer = config_.name;
  request.processed_key = s.processed_key;
  request.outbox_key = s.outbox_key;
  request.fence = s.fence ? &*s.fence : nullptr;
  request.entry_id = id;
  request.message_key = message_key;
  request.remember_for = s.options.remember_for;
  request.direct_streams = direct_streams;
  request.direct_envelopes = direct_envelopes;
  request.outbox_topics = outbox_topics;
  request.outbox_envelopes = outbox_envelopes;
  commit_reply reply;
  const auto result = co_await detail::commit_outputs(client_, request, reply, request_timeout);
  if (result.ec == errc::ownership_lost) {
    lease_lost(sub,
               "not committing entry " + id + " and its " + std::to_string(entries.size()) +
                   " outputs",
               about);
    co_return;
  }
  if (!result) {
    // Not written, or written with its reply lost: pending (it comes back and runs again) or
    // acknowledged; in neither case are outputs written twice.
    failed(consumer_event::kind::ack_failed, sub, result,
           "committing entry " + id + " with its " + std::to_string(entries.size()) +
               " outputs (if it did not land, the entry stays pending and runs again)",
           about);
    co_return;
  }
  if (reply.status == commit_status::not_owned) {
    ++stats_.ownership_lost;
    report(consumer_event::kind::ownership_lost, s.keys.topic(),
           "entry " + id + " was taken over by another consumer before its " +
               std::to_string(entries.size()) + " outputs were committed; its owner commits",
           errc::ownership_lost, about);
    co_return;
  }
  if (reply.status == commit_status::duplicate) {
    // A copy of this message ran at the same time and committed first: its outputs stand.
    ++stats_.skipped_processed;
    co_return;
  }
  ++stats_.acked;
  ++s.counters->acked;
  stats_.outputs_committed += reply.direct + reply.queued;
  commit_step_reached(sub, commit_step::committed, id);
  if (reply.queued > 0) {
    relay_requested_ = true;
    relay_wake_.cancel();
  }
}

asio::awaitable<bool> consumer_impl::relay_outbox(std::size_t sub, bool& more) {
  auto& s = subs_[sub];
  more = false;
  std::vector<outbox_entry> entries;
  const auto read = co_await read_outbox(client_, s.outbox_key, s.outbox_cursor, relay_batch,
                                         entries, request_timeout);
  if (!read) {
    failed(consumer_event::kind::output_relay_failed, sub, read,
           "reading the outbox (its outputs wait there and are published later)");
    co_return false;
  }
  more = entries.size() == relay_batch;
  // Read back what the commit wrote; an entry that does not read back (written by something
  // else) is reported and passed by, not deleted.
  std::vector<std::size_t> usable;
  std::vector<std::string> topics;
  std::vector<v1::Envelope> envelopes;
  std::string skip_past;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto& e = entries[i];
    v1::Envelope envelope;
    bool valid = !e.topic.empty() && envelope.ParseFromString(e.envelope);
    if (valid) {
      try {
        validate_name(name_kind::topic, e.topic);
      } catch (const std::invalid_argument&) {
        valid = false;
      }
    }
    if (!valid) {
      report(consumer_event::kind::output_relay_failed, s.keys.topic(),
             "outbox entry " + e.id + " of group '" + config_.group +
                 "' does not read back as an output (topic and envelope); left in place",
             errc::malformed_entry);
      skip_past = e.id;
      continue;
    }
    usable.push_back(i);
    topics.push_back(std::move(e.topic));
    envelopes.push_back(std::move(envelope));
  }
  std::vector<std::string> published;
  bool ok = true;
  // A topic whose publish failed is passed by for the rest of this pass (its later outputs
  // keep their order behind the failed ones); the other topics' outputs still go out.
  std::vector<std::string_view> failed_topics;
  for (const auto& batch : outbox_batches(topics, relay_batch)) {
    const std::string& topic = topics[batch.front()];
    if (std::find(failed_topics.begin(), failed_topics.end(), topic) != failed_topics.end())
      continue;
    std::vector<v1::Envelope> group;
    group.reserve(batch.size());
    for (const std::size_t i : batch) group.push_back(envelopes[i]);
    try {
      co_await relay_router_->publish_batch(topic, group);
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) throw;  // stopping: published later
      failed(consumer_event::kind::output_relay_failed, sub, command_result{e.code(), e.what()},
             "publishing " + std::to_string(batch.size()) + " outputs to '" + topic +
                 "' (they stay in the outbox and are published again)");
      ok = false;
      failed_topics.push_back(topic);
      continue;
    }
    for (const std::size_t i : batch) {
      published.push_back(entries[usable[i]].id);
      commit_step_reached(sub, commit_step::relayed, entries[usable[i]].input_id);
    }
  }
  if (!published.empty()) {
    std::uint64_t deleted = 0;
    const auto removed =
        co_await delete_outbox(client_, s.outbox_key, published, deleted, request_timeout);
    if (!removed) {
      // Published, not deleted: published again next time, which their keys make a no-op.
      failed(consumer_event::kind::output_relay_failed, sub, removed,
             "deleting " + std::to_string(published.size()) + " published outbox entries");
      ok = false;
    }
    stats_.outputs_relayed += published.size();
  }
  // Past an unreadable entry only once everything before it is published: the cursor must
  // never pass an output that waits.
  if (ok && !skip_past.empty()) s.outbox_cursor = "(" + skip_past;
  co_return ok;
}

asio::awaitable<void> consumer_impl::relay_loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  std::vector<std::size_t> relayed;
  auto poll = std::chrono::milliseconds::max();
  for (std::size_t sub = 0; sub < subs_.size(); ++sub) {
    if (!subs_[sub].options.effectively_once) continue;
    subs_[sub].outbox_cursor = "-";
    relayed.push_back(sub);
    poll = std::min(poll, subs_[sub].options.outbox_poll);
  }
  asio::steady_timer pause(co_await asio::this_coro::executor);
  std::chrono::milliseconds backoff{100};
  relay_requested_ = true;  // leftovers of an earlier run first
  while (cs.cancelled() == asio::cancellation_type::none) {
    if (relayed.empty()) {  // nothing to relay: wait for the end of run()
      pause.expires_at(asio::steady_timer::time_point::max());
      co_await pause.async_wait(use_tuple);
      continue;
    }
    relay_requested_ = false;
    bool ok = true, more = false;
    for (const std::size_t sub : relayed) {
      bool full = false;
      ok = co_await relay_outbox(sub, full) && ok;
      more = more || full;
    }
    if (!ok) {
      pause.expires_after(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    backoff = std::chrono::milliseconds(100);
    if (more || relay_requested_) continue;
    relay_wake_.expires_after(poll);
    co_await relay_wake_.async_wait(use_tuple);  // or woken by a commit
  }
}

asio::awaitable<void> consumer_impl::final_relay(std::chrono::milliseconds limit) {
  std::vector<std::size_t> relayed;
  for (std::size_t sub = 0; sub < subs_.size(); ++sub)
    if (subs_[sub].options.effectively_once) relayed.push_back(sub);
  if (relayed.empty()) co_return;
  const auto give_up_at = std::chrono::steady_clock::now() + limit;
  asio::steady_timer pause(client_.get_executor());
  while (std::chrono::steady_clock::now() < give_up_at) {
    bool left = false;
    for (const std::size_t sub : relayed) {
      bool more = false;
      const bool ok = co_await relay_outbox(sub, more);
      left = left || more || !ok;
    }
    if (!left) break;
    pause.expires_after(std::chrono::milliseconds(100));
    co_await pause.async_wait(use_tuple);
  }
}

}  // namespace streamq::streams::detail

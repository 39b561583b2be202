// consumer_impl: set-up, run() and stop(), the read side (and its ordered stop), workers and
// drain. See consumer_impl.hpp for where the rest is.
#include "consumer_impl.hpp"

#include "commands/consumer_commands.hpp"
#include "commands/lease_requests.hpp"
#include "sansio/delivery.hpp"
#include "sansio/envelope_scan.hpp"
#include "sansio/reading.hpp"

#include <streamq/detail/race.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/streams/server_check.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace streamq::streams::detail {
namespace asio = boost::asio;
using streamq::detail::race;

std::string default_consumer_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string name;
  for (const char* c = host; *c != '\0'; ++c)
    name += (std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' || *c == '.') ? *c : '_';
  if (name.empty()) name = "host";
  std::random_device rd;
  return name + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
}

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// How long past its BLOCK time an XREADGROUP reply may be before the connection is presumed
// half-open (the server answers a timed-out BLOCK at once).
constexpr std::chrono::milliseconds read_reply_margin{5000};

asio::awaitable<void> wait(asio::steady_timer& timer) {
  timer.expires_at(asio::steady_timer::time_point::max());
  co_await timer.async_wait(use_tuple);
}
}  // namespace

consumer_impl::consumer_impl(client& c, consumer_config config)
    : config_(std::move(config)),
      client_(c),
      credit_wake_(c.get_executor()),
      ack_wake_(c.get_executor()),
      drain_wake_(c.get_executor()),
      work_wake_(c.get_executor(), asio::steady_timer::time_point::max()),
      retry_wake_(c.get_executor()),
      relay_wake_(c.get_executor()),
      rng_(std::random_device{}()),
      stop_(c.get_executor()) {
  if (config_.name.empty()) config_.name = default_consumer_name();
  config_.validate();
}

void consumer_impl::set_fence(std::string_view topic, ack_fence fence) {
  for (auto& s : subs_)
    if (s.keys.topic() == topic) {
      s.read_gate = lease_read_gate(fence.lease_key, fence.epoch);
      s.fence = std::move(fence);
    }
}

void consumer_impl::subscribe(std::string_view topic, std::string type_name,
                              const subscription_options& options, consumer::raw_handler handler) {
  if (running_) throw std::logic_error("streamq consumer: subscribe() after run()");
  topic_keys keys(topic, config_.key_prefix);  // validates the name
  for (const auto& s : subs_)
    if (s.keys.topic() == keys.topic())
      throw std::invalid_argument("streamq consumer: topic '" + keys.topic() +
                                  "' is already subscribed");
  std::string processed_key = options.once || options.effectively_once
                                  ? keys.processed(config_.group)
                                  : std::string();
  std::string outbox_key = options.effectively_once ? keys.outbox(config_.group) : std::string();
  std::string retry_key = keys.retries(config_.group);
  std::string dead_key = keys.dead_letters(config_.group);
  subs_.push_back({std::move(keys), std::move(type_name), std::move(handler), options,
                   std::move(processed_key), std::move(outbox_key), "-", std::move(retry_key),
                   std::move(dead_key), "-", options.retry.value_or(config_.retry), 0,
                   std::nullopt, std::string(), nullptr, 0, std::make_unique<topic_counters>()});
  if (options.effectively_once && !relay_publisher_) {
    // Outbox outputs are published as any publisher would, under this deployment's key prefix
    // and limits, with the outputs' derived idempotency keys (default dedup_window: 24 h).
    publisher_config pc;
    pc.limits = config_.limits;
    pc.key_prefix = config_.key_prefix;
    relay_publisher_ = std::make_unique<publisher>(client_, pc);
    relay_router_ = std::make_unique<partitioned_publisher>(*relay_publisher_);
  }
  if (options.per_key_concurrency > 0)
    subs_.back().gate = std::make_unique<key_gate<queued_entry>>(options.per_key_concurrency);
  pending_acks_.emplace_back();
  acks_in_flight_.emplace_back();
}

group_ref consumer_impl::group_of(std::size_t sub) const noexcept {
  const auto& s = subs_[sub];
  return {&s.keys,      &config_.group, &config_.name, &s.retry_key, &s.dead_key,
          s.fence ? &*s.fence : nullptr};
}

bool consumer_impl::lease_expired() const noexcept {
  return lease_taken_ ||
         (lease_deadline_ != nullptr && std::chrono::steady_clock::now() >= *lease_deadline_);
}

std::size_t consumer_impl::credit() const noexcept {
  if (lease_expired()) return 0;  // nothing more is taken: the member stops this consumer
  return stats_.in_flight >= config_.concurrency ? 0 : config_.concurrency - stats_.in_flight;
}

std::size_t consumer_impl::credit(std::size_t sub) const noexcept {
  const auto& s = subs_[sub];
  const std::size_t limit = s.options.concurrency;
  const std::size_t own = limit == 0 ? credit() : (s.in_flight >= limit ? 0 : limit - s.in_flight);
  return std::min(credit(), own);
}

asio::awaitable<void> consumer_impl::ensure_groups() {
  std::vector<command_result> results;
  std::vector<group_status> status;
  const auto sent = co_await create_groups(client_, stream_names_, config_.group,
                                           config_.start_from_beginning, results, status);
  if (!sent)
    throw boost::system::system_error(sent.ec, std::string("creating consumer groups") +
                                                   (sent.diagnostic.empty() ? "" : ": ") +
                                                   sent.diagnostic);
  for (std::size_t i = 0; i < status.size(); ++i) {
    if (status[i] != group_status::refused) continue;  // created, or it existed: fine
    // Out of memory, XGROUP CREATE is refused even for a group that exists. Consuming is
    // what frees memory, so a consumer must be able to start then: check that it exists.
    if (results[i].ec == resp::server_errc::oom && co_await group_exists(stream_names_[i]))
      continue;
    throw boost::system::system_error(results[i].ec, results[i].diagnostic);
  }
}

asio::awaitable<bool> consumer_impl::group_exists(const std::string& stream) {
  std::vector<group_info> groups;
  const auto listed = co_await list_groups(client_, stream, groups);
  co_return listed && find_group(groups, config_.group) != nullptr;
}

asio::awaitable<void> consumer_impl::run() {
  if (subs_.empty()) throw std::logic_error("streamq consumer: run() without subscriptions");
  if (running_.exchange(true)) throw std::logic_error("streamq consumer: run() twice");
  try {
    co_await run_once();
  } catch (...) {
    running_ = false;  // a failed start may be retried
    throw;
  }
  running_ = false;
}

asio::awaitable<void> consumer_impl::start_up() {
  const auto eviction = co_await check_eviction_policy(client_);
  if (!eviction.policy) {
    report(consumer_event::kind::eviction_policy_unknown, "",
           "maxmemory-policy unreadable (CONFIG and INFO denied); make sure it is noeviction");
  } else if (eviction.unsafe()) {
    if (config_.refuse_unsafe_eviction_policy)
      throw boost::system::system_error(errc::unsafe_eviction_policy,
                                        "maxmemory-policy is " + *eviction.policy);
    report(consumer_event::kind::unsafe_eviction_policy, "",
           "maxmemory-policy is " + *eviction.policy + ": queue keys may be evicted");
  }
  co_await ensure_groups();
}

asio::awaitable<void> consumer_impl::run_once() {
  // A consumer may run again after a stop or a failed start: nothing of the last run carries
  // over.
  stopping_ = false;
  stop_reading_ = false;
  lease_taken_ = false;
  fatal_ = nullptr;
  stop_.reset();
  stream_names_.clear();
  for (const auto& sub : subs_) stream_names_.push_back(sub.keys.stream());
  co_await asio::this_coro::throw_if_cancelled(false);
  // Start-up (server checks, groups) races stop(); a cancellation or stop() during it ends
  // run() normally, as it would a moment later: there is nothing to drain yet.
  const auto started = co_await race(start_up(), stop_.wait());
  const auto cs = co_await asio::this_coro::cancellation_state;
  if (cs.cancelled() != asio::cancellation_type::none || stop_.requested()) co_return;
  if (started.failure) std::rethrow_exception(started.failure);
  start_workers();
  // Ends when run() is cancelled, stop() is called or a loop ends (by failing: the loops run
  // until cancelled otherwise); the others are then cancelled and awaited.
  const auto ended = co_await race(read_slots(), claim_loop(), retry_loop(), ack_loop(),
                                   keepalive_loop(), timeout_loop(), relay_loop(), stop_.wait());
  if (ended.failure && !fatal_) fatal_ = ended.failure;
  co_await asio::this_coro::reset_cancellation_state();
  co_await drain();
  if (fatal_) std::rethrow_exception(fatal_);
}

asio::awaitable<void> consumer_impl::uncancellable(asio::awaitable<void> op) {
  co_await asio::co_spawn(
      client_.get_executor(), std::move(op),
      asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable));
}

// ---- reading --------------------------------------------------------------------------

// An XREADGROUP that was sent has, by the time its reply arrives, put its entries in this
// consumer's pending list. Cancelling it (or closing its connection) drops the reply, and those
// entries would wait for a claim although the stop was graceful. So on cancellation the read
// side stops in order: no new read is sent, the one in flight ends by its BLOCK time and its
// entries go to the workers (drain() gives them shutdown_grace), then the connection closes.
// Only a read that overruns its BLOCK time by stop_read_margin is cut off.
// Standalone, one reader on one dedicated connection reads every topic. On a Redis Cluster one
// XREADGROUP may name streams of one hash slot only (CROSSSLOT otherwise, even when the slots
// share a node), so the topics are grouped by slot and each group gets a reader on a
// connection of its own to the master serving that slot (topics sharing a hash tag share a
// reader). A read refused by a cluster fault (the slot moved, the node failed over or is gone)
// stops every reader after its read in flight; the topology is read again and each reader
// goes to its slot's master then. Handler slots are shared: each reader asks for what is free
// when it reads, so with N readers up to N reads' worth of entries may wait for a handler
// (held, their claims refreshed).
asio::awaitable<void> consumer_impl::read_slots() {
  constexpr std::chrono::milliseconds reroute_pause{100};
  const auto cs = co_await asio::this_coro::cancellation_state;
  const auto executor = co_await asio::this_coro::executor;
  std::vector<std::string> place_of(subs_.size());
  for (;;) {
    for (std::size_t t = 0; t < subs_.size(); ++t) {
      const auto slot = resp::hash_slot(subs_[t].keys.stream());
      place_of[t] = client_.node_for_slot(slot).empty() ? std::string() : std::to_string(slot);
    }
    const auto groups = group_topics(place_of);
    reroute_ = false;
    std::vector<std::unique_ptr<redis::connection>> conns;
    for (const auto& topics : groups)
      conns.push_back(client_.make_dedicated_connection_for_slot(
          resp::hash_slot(subs_[topics.front()].keys.stream()), "consumer"));
    if (groups.size() == 1) {
      co_await read_side(*conns.front(), groups.front());
    } else {
      using reader_op = decltype(asio::co_spawn(
          executor, read_side(*conns.front(), groups.front()), asio::deferred));
      std::vector<reader_op> readers;
      for (std::size_t g = 0; g < groups.size(); ++g)
        readers.push_back(asio::co_spawn(executor, read_side(*conns[g], groups[g]), asio::deferred));
      // Cancelling run() reaches every reader through the group; each stops in order.
      auto [order, failures] = co_await asio::experimental::make_parallel_group(std::move(readers))
                                   .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
      (void)order;
      for (const auto& f : failures)
        if (f && !fatal_) fatal_ = f;
    }
    if (!reroute_ || fatal_ || stop_reading_ || cs.cancelled() != asio::cancellation_type::none)
      co_return;
    report(consumer_event::kind::topics_rerouted, "",
           "a read met " + reroute_cause_.message() + "; sending each reader to the master of its slot now",
           reroute_cause_);
    asio::steady_timer pause(executor, reroute_pause);
    co_await pause.async_wait(use_tuple);
    co_await client_.async_refresh_topology(use_tuple);
  }
}

asio::awaitable<void> consumer_impl::read_side(redis::connection& conn,
                                               const std::vector<std::size_t>& topics) {
  constexpr std::chrono::milliseconds stop_read_margin{1000};
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer finished(executor, asio::steady_timer::time_point::max());
  bool done = false;
  asio::cancellation_signal cut_off;
  auto reading = [this, &conn, &topics]() -> asio::awaitable<void> {
    auto run_connection = [&conn]() -> asio::awaitable<void> {
      co_await conn.async_run(use_tuple);
    };
    const auto ended = co_await race(run_connection(), read_loop(conn, topics));
    if (ended.failure && !fatal_) fatal_ = ended.failure;
  };
  // Not a branch of this coroutine's own: run()'s cancellation must not reach it directly.
  // Awaited below on every path, so it never outlives this frame.
  asio::co_spawn(executor, reading(),
                 asio::bind_cancellation_slot(cut_off.slot(), [&](std::exception_ptr) {
                   done = true;
                   finished.cancel();
                 }));
  co_await finished.async_wait(use_tuple);  // reading ended (a failure), or run() is ending
  if (done) co_return;
  stop_reading_ = true;
  credit_wake_.cancel();  // a read loop waiting for a free handler slot
  co_await asio::this_coro::reset_cancellation_state();
  finished.expires_after(config_.block + stop_read_margin);
  co_await finished.async_wait(use_tuple);
  if (!done) cut_off.emit(asio::cancellation_type::terminal);
  while (!done) {
    finished.expires_at(asio::steady_timer::time_point::max());
    co_await finished.async_wait(use_tuple);
  }
}

asio::awaitable<void> consumer_impl::read_loop(redis::connection& conn,
                                               const std::vector<std::size_t>& topics) {
  stream_read_reply reply(stream_names_);  // reused: its entry vector keeps its capacity
  reply.reuse_entries_from(&spare_entries_);
  std::vector<std::string_view> streams;
  std::vector<std::size_t> room;  // per topic: free slots (plan_read)
  resp::request req;
  const auto cs = co_await asio::this_coro::cancellation_state;
  auto stopped = [&] {
    return stop_reading_ || reroute_ || fatal_ || cs.cancelled() != asio::cancellation_type::none;
  };
  // A topology is known when the topics were grouped: a transport failure may mean their node
  // is gone (after_read's `clustered`).
  const bool clustered = !client_.node_for_slot(
                              resp::hash_slot(subs_[topics.front()].keys.stream()))
                              .empty();
  // At start, and after a read whose reply may have been lost: its entries are in this
  // consumer's pending list, unseen. Taking them now beats waiting for claim_idle. Each reader
  // recovers its own topics only, between its own reads: an entry another reader's read has
  // just delivered (its reply not yet dispatched) would otherwise be taken twice.
  bool recover_own = true;
  const bool fenced_reader = std::any_of(topics.begin(), topics.end(),
                                         [&](std::size_t t) { return subs_[t].fence.has_value(); });
  while (!stopped()) {
    if (recover_own) {
      recover_own = false;
      co_await recover_own_pending(topics);
      continue;
    }
    // Flow control: read only what free handler slots can take, over all topics together.
    room.assign(subs_.size(), 0);  // other readers' topics take nothing from this read
    for (const auto sub : topics) room[sub] = may_hold_more(sub) ? credit(sub) : 0;
    const auto plan = plan_read(credit(), config_.max_batch, room, read_rotation_++);
    if (plan.topics.empty()) {
      if (lease_expired()) {
        // No handler will free a slot for this: look again shortly until the member stops us.
        credit_wake_.expires_after(std::chrono::milliseconds(50));
        co_await credit_wake_.async_wait(use_tuple);
      } else {
        co_await wait(credit_wake_);
      }
      continue;
    }
    streams.clear();
    for (auto t : plan.topics) streams.push_back(subs_[t].keys.stream());
    // A partition's read names its lease's read gate too: once another member took the lease,
    // the gate is gone and the read delivers nothing, even one this process wrote just
    // before it was paused (lease_acquire-1.lua).
    for (auto t : plan.topics)
      if (subs_[t].fence) streams.push_back(subs_[t].read_gate);
    req.clear();
    build_read_new(req, config_.group, config_.name, plan.count, config_.block, streams);
    // The blocking connection has no health check (a PING would queue behind the BLOCK): a
    // reply overdue by far means a half-open connection, which is dropped and reconnected.
    auto [ec] = co_await with_deadline(conn.async_exec(req, reply, use_tuple),
                                       config_.block + read_reply_margin);
    // Cut off (see read_side): the reply is gone. A graceful stop still takes what came.
    if (cs.cancelled() != asio::cancellation_type::none) break;
    // A partition's gate gone (NOGROUP, or UNBLOCKED for a read blocked when it went): its
    // lease was taken, which is no data loss nor a moved slot.
    if (fenced_reader && may_have_met_closed_gate(ec, reply.error()) &&
        co_await read_gate_closed(topics))
      continue;
    // Why the session ended matters only when the read failed (last_error() takes a lock).
    const auto next =
        after_read(ec, reply.error(), ec ? conn.last_error() : error_code(), clustered);
    if (next.drop_session) conn.drop_session();
    if (next.recover_own) recover_own = true;
    switch (next.what) {
      case read_next::dispatch:
        for (auto& entry : reply.entries()) {
          if (entry.deleted) continue;  // only history reads return these; `>` never does
          dispatch(entry.stream, std::move(entry.id), std::move(entry.fields), 1);
        }
        continue;
      case read_next::recreate_group:
        // A blocked read is released with UNBLOCKED when its stream is deleted. Reported once
        // per occurrence.
        ++stats_.data_loss_events;
        report(consumer_event::kind::data_loss_detected, "",
               "consumer group '" + config_.group + "' vanished (" + reply.diagnostic() +
                   "); recreated",
               errc::data_loss_detected);
        co_await ensure_groups();
        continue;
      case read_next::stop:
        // Returning, not throwing, lets the other loops be cancelled.
        report(consumer_event::kind::read_failed, "", "XREADGROUP refused: " + reply.diagnostic(),
               next.report);
        fatal_ = std::make_exception_ptr(
            boost::system::system_error(next.report, reply.diagnostic()));
        credit_wake_.cancel();  // other readers stop too
        co_return;
      case read_next::reroute:
        reroute_ = true;
        reroute_cause_ = ec ? ec : error_code(reply.error());
        credit_wake_.cancel();  // readers waiting for a free handler slot stop too
        co_return;
      case read_next::read_again:
        break;
    }
    if (next.report) {
      // A reply of another shape, or bytes that are not RESP: a broken or hostile peer (or a
      // proxy in between). Reading goes on; the entries the read delivered are taken back.
      const std::string what = ec ? std::string() : reply.diagnostic();
      failed(consumer_event::kind::read_failed, subs_.size(), {next.report, what},
             "reading new entries (the entries of the unusable reply are taken back, reading "
             "goes on)");
    }
    if (stop_reading_) break;
    asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
    co_await pause.async_wait(use_tuple);
  }
}

void consumer_impl::dispatch(std::size_t sub, std::string id, fields entry,
                             std::uint64_t deliveries) {
  ++stats_.delivered;
  ++subs_[sub].counters->delivered;
  queued_entry next{sub, std::move(id), std::move(entry), deliveries, {}, false, false,
                    key_fate::done};
  // Its receive span starts here; without a tracer there is no span to time.
  if (config_.tracing) next.received_at = std::chrono::system_clock::now();
  auto& s = subs_[sub];
  if (s.gate) {
    next.key = key_of(next.fields);
    if (!next.key.empty()) {
      next.gated = true;
      const std::string key = next.key;
      const std::string entry_id = next.id;
      auto admitted = s.gate->admit(key, entry_id, std::move(next));
      if (!admitted.item) {
        ++s.held_back;  // waits behind its key; refreshed by the keep-alive like queued ones
        return;
      }
      admitted.item->head = admitted.head;
      enqueue(std::move(*admitted.item));
      return;
    }
  }
  enqueue(std::move(next));
}

void consumer_impl::enqueue(queued_entry entry) {
  ++stats_.in_flight;  // queued or running: credit() counts both
  ++subs_[entry.sub].in_flight;
  ++subs_[entry.sub].counters->in_flight;
  queue_.push_back(std::move(entry));
  work_wake_.cancel_one();
}

std::string consumer_impl::key_of(const fields& entry) {
  // The key must be known before a worker is chosen, and handle() decodes the entry in full
  // afterwards: only the key is read here, without decoding the rest.
  const auto key = scan_entry_partition_key(entry);
  return key ? std::string(*key) : std::string();
}

void consumer_impl::finish_key(const queued_entry& entry) {
  auto& s = subs_[entry.sub];
  // Stopping: what waits stays pending (recovered in order at the next start); drain() drops
  // the gate.
  if (!s.gate || stopping_) return;
  std::vector<queued_entry> ready;
  s.gate->finish(entry.key, entry.id, entry.fate, ready);
  for (auto& next : ready) {
    --s.held_back;
    enqueue(std::move(next));
  }
}

bool consumer_impl::may_hold_more(std::size_t sub) const noexcept {
  const auto& s = subs_[sub];
  return !s.gate || s.held_back < s.options.max_held_back;
}

void consumer_impl::handler_finished(std::size_t sub) {
  --stats_.in_flight;
  --subs_[sub].in_flight;
  --subs_[sub].counters->in_flight;
  credit_wake_.cancel();
  drain_wake_.cancel();
}

void consumer_impl::start_workers() {
  // A fixed set of long-lived workers instead of a coroutine spawned per message: spawning
  // was the largest cost of a message's trip through the consumer.
  for (std::size_t i = 0; i < config_.concurrency; ++i) {
    auto& self = workers_.emplace_back();
    self.index = i;
    ++workers_running_;
    asio::co_spawn(client_.get_executor(), worker(self),
                   asio::bind_cancellation_slot(self.signal.slot(), [this](std::exception_ptr) {
                     --workers_running_;
                     drain_wake_.cancel();
                   }));
  }
}

asio::awaitable<void> consumer_impl::worker(in_flight_entry& self) {
  co_await asio::this_coro::throw_if_cancelled(false);
  // The cancellation state is fetched afresh each time: resetting it replaces it.
  while (true) {
    if (queue_.empty()) {
      if (stopping_) co_return;
      co_await work_wake_.async_wait(use_tuple);  // woken by dispatch() or drain()
      co_await asio::this_coro::reset_cancellation_state();
      continue;
    }
    queued_entry next = std::move(queue_.front());
    queue_.pop_front();
    self.busy = true;
    self.sub = next.sub;
    self.id.swap(next.id);
    self.deadline = std::chrono::steady_clock::time_point::max();
    self.timed_out = false;
    co_await handle(self, next);
    self.busy = false;
    self.id.swap(next.id);
    if (next.gated) finish_key(next);
    // Its buffers go back to the read loop, which refills them rather than allocating anew.
    if (spare_entries_.size() < config_.concurrency + config_.max_batch)
      spare_entries_.push_back(read_entry{0, std::move(next.id), std::move(next.fields), false});
    handler_finished(self.sub);
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
      if (stopping_) co_return;  // cancelled by drain(): the grace period is over
      co_await asio::this_coro::reset_cancellation_state();
    }
  }
}

asio::awaitable<std::vector<topic_status>> consumer_impl::inspect() {
  std::vector<std::string> streams;  // not stream_names_: inspect() may come before run()
  for (const auto& s : subs_) streams.push_back(s.keys.stream());
  std::vector<stream_state> states;
  const auto sent = co_await stream_states(client_, streams, states);
  if (!sent)
    throw boost::system::system_error(
        sent.ec, "inspecting topics" + (sent.diagnostic.empty() ? "" : ": " + sent.diagnostic));
  std::vector<topic_status> out;
  for (std::size_t i = 0; i < subs_.size(); ++i) {
    const auto& state = states[i];
    const auto& topic = subs_[i].keys.topic();
    auto fail = [&](const command_result& r, const char* what) {
      throw boost::system::system_error(r.ec, "inspecting the " + std::string(what) +
                                                  " of topic '" + topic + "': " + r.diagnostic);
    };
    if (!state.length_result) fail(state.length_result, "stream length");
    // XINFO GROUPS refuses (ERR) a stream that does not exist, whose XLEN is 0: before run()
    // created it, or after someone deleted it. Its group has nothing to report then.
    const bool no_stream =
        state.groups_result.ec == resp::server_errc::generic && state.length == 0;
    if (!state.groups_result && !no_stream) fail(state.groups_result, "consumer groups");
    topic_status status;
    status.topic = topic;
    status.length = state.length;
    if (const auto* group = find_group(state.groups, config_.group)) {
      status.pending = group->pending;
      status.consumers = group->consumers;
      status.lag = group->lag;
      status.last_delivered_id = group->last_delivered_id;
    }
    out.push_back(std::move(status));
  }
  co_return out;
}

asio::awaitable<void> consumer_impl::drain() {
  // Stop: running handlers get the grace period, then are cancelled; their entries (and any
  // still queued) stay pending for recovery. Nothing started here outlives run().
  stopping_ = true;
  work_wake_.cancel();  // idle workers end; busy ones end when the queue is empty
  asio::steady_timer grace(client_.get_executor(), config_.shutdown_grace);
  bool grace_over = false;
  auto give_up = [&] {
    for (auto& w : workers_)
      if (w.busy) w.signal.emit(asio::cancellation_type::terminal);
    stats_.in_flight -= queue_.size();  // never started: left pending
    for (const auto& q : queue_) --subs_[q.sub].counters->in_flight;
    for (const auto& q : queue_) --subs_[q.sub].in_flight;
    queue_.clear();
    work_wake_.cancel();
  };
  auto watch = [&]() -> asio::awaitable<void> {
    co_await grace.async_wait(use_tuple);
    grace_over = true;
    give_up();
    drain_wake_.cancel();
  };
  auto wait_idle = [&]() -> asio::awaitable<void> {
    while (workers_running_ > 0) co_await wait(drain_wake_);
  };
  if (workers_running_ > 0) co_await race(wait_idle(), watch());
  // cancelled handlers finish promptly; wait for every worker before touching shared state
  while (workers_running_ > 0) {
    if (!grace_over) give_up();
    co_await wait(drain_wake_);
  }
  workers_.clear();
  for (auto& s : subs_) {
    if (!s.gate) continue;
    s.gate->clear();  // held back, never started: left pending, recovered in order at start
    s.held_back = 0;
  }
  co_await uncancellable(final_flush(config_.shutdown_grace + std::chrono::seconds(5)));
  // What the last handlers committed to an outbox is published now rather than at the next
  // start (bounded: the outbox keeps what is left, and the next consumer publishes it).
  co_await uncancellable(final_relay(config_.shutdown_grace + std::chrono::seconds(5)));
}

}  // namespace streamq::streams::detail

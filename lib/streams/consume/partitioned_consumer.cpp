// partitioned_consumer: the member's heartbeat loop (membership, leases) and one consumer per
// partition it holds. The rules (which partitions, what to do each tick, how long a lease is
// relied on) are sansio/ownership.hpp's; the scripts are commands/lease_requests.hpp's.
#include <streamq/streams/partitioned_consumer.hpp>

#include <streamq/redis/deadline.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/partitions.hpp>

#include "commands/growth_requests.hpp"
#include "commands/lease_requests.hpp"
#include "commands/partition_requests.hpp"
#include "commands/send_command.hpp"
#include "consume/consumer_impl.hpp"  // default_consumer_name
#include "consume/partition_stats.hpp"
#include "sansio/growth.hpp"
#include "sansio/ownership.hpp"
#include "support/run_guard.hpp"
#include "support/stop_request.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

namespace streamq::streams {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

void partitioned_consumer_config::validate() const {
  auto invalid = [](const std::string& field, const std::string& why) {
    throw std::invalid_argument("streamq partitioned_consumer_config." + field + ": " + why);
  };
  consumer.validate();
  if (heartbeat.count() <= 0) invalid("heartbeat", "must be positive");
  if (lease_ttl < 3 * heartbeat) invalid("lease_ttl", "must be at least 3 heartbeats");
  if (lease_margin.count() <= 0 || lease_margin >= lease_ttl - heartbeat)
    invalid("lease_margin", "must be positive and below lease_ttl minus a heartbeat");
}

namespace detail {
namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

// One partition the member holds: its lease and the consumer running it.
struct held_partition {
  held_partition(std::uint32_t p, const asio::any_io_executor& ex)
      : partition(p), ended(ex, asio::steady_timer::time_point::max()) {}
  std::uint32_t partition;
  std::uint64_t epoch = 0;
  std::string lease_key;
  clock::time_point valid_until;  // by the member's clock (lease_valid_until)
  std::unique_ptr<consumer> runner;
  asio::steady_timer ended;  // cancelled when the runner's run() ends
  bool running = false;
  bool retiring = false;  // stopping: released (or dropped, when lost) once it ended
  std::string failure;    // what ended run() by itself
  error_code failure_code;
  // A partition a growth made, held while the group drains its old partition: no runner yet.
  bool waiting = false;
  bool origin_read = false;
  std::optional<growth_origin> origin;  // its old partition and cut; none: nothing to wait for
  std::optional<drain_state> last_wait;  // the last state reported
};

class partitioned_consumer_impl {
 public:
  partitioned_consumer_impl(client& c, partitioned_consumer_config config)
      : client_(c), config_(std::move(config)), stop_(c.get_executor()),
        wake_(c.get_executor()) {
    if (config_.consumer.name.empty()) config_.consumer.name = default_consumer_name();
    config_.validate();
  }

  void set_subscription(std::string_view topic, partitioned_consumer::subscriber s) {
    if (!topic_.empty()) throw std::logic_error("streamq partitioned_consumer: one topic per member");
    const topic_keys keys(topic, config_.consumer.key_prefix);  // validates
    if (!is_valid_name(topic))
      throw std::invalid_argument("streamq partitioned_consumer: '" + std::string(topic) +
                                  "' names a partition, not a partitioned topic");
    topic_ = std::string(topic);
    subscribe_ = std::move(s);
  }

  asio::awaitable<void> run();
  void stop() noexcept { stop_.request(); }
  [[nodiscard]] std::vector<owned_partition> owned() const {
    std::vector<owned_partition> out;
    for (const auto& [p, h] : held_)
      if (!h->retiring) out.push_back({p, h->epoch});
    return out;
  }
  [[nodiscard]] const std::string& name() const noexcept { return config_.consumer.name; }
  [[nodiscard]] consumer_stats stats() const {
    consumer_stats total = finished_;
    for (const auto& [p, h] : held_)
      if (h->runner) add_counts(total, h->runner->stats());
    return total;
  }
  [[nodiscard]] std::vector<topic_consumer_stats> topic_stats() const {
    if (topic_.empty()) return {};
    return {book_.topic_stats(topic_)};
  }
  [[nodiscard]] consumer_health health() const {
    auto h = book_.health();
    const auto& conn = client_.shared_connection();
    h.running = running_;
    h.connection = conn.state();
    h.last_connection_error = conn.last_error();
    return h;
  }
  [[nodiscard]] std::uint32_t partitions_owned() const noexcept { return owned_count_; }
  [[nodiscard]] const partitioned_consumer_config& config() const noexcept { return config_; }
  [[nodiscard]] asio::any_io_executor executor() const { return client_.get_executor(); }

 private:
  asio::awaitable<void> tick();
  asio::awaitable<void> sleep() { co_await wake_.async_wait(use_tuple); }
  // A script call bounded by a heartbeat: a timeout comes back as client_errc::timeout.
  template <class Build, class Decode>
  asio::awaitable<send_result> call(const Build& build, const Decode& decode) {
    try {
      co_return co_await with_deadline(send_script(client_, build, decode), config_.heartbeat);
    } catch (const boost::system::system_error& e) {
      co_return send_result{e.code(), {}};
    }
  }
  // Commands bounded by a heartbeat, as call() does for scripts.
  template <class Build, class Decode>
  asio::awaitable<send_result> query(const Build& build, const Decode& decode) {
    try {
      co_return co_await with_deadline(send_commands(client_, build, decode), config_.heartbeat);
    } catch (const boost::system::system_error& e) {
      co_return send_result{e.code(), {}};
    }
  }
  asio::awaitable<bool> renew(held_partition& h);
  asio::awaitable<void> acquire(std::uint32_t partition);
  // True once `h` may run: it is no partition a growth made, or the group has drained the old
  // partition it takes keys from past that one's cut (sansio/growth.hpp's decide_drain).
  asio::awaitable<bool> may_start(held_partition& h);
  // Starts `h`'s consumer.
  void start(const std::shared_ptr<held_partition>& h);
  // Stops `h`'s consumer; once it ended, releases the lease (`release`) and forgets it.
  void retire(const std::shared_ptr<held_partition>& h, bool release, partition_event::kind why);
  asio::awaitable<void> finish_retire(std::shared_ptr<held_partition> h, bool release,
                                      partition_event::kind why);
  void report(partition_event e);
  [[nodiscard]] std::string lease_key(std::uint32_t partition) const {
    return topic_keys(partition_topic(topic_, partition), config_.consumer.key_prefix)
        .lease(config_.consumer.group);
  }

  client& client_;
  partitioned_consumer_config config_;
  std::string topic_;
  partitioned_consumer::subscriber subscribe_;
  stop_request stop_;
  asio::steady_timer wake_;  // the wait between ticks; cancelled when a partition's runner ends
  std::uint32_t partitions_ = 0;
  std::vector<std::string> members_;  // as the last heartbeat read them
  std::map<std::uint32_t, std::shared_ptr<held_partition>> held_;
  std::size_t retiring_ = 0;  // finish_retire coroutines not yet done
  consumer_stats finished_;   // of the consumers that ended
  std::set<std::uint32_t> started_;  // partitions this member started once: drained for good
  // What topic_stats() and health() read from any thread; the rest above is the executor's.
  partition_stats book_;
  std::atomic<bool> running_{false};
  std::atomic<std::uint32_t> owned_count_{0};  // held_ minus the retiring ones
};

void partitioned_consumer_impl::report(partition_event e) {
  if (e.code) book_.failed(e.code, e.detail);
  const char* event = "consumer_failed";
  switch (e.what) {
    case partition_event::kind::acquired: event = "partition_acquired"; break;
    case partition_event::kind::released: event = "partition_released"; break;
    case partition_event::kind::lost: event = "partition_lost"; break;
    case partition_event::kind::membership_failed: event = "membership_failed"; break;
    case partition_event::kind::lease_failed: event = "lease_failed"; break;
    case partition_event::kind::consumer_failed: event = "partition_consumer_failed"; break;
    case partition_event::kind::waiting_for_drain: event = "partition_waiting_for_drain"; break;
  }
  const bool routine = e.what == partition_event::kind::acquired ||
                       e.what == partition_event::kind::released ||
                       (e.what == partition_event::kind::waiting_for_drain && !e.code);
  const std::string partition = std::to_string(e.partition);
  const std::string epoch = std::to_string(e.epoch);
  const std::string message = e.detail.empty() ? (e.code ? e.code.message() : std::string())
                                               : e.detail;
  config_.consumer.log.log(routine ? log_level::info : log_level::warning, "partitioned_consumer",
                           event, message,
                           {{"topic", e.topic},
                            {"partition", partition},
                            {"epoch", epoch},
                            {"group", config_.consumer.group},
                            {"member", config_.consumer.name}});
  if (config_.on_event) config_.on_event(e);
}

asio::awaitable<void> partitioned_consumer_impl::run() {
  if (topic_.empty()) throw std::logic_error("streamq partitioned_consumer: subscribe before run()");
  co_await asio::this_coro::throw_if_cancelled(false);
  stop_.reset();
  running_ = true;
  const run_guard guard(running_, stop_);
  partitions_ = co_await partition_count(client_, topic_, config_.consumer.key_prefix);
  if (partitions_ == 0)
    throw boost::system::system_error(errc::invalid_argument,
                                      "partitioned_consumer: '" + topic_ + "' has no partitions");
  for (;;) {
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none || stop_.requested()) break;
    co_await tick();
    // Until the next heartbeat, or sooner: a lease whose renewal failed runs out, a
    // partition's consumer ended, or a stop.
    auto next = clock::now() + config_.heartbeat;
    for (const auto& [p, h] : held_)
      if (!h->retiring) next = std::min(next, h->valid_until);
    wake_.expires_at(next);
    co_await streamq::detail::race(sleep(), stop_.wait());
  }
  // Leaving: every partition's consumer drains, its lease is released, then the member leaves
  // the set so the others take its share at once rather than after lease_ttl.
  co_await asio::this_coro::reset_cancellation_state();
  for (auto& [p, h] : std::map(held_))
    if (!h->retiring) retire(h, true, partition_event::kind::released);
  while (retiring_ > 0) {
    wake_.expires_at(asio::steady_timer::time_point::max());
    co_await wake_.async_wait(use_tuple);
  }
  const auto key = topic_keys(topic_, config_.consumer.key_prefix).members(config_.consumer.group);
  std::vector<std::string> others;
  co_await call(
      [&](resp::request& req, bool by_source) {
        build_members_heartbeat(req, by_source, key, name(), config_.lease_ttl, true);
      },
      [&](const resp::value& reply) { return decode_members_heartbeat(reply, others); });
}

asio::awaitable<void> partitioned_consumer_impl::tick() {
  // Partitions whose lease can no longer be relied on stop first, whatever Redis says later.
  const auto now = clock::now();
  for (auto& [p, h] : std::map(held_)) {
    if (h->retiring) continue;
    // Its consumer ended by itself (one waiting for a drain has none yet): give it up, take it
    // again next tick.
    if (!h->running && !h->waiting) {
      if (h->failure_code) book_.failed(h->failure_code, h->failure);
      report({partition_event::kind::consumer_failed, topic_, p, h->epoch, {}, h->failure});
      retire(h, true, partition_event::kind::consumer_failed);
    } else if (now >= h->valid_until) {
      report({partition_event::kind::lost, topic_, p, h->epoch, redis::client_errc::timeout,
              "lease not renewed in time"});
      retire(h, false, partition_event::kind::lost);
    }
  }
  // The count may have grown.
  std::uint32_t count = 0;
  const topic_keys keys(topic_, config_.consumer.key_prefix);
  try {
    const auto sent = co_await with_deadline(
        send_command(
            client_, [&](resp::request& req) { build_partition_count(req, keys); },
            [&](const resp::value& reply) { return decode_partition_count(reply, count); }),
        config_.heartbeat);
    if (sent && count > partitions_) partitions_ = count;
  } catch (const boost::system::system_error&) {
    // Kept: the heartbeat below reports trouble reaching Redis.
  }
  const auto members_key = keys.members(config_.consumer.group);
  std::vector<std::string> members;
  const auto beat = co_await call(
      [&](resp::request& req, bool by_source) {
        build_members_heartbeat(req, by_source, members_key, name(), config_.lease_ttl, false);
      },
      [&](const resp::value& reply) { return decode_members_heartbeat(reply, members); });
  if (beat) {
    members_ = std::move(members);
  } else {
    report({partition_event::kind::membership_failed, topic_, 0, 0, beat.ec(),
            beat.reply.diagnostic});
  }
  const auto assigned = assigned_partitions(members_, name(), partitions_);
  std::vector<std::uint32_t> held;
  for (const auto& [p, h] : held_) held.push_back(p);  // retiring ones too: not taken twice
  const auto plan = plan_ownership(assigned, held);
  // A snapshot: finish_retire() erases from held_ while this tick waits for a reply, so no
  // iterator or at() into held_ may live across a co_await.
  const auto snapshot = held_;
  auto still_held = [&](std::uint32_t p) {
    const auto it = held_.find(p);
    return it != held_.end() ? it->second : nullptr;
  };
  for (const std::uint32_t p : plan.renew)
    if (const auto h = still_held(p); h && !h->retiring) co_await renew(*h);
  for (const auto& [p, h] : snapshot)  // draining ones keep their lease until released
    if (still_held(p) == h && h->retiring && h->running) co_await renew(*h);
  for (const std::uint32_t p : plan.release) {
    const auto h = still_held(p);
    if (!h || h->retiring) continue;
    co_await renew(*h);  // held while it drains
    if (still_held(p) == h && !h->retiring) retire(h, true, partition_event::kind::released);
  }
  // Partitions a growth made, held while the group drains their old partition: checked once
  // per heartbeat each (one pipeline of two bounded commands).
  for (const auto& [p, h] : snapshot) {
    if (still_held(p) != h || !h->waiting || h->retiring) continue;
    const bool go = co_await may_start(*h);
    if (go && still_held(p) == h && !h->retiring) start(h);
  }
  if (beat)
    for (const std::uint32_t p : plan.acquire) co_await acquire(p);
}

asio::awaitable<bool> partitioned_consumer_impl::renew(held_partition& h) {
  const auto sent_at = clock::now();
  lease_state state;
  const auto sent = co_await call(
      [&](resp::request& req, bool by_source) {
        build_lease_acquire(req, by_source, h.lease_key, name(), config_.lease_ttl, h.epoch,
                            config_.consumer.group);
      },
      [&](const resp::value& reply) { return decode_lease_acquire(reply, state); });
  if (!sent) {
    report({partition_event::kind::lease_failed, topic_, h.partition, h.epoch, sent.ec(),
            "renewing: " + sent.reply.diagnostic});
    co_return false;  // valid_until stands: the next tick stops it if no renewal comes
  }
  if (state.epoch == h.epoch) {
    h.valid_until = lease_valid_until(sent_at, config_.lease_ttl, config_.lease_margin);
    co_return true;
  }
  // Another member holds it now (ours ran out): stop at once, release nothing.
  if (!h.retiring) {
    report({partition_event::kind::lost, topic_, h.partition, h.epoch, {},
            "held by " + state.owner});
    retire(held_.at(h.partition), false, partition_event::kind::lost);
  }
  h.valid_until = sent_at;
  co_return false;
}

asio::awaitable<void> partitioned_consumer_impl::acquire(std::uint32_t partition) {
  const auto key = lease_key(partition);
  const auto sent_at = clock::now();
  lease_state state;
  const auto sent = co_await call(
      [&](resp::request& req, bool by_source) {
        build_lease_acquire(req, by_source, key, name(), config_.lease_ttl, 0,
                            config_.consumer.group);
      },
      [&](const resp::value& reply) { return decode_lease_acquire(reply, state); });
  if (!sent) {
    report({partition_event::kind::lease_failed, topic_, partition, 0, sent.ec(),
            "taking: " + sent.reply.diagnostic});
    co_return;
  }
  if (state.epoch == 0) co_return;  // its owner is still draining it: next tick
  auto h = std::make_shared<held_partition>(partition, client_.get_executor());
  h->epoch = state.epoch;
  h->lease_key = key;
  h->valid_until = lease_valid_until(sent_at, config_.lease_ttl, config_.lease_margin);
  h->waiting = true;
  held_[partition] = h;  // renewed from now on, whether it starts now or waits
  ++owned_count_;
  bool go = started_.contains(partition);
  if (!go) go = co_await may_start(*h);
  if (go && held_.contains(partition) && held_.at(partition) == h && !h->retiring) start(h);
}

asio::awaitable<bool> partitioned_consumer_impl::may_start(held_partition& h) {
  const topic_keys keys(topic_, config_.consumer.key_prefix);
  auto wait = [&](const error_code& ec, std::string what) {
    report({partition_event::kind::waiting_for_drain, topic_, h.partition, h.epoch, ec,
            std::move(what)});
  };
  if (!h.origin_read) {
    const auto sent = co_await query(
        [&](resp::request& req) { build_growth_origin(req, keys, h.partition); },
        [&](std::span<const resp::value> replies) -> command_result {
          if (replies.size() != 1) return {errc::malformed_entry, "growth origin: reply count"};
          return decode_growth_origin(replies[0], h.origin);
        });
    if (!sent) {
      wait(sent.ec(), "reading which partition it waits for: " + sent.reply.diagnostic);
      co_return false;
    }
    h.origin_read = true;
  }
  if (!h.origin || nothing_to_drain(h.origin->cut)) co_return true;
  const std::string old_stream =
      topic_keys(partition_topic(topic_, h.origin->partition), config_.consumer.key_prefix)
          .stream();
  drain_observation seen;
  const auto sent = co_await query(
      [&](resp::request& req) {
        build_drain_check(req, old_stream, config_.consumer.group, h.origin->cut);
      },
      [&](std::span<const resp::value> replies) {
        return decode_drain_check(replies, config_.consumer.group, seen);
      });
  if (!sent) {
    wait(sent.ec(), "checking partition " + std::to_string(h.origin->partition) + ": " +
                        sent.reply.diagnostic);
    co_return false;
  }
  const auto now = decide_drain(h.origin->cut, seen.group_exists, seen.last_delivered_id,
                                seen.first_pending);
  if (now == drain_state::drained) co_return true;
  if (h.last_wait != now) {
    h.last_wait = now;
    const char* why = now == drain_state::no_group      ? "the group has not read it yet"
                      : now == drain_state::undelivered ? "entries up to the cut not delivered yet"
                                                        : "entries up to the cut still pending";
    wait({}, "waiting for partition " + std::to_string(h.origin->partition) + " past " +
                 h.origin->cut + ": " + why);
  }
  co_return false;
}

void partitioned_consumer_impl::start(const std::shared_ptr<held_partition>& h) {
  const std::uint32_t partition = h->partition;
  h->waiting = false;
  started_.insert(partition);
  h->runner = std::make_unique<consumer>(client_, config_.consumer);
  const std::string partition_name = partition_topic(topic_, partition);
  subscribe_(*h->runner, partition_name);
  // Its acknowledgements check this lease: once another member holds it, they are refused.
  h->runner->impl_->set_fence(partition_name, ack_fence{h->lease_key, name(), h->epoch});
  // Nothing is read, claimed or started once the lease's time is up by our clock, even before
  // a tick notices (timers do not run while the process is paused).
  h->runner->impl_->watch_lease(&h->valid_until);
  h->running = true;
  book_.started(*h->runner);
  // Run by its completion handler: partitions come and go while run() goes on, and every
  // one is awaited (finish_retire) before run() returns.
  h->runner->async_run([this, h](const error_code& ec) {
    h->running = false;
    if (ec) h->failure = ec.message();
    h->failure_code = ec;
    h->ended.cancel();
    wake_.cancel();
  });
  report({partition_event::kind::acquired, topic_, partition, h->epoch, {}, {}});
}

void partitioned_consumer_impl::retire(const std::shared_ptr<held_partition>& h, bool release,
                                       partition_event::kind why) {
  h->retiring = true;
  --owned_count_;
  if (h->runner) h->runner->stop();  // none while it waited for a drain
  ++retiring_;
  asio::co_spawn(client_.get_executor(), finish_retire(h, release, why), asio::detached);
}

asio::awaitable<void> partitioned_consumer_impl::finish_retire(std::shared_ptr<held_partition> h,
                                                               bool release,
                                                               partition_event::kind why) {
  while (h->running) co_await h->ended.async_wait(use_tuple);
  if (release) {
    bool released = false;
    const auto sent = co_await call(
        [&](resp::request& req, bool by_source) {
          build_lease_release(req, by_source, h->lease_key, name(), h->epoch);
        },
        [&](const resp::value& reply) { return decode_lease_release(reply, released); });
    if (!sent)
      report({partition_event::kind::lease_failed, topic_, h->partition, h->epoch, sent.ec(),
              "releasing (it expires by itself): " + sent.reply.diagnostic});
  }
  if (h->runner) {
    book_.retired(*h->runner);
    add_counts(finished_, h->runner->stats());
    finished_.in_flight -= h->runner->stats().in_flight;
  }
  held_.erase(h->partition);
  if (why == partition_event::kind::released)
    report({partition_event::kind::released, topic_, h->partition, h->epoch, {}, {}});
  --retiring_;
  wake_.cancel();
}

}  // namespace detail

partitioned_consumer::partitioned_consumer(client& c, partitioned_consumer_config config)
    : impl_(std::make_unique<detail::partitioned_consumer_impl>(c, std::move(config))) {}
partitioned_consumer::~partitioned_consumer() = default;

void partitioned_consumer::set_subscription(std::string_view topic, subscriber s) {
  impl_->set_subscription(topic, std::move(s));
}
asio::awaitable<void> partitioned_consumer::run() { return impl_->run(); }
void partitioned_consumer::stop() noexcept { impl_->stop(); }
std::vector<owned_partition> partitioned_consumer::owned() const { return impl_->owned(); }
const std::string& partitioned_consumer::name() const noexcept { return impl_->name(); }
consumer_stats partitioned_consumer::stats() const { return impl_->stats(); }
std::vector<topic_consumer_stats> partitioned_consumer::topic_stats() const {
  return impl_->topic_stats();
}
consumer_health partitioned_consumer::health() const { return impl_->health(); }
std::uint32_t partitioned_consumer::partitions_owned() const noexcept {
  return impl_->partitions_owned();
}
const partitioned_consumer_config& partitioned_consumer::config() const noexcept {
  return impl_->config();
}
asio::any_io_executor partitioned_consumer::executor() const { return impl_->executor(); }

}  // namespace streamq::streams

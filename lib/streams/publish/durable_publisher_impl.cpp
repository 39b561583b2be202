// streams::durable_publisher's queue and run(): publishes are group-committed, one XADDs+WAIT
// round trip per group and node, on run()'s dedicated connections (durable_publisher_impl.hpp).
// A group whose keyed publishes meet a server without their script takes one more round trip
// (exec_script_pipeline: those publishes by source, and a WAIT again).
//
// On a Redis Cluster a WAIT counts the replicas that have the writes made on its own
// connection, so a group is split by the master serving each publish's topic and each part
// goes, with a WAIT of its own, to that master on a connection to it alone. A publish the
// cluster refused before running it (its slot moved, is migrating or unserved; the node is a
// replica now) goes back to the front of the queue with its sequence number, the topology is
// read again, and it is sent where the new topology says.
#include "publish/durable_publisher_impl.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/streams/error.hpp>

#include "commands/publish_requests.hpp"
#include "commands/script.hpp"
#include "publish/publishing.hpp"
#include "sansio/confirming.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>

namespace streamq::streams::detail {
namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t cluster_slots = 16384;  // as redis/cluster/topology.hpp's slot_count

// Refusals by which a cluster says "not here" or "not now": the server checks the slot (and a
// replica refuses writes) before running anything, so the publish did not run and sending it
// again where the topology now points cannot add it twice. Only with a client in cluster mode
// (cluster=on or auto), and READONLY only from a node the topology named as a master (it may
// have become a replica): standalone each stays the error it is.
bool refused_unrun_by_cluster(const error_code& ec, bool routed, bool from_master) {
  if (!routed) return false;
  return ec == resp::server_errc::moved || ec == resp::server_errc::ask ||
         ec == resp::server_errc::tryagain || ec == resp::server_errc::clusterdown ||
         (from_master && ec == resp::server_errc::readonly);
}
}  // namespace

struct durable_pending {
  explicit durable_pending(const asio::any_io_executor& ex)
      : done(ex, asio::steady_timer::time_point::max()) {}
  std::shared_ptr<const topic_keys> keys;
  v1::Envelope envelope;
  bool unnumbered = false;  // gets its sequence number when first sent (in one group only)
  entry_fields fields;      // encoded when first sent
  bool queued = true;       // false while in a round trip (sent, or about to be)
  // Its caller stopped waiting while it was in a round trip: never sent again.
  bool abandoned = false;
  unsigned sends = 0;  // round trips it was taken into (a cluster may refuse it unrun)
  std::chrono::steady_clock::time_point first_sent;
  asio::steady_timer done;  // cancelled when `finished`
  bool finished = false;
  error_code ec;
  std::string id;
  std::string detail;  // the server's words, for what() (a refused WAITAOF)

  void finish(error_code e, std::string entry_id, std::string why = {}) {
    ec = e;
    id = std::move(entry_id);
    detail = std::move(why);
    finished = true;
    done.cancel();
  }
};

struct durable_link {
  durable_link(std::unique_ptr<redis::connection> c, const asio::any_io_executor& ex)
      : conn(std::move(c)), ended(ex, asio::steady_timer::time_point::max()) {}
  std::unique_ptr<redis::connection> conn;
  asio::steady_timer ended;  // cancelled when the connection's run() ends
  bool running = true;
  bool stopping = false;  // stop_link() ended it: no failure
  // Whether its master can confirm fsyncs (WAITAOF), once asked; forgotten when a round trip
  // fails, since the reconnect may reach another server. Only asked for a `fsynced*` config.
  std::optional<bool> fsync_capable;
  std::string fsync_refusal;  // the server's words when it cannot
};

durable_publisher_impl::durable_publisher_impl(client& c, durability_config config)
    : client_(c), config_(std::move(config)), wake_(c.get_executor()) {
  config_.validate();
  if (config_.producer_id.empty()) config_.producer_id = new_producer_id();
}

durable_publisher_impl::~durable_publisher_impl() = default;

asio::awaitable<std::string> durable_publisher_impl::submit(std::string topic,
                                                            v1::Envelope envelope) {
  auto refuse = [&](error_code ec, const std::string& what) {
    ++stats_.failed;
    throw boost::system::system_error(ec, "durable publish: " + what);
  };
  if (!is_valid_topic_name(topic)) refuse(errc::invalid_name, "topic '" + topic + "'");
  std::string what;
  bool unnumbered = false;
  if (auto ec = check_for_publish(envelope, config_.producer_id, config_.limits, what, unnumbered))
    refuse(ec, what);
  if (!running_) refuse(redis::client_errc::shut_down, "durable_publisher::run() is not running");
  // A caller cancelled already would never see the wait below end (the signal came before the
  // wait was there to receive it): nothing is queued for it.
  if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
    ++stats_.cancelled;
    throw boost::system::system_error(asio::error::operation_aborted, "durable publish");
  }
  auto p = std::make_shared<durable_pending>(client_.get_executor());
  p->keys = keys_of(topic);
  p->envelope = std::move(envelope);
  p->unnumbered = unnumbered;
  queue_.push_back(p);
  wake_.cancel();
  // Ends when finish() cancels the timer, or when the caller's cancellation does.
  co_await p->done.async_wait(use_tuple);
  if (!p->finished) {
    ++stats_.cancelled;
    // Queued: never sent, or sent and refused unrun by the cluster (back in the queue).
    if (p->queued) {
      std::erase(queue_, p);
      throw boost::system::system_error(asio::error::operation_aborted, "durable publish");
    }
    p->abandoned = true;
    throw boost::system::system_error(errc::publish_indeterminate,
                                      "durable publish abandoned after it was sent");
  }
  if (p->ec)
    throw boost::system::system_error(
        p->ec, p->detail.empty() ? "durable publish" : "durable publish: " + p->detail);
  co_return std::move(p->id);
}

std::shared_ptr<const topic_keys> durable_publisher_impl::keys_of(const std::string& topic) {
  auto it = keys_.find(topic);
  if (it == keys_.end())
    it = keys_.emplace(topic, std::make_shared<const topic_keys>(topic, config_.key_prefix)).first;
  return it->second;
}

asio::awaitable<void> durable_publisher_impl::run() {
  if (running_) throw std::logic_error("streamq durable_publisher: run() twice");
  running_ = true;
  link_failed_ = false;
  co_await asio::this_coro::throw_if_cancelled(false);
  // Standalone, the one connection is made, and connects, as run() starts.
  if (client_.config().cluster.mode == redis::cluster_mode::off) link_for("", 0);
  std::exception_ptr failure;  // nothing in flush_loop throws but bad_alloc
  try {
    co_await flush_loop();
  } catch (...) {
    failure = std::current_exception();
  }
  running_ = false;
  for (auto& p : queue_) p->finish(redis::client_errc::shut_down, "");
  stats_.failed += queue_.size();
  queue_.clear();
  // Every connection's run() has ended when run() returns, whatever cancelled it.
  co_await asio::this_coro::reset_cancellation_state();
  auto links = std::move(links_);
  links_.clear();
  for (auto& [node, link] : links) co_await stop_link(link);
  if (failure) std::rethrow_exception(failure);
}

std::shared_ptr<durable_link> durable_publisher_impl::link_for(const std::string& node,
                                                               std::uint16_t slot) {
  auto& link = links_[node];
  if (link) return link;
  auto conn = node.empty() ? client_.make_dedicated_connection("durable")
                           : client_.make_dedicated_connection_for_slot(slot, "durable");
  link = std::make_shared<durable_link>(std::move(conn), client_.get_executor());
  // Run by its completion handler rather than a coroutine of its own: links come and go with
  // the topology while run() goes on, and stop_link() awaits `ended` for each. A connection
  // whose run() ends by itself met a fatal error (credentials, TLS): run() ends as it did
  // when its one connection did.
  link->conn->async_run([this, l = link](const error_code&) {
    l->running = false;
    l->ended.cancel();
    if (l->stopping) return;
    link_failed_ = true;
    wake_.cancel();
  });
  return link;
}

asio::awaitable<void> durable_publisher_impl::stop_link(std::shared_ptr<durable_link> link) {
  link->stopping = true;
  link->conn->cancel();
  // cancel() ends the connection's run() promptly; a cancellation of ours must not stop the
  // wait early, or the connection would outlive run().
  while (link->running) co_await link->ended.async_wait(use_tuple);
}

asio::awaitable<void> durable_publisher_impl::flush_loop() {
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto executor = co_await asio::this_coro::executor;
  // cluster=on or auto: each topic goes to the master of its slot once a topology is known.
  const bool routed = client_.config().cluster.mode != redis::cluster_mode::off;
  bool topology_awaited = !routed;
  wake_.expires_at(asio::steady_timer::time_point::max());
  while (true) {
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none || link_failed_) co_return;
    if (queue_.empty()) {
      co_await wake_.async_wait(use_tuple);
      continue;
    }
    if (!topology_awaited) {
      // Before the client knows the topology no master is known for any slot, and the first
      // groups would all go to the first seed, mostly to be refused with MOVED.
      topology_awaited = true;
      if (client_.node_for_slot(resp::hash_slot(queue_.front()->keys->stream())).empty()) {
        co_await client_.async_refresh_topology(use_tuple);
        continue;
      }
    }
    std::vector<std::shared_ptr<durable_pending>> group;
    while (!queue_.empty() && group.size() < config_.max_group) {
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    const auto now = std::chrono::steady_clock::now();
    for (const auto& p : group) {
      p->queued = false;
      if (p->sends++ > 0) continue;  // sent again after a cluster refused it: as it was
      p->first_sent = now;
      // Numbered when first sent, in queue order: a publish that never goes out (cancelled,
      // shut down) leaves no gap in the sequence.
      if (p->unnumbered) p->envelope.set_sequence(next_sequence_++);
      p->fields = encode_checked_entry(p->envelope);
    }
    // One part per node, in group order within each.
    std::vector<part> parts;
    for (std::size_t i = 0; i < group.size(); ++i) {
      std::string node;
      std::uint16_t slot = 0;
      if (routed) {
        slot = resp::hash_slot(group[i]->keys->stream());
        node = client_.node_for_slot(slot);
      }
      auto it =
          std::find_if(parts.begin(), parts.end(), [&](const part& p) { return p.node == node; });
      if (it == parts.end()) {
        auto link = link_for(node, slot);
        parts.push_back(part{std::move(node), std::move(link), {}});
        it = std::prev(parts.end());
      }
      it->calls.push_back(i);
    }
    std::vector<bool> reroute(group.size(), false);
    bool transport_failed = false;
    if (parts.size() == 1) {
      transport_failed = co_await send_part(group, parts.front(), reroute);
    } else {
      // The parts go concurrently: each ends with a WAIT that holds its connection up to
      // config_.timeout, so one after the other the group would wait for the sum of them, and
      // one master slow to replicate would hold up the publishes to every other.
      using part_op = decltype(asio::co_spawn(executor, send_part(group, parts.front(), reroute),
                                              asio::deferred));
      std::vector<part_op> ops;
      ops.reserve(parts.size());
      for (const auto& p : parts)
        ops.push_back(asio::co_spawn(executor, send_part(group, p, reroute), asio::deferred));
      // run()'s cancellation reaches every part through the group.
      auto [order, failures, failed] =
          co_await asio::experimental::make_parallel_group(std::move(ops))
              .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
      (void)order;
      for (const auto& f : failures)
        if (f) std::rethrow_exception(f);
      transport_failed = std::find(failed.begin(), failed.end(), true) != failed.end();
    }
    // Back to the front of the queue, in their order, with their sequence numbers.
    std::vector<std::shared_ptr<durable_pending>> again;
    for (std::size_t i = 0; i < group.size(); ++i)
      if (reroute[i]) {
        group[i]->queued = true;
        again.push_back(group[i]);
      }
    queue_.insert(queue_.begin(), again.begin(), again.end());
    // A node that failed a round trip may be gone: the topology says where its slots went.
    if (!again.empty() || (routed && transport_failed)) co_await follow_topology();
  }
}

asio::awaitable<bool> durable_publisher_impl::send_part(
    const std::vector<std::shared_ptr<durable_pending>>& group, const part& p,
    std::vector<bool>& reroute) {
  co_await asio::this_coro::throw_if_cancelled(false);
  redis::connection& conn = *p.link->conn;
  durable_link& link = *p.link;
  auto step = next_confirm_step(config_.confirm, link.fsync_capable);
  if (step == confirm_step::ask_fsync) {
    if (const error_code ec = co_await ask_fsync(link)) {
      // Nothing of the part was sent: the publishes fail with what ended the question (a
      // connection lost after writing it did not write them).
      const error_code why = ec == redis::client_errc::outcome_unknown
                                 ? error_code(redis::client_errc::not_connected)
                                 : ec;
      stats_.failed += p.calls.size();
      for (const std::size_t i : p.calls) group[i]->finish(why, "");
      co_return true;
    }
    step = next_confirm_step(config_.confirm, link.fsync_capable);
  }
  if (step == confirm_step::refuse) {
    stats_.failed += p.calls.size();
    for (const std::size_t i : p.calls)
      group[i]->finish(errc::fsync_unavailable, "", link.fsync_refusal);
    co_return false;
  }
  const bool fsync = step == confirm_step::waitaof;
  // Each publish one call, then one WAIT (or WAITAOF) for all: in every round trip (a second
  // one sends the keyed publishes the server answered NOSCRIPT, by source).
  script_pipeline pipeline(p.calls.size(), 1);
  auto build = [&](resp::request& req, std::span<const std::size_t> calls, bool by_source) {
    for (const std::size_t k : calls) {
      const durable_pending& d = *group[p.calls[k]];
      if (d.envelope.idempotency_key().empty())
        build_xadd(req, *d.keys, d.fields);
      else
        build_dedup_publish(req, by_source, *d.keys, d.envelope.idempotency_key(),
                            config_.dedup_window, d.fields);
    }
    if (fsync)
      build_waitaof(req, 1, config_.replicas, config_.timeout);
    else
      build_wait(req, config_.replicas, config_.timeout);
  };
  auto send = [&](const resp::request& req,
                  resp::generic_response& replies) -> asio::awaitable<error_code> {
    auto [ec] = co_await with_deadline(conn.async_exec(req, replies, use_tuple),
                                       config_.timeout + config_.request_timeout);
    co_return ec;
  };
  const error_code ec = co_await exec_script_pipeline(pipeline, send, build);
  stats_.round_trips += pipeline.rounds() + (ec ? 1 : 0);
  complete(group, p, pipeline, fsync, ec, reroute);
  if (ec) link.fsync_capable.reset();
  co_return static_cast<bool>(ec);
}

asio::awaitable<error_code> durable_publisher_impl::ask_fsync(durable_link& link) {
  // On a connection that wrote nothing yet WAITAOF 1 0 answers at once: [1, 0] where the
  // master has WAITAOF and an AOF, a refusal where it has not (Redis 7.0: unknown command;
  // appendonly no). The timeout only bounds a server that misbehaves.
  resp::request req;
  build_waitaof(req, 1, 0, config_.timeout);
  command_reply reply;
  auto [ec] = co_await with_deadline(link.conn->async_exec(req, reply, use_tuple),
                                     config_.timeout + config_.request_timeout);
  if (ec) co_return ec;
  aof_confirmation answer;
  const command_result result = decode_waitaof(reply.value(), answer);
  // A malformed answer counts as "cannot": confirmations read from it could not be trusted.
  link.fsync_capable = static_cast<bool>(result);
  link.fsync_refusal = result ? std::string() : "WAITAOF refused: " + result.diagnostic;
  co_return error_code();
}

bool durable_publisher_impl::may_send_again(const durable_pending& d, const error_code& ec,
                                            bool from_master) const {
  const bool routed = client_.config().cluster.mode != redis::cluster_mode::off;
  if (d.abandoned || !refused_unrun_by_cluster(ec, routed, from_master)) return false;
  // The bounds of one round trip, from the first send, and the client's own bound on the
  // sends of one request.
  return d.sends < client_.config().cluster.max_attempts &&
         std::chrono::steady_clock::now() <
             d.first_sent + config_.timeout + config_.request_timeout;
}

void durable_publisher_impl::complete(const std::vector<std::shared_ptr<durable_pending>>& group,
                                      const part& p, const script_pipeline& pipeline, bool fsync,
                                      const error_code& ec, std::vector<bool>& reroute) {
  // Written or maybe written (a timeout may strike after the write): indeterminate.
  const bool maybe_written =
      ec == redis::client_errc::outcome_unknown || ec == redis::client_errc::timeout;
  const error_code unanswered = maybe_written ? error_code(errc::publish_indeterminate) : ec;
  const bool from_master = !p.node.empty();
  for (std::size_t k = 0; k < p.calls.size(); ++k) {
    durable_pending& d = *group[p.calls[k]];
    const std::size_t round = pipeline.answered_in(k);
    if (round == 0) {  // its round trip failed
      ++stats_.failed;
      d.finish(unanswered ? unanswered : error_code(errc::malformed_entry), "");
      continue;
    }
    command_result result;
    dedup_result added;
    if (d.envelope.idempotency_key().empty())
      result = decode_xadd(pipeline.reply(k), added.id);
    else
      result = decode_dedup_publish(pipeline.reply(k), added);
    if (!result) {
      if (may_send_again(d, result.ec, from_master)) {
        reroute[p.calls[k]] = true;
        continue;
      }
      ++stats_.failed;
      d.finish(result.ec, "");
      continue;
    }
    stats_.duplicates += added.duplicate ? 1 : 0;
    // The WAIT (WAITAOF) of the round trip that wrote it: it counts the replicas that have
    // (fsynced) every write before it on this connection, this one included.
    const auto wait = pipeline.trailer(round);
    confirmation_reply answer{.fsync = fsync, .refused = wait.size() != 1};
    command_result waited;
    if (!answer.refused) {
      if (fsync) {
        aof_confirmation aof;
        waited = decode_waitaof(wait.front(), aof);
        answer.local = aof.local;
        answer.replicas = aof.replicas;
      } else {
        waited = decode_wait(wait.front(), answer.replicas);
      }
      answer.refused = static_cast<bool>(waited.ec);
    }
    if (const error_code outcome = confirmation_outcome(answer, config_.replicas)) {
      ++stats_.unconfirmed;
      // The master refused WAITAOF after saying it could: ask again before the next part.
      if (outcome == errc::fsync_unavailable) p.link->fsync_capable.reset();
      d.finish(outcome, std::move(added.id), waited.diagnostic);
    } else {
      ++stats_.confirmed;
      stats_.fsynced += fsync ? 1 : 0;
      d.finish(error_code(), std::move(added.id));
    }
  }
}

asio::awaitable<void> durable_publisher_impl::follow_topology() {
  // Bounded by the client's cluster.retry_deadline; a failed read leaves the old topology,
  // and the publishes sent again meet their limits (may_send_again) in time.
  co_await client_.async_refresh_topology(use_tuple);
  // The masters now, from the slot map ("" among them while a slot has none).
  std::set<std::string> masters;
  std::string previous = "-";
  for (std::uint32_t slot = 0; slot < cluster_slots; ++slot) {
    auto node = client_.node_for_slot(static_cast<std::uint16_t>(slot));
    if (node == previous) continue;
    masters.insert(node);
    previous = std::move(node);
  }
  // The configured server's connection ("") serves publishes whose slot has no known master;
  // in cluster mode, once every slot has one, it has nothing left to do.
  const bool routed = client_.config().cluster.mode != redis::cluster_mode::off;
  std::vector<std::shared_ptr<durable_link>> stale;
  for (auto it = links_.begin(); it != links_.end();) {
    if (!masters.contains(it->first) && (routed || !it->first.empty())) {
      stale.push_back(std::move(it->second));
      it = links_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& link : stale) co_await stop_link(link);
}

}  // namespace streamq::streams::detail

#include "router.hpp"

#include "cluster_commands.hpp"
#include "topology_reply.hpp"

#include <streamq/redis/deadline.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

namespace streamq::redis::cluster {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);
// Waits for the connections' run() at shutdown end after this at most (a connection's cancel
// closes its socket at once: this bounds only a bug).
constexpr std::chrono::seconds shutdown_limit{10};
// Longest wait of the topology loop with nothing scheduled: it re-checks its state this often.
constexpr std::chrono::seconds idle_recheck{60};

asio::awaitable<error_code> run_holding(std::shared_ptr<router> self,
                                        asio::awaitable<error_code> (router::*body)()) {
  co_return co_await ((*self).*body)();
}

}  // namespace

router::router(std::shared_ptr<connection> seed, connection_config config)
    : ex_(seed->get_executor()),
      config_(std::move(config)),
      seed_(std::move(seed)),
      topology_event_(ex_, clock::time_point::max()),
      children_event_(ex_, clock::time_point::max()),
      refresh_timer_(ex_, clock::time_point::max()) {
  limits_.max_attempts = config_.cluster.max_attempts;
  limits_.deadline = config_.cluster.retry_deadline;
  limits_.initial_backoff = config_.cluster.initial_backoff;
  limits_.max_backoff = config_.cluster.max_backoff;
}

void router::start_run(exec_handler handler) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  asio::co_spawn(
      ex_, run_holding(shared_from_this(), &router::run),
      asio::bind_cancellation_slot(
          slot, [h = std::move(handler)](std::exception_ptr failure, error_code ec) mutable {
            if (failure) ec = asio::error::fault;  // run() reports by code: a bug or bad_alloc
            auto ex = asio::get_associated_executor(h);
            asio::dispatch(ex, asio::append(std::move(h), ec));
          }));
}

void router::stop() {
  asio::dispatch(ex_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->stop_on_executor();
  });
}

void router::stop_on_executor() {
  stopping_ = true;
  topology_event_.cancel();
  children_event_.cancel();
  refresh_timer_.cancel();
  seed_->cancel();
}

std::unique_ptr<connection> router::make_dedicated(std::optional<std::uint16_t> slot,
                                                   connection_config config) const {
  if (mode_ == mode::cluster && slot) {
    if (const shard* s = map_.owner(*slot); s != nullptr && s->master.known) {
      config.host = s->master.address.host;
      config.port = s->master.address.port;
    }
  }
  return std::make_unique<connection>(ex_, std::move(config));
}

std::string router::master_of(std::uint16_t slot) const {
  if (mode_ != mode::cluster) return {};
  const shard* s = map_.owner(slot);
  if (s == nullptr || !s->master.known) return {};
  return to_string(s->master.address);
}

std::vector<master_connection> router::masters() const {
  const std::lock_guard lock(masters_mutex_);
  return masters_;
}

void router::start_refresh(exec_handler handler) {
  asio::co_spawn(
      ex_, refresh_now(shared_from_this()),
      [h = std::move(handler)](std::exception_ptr failure, error_code ec) mutable {
        if (failure) ec = asio::error::fault;
        auto ex = asio::get_associated_executor(h);
        asio::dispatch(ex, asio::append(std::move(h), ec));
      });
}

asio::awaitable<error_code> router::refresh_now(std::shared_ptr<router> self) {
  router& r = *self;
  while (r.mode_ == mode::detecting && !r.stopping_) {
    if (!co_await r.wait_topology(r.limits_.deadline))
      co_return client_errc::cluster_unavailable;
  }
  if (r.stopping_ || r.mode_ == mode::stopped) co_return client_errc::shut_down;
  if (r.mode_ != mode::cluster) co_return error_code{};
  r.request_refresh();
  if (!co_await r.wait_topology(r.limits_.deadline)) co_return client_errc::cluster_unavailable;
  co_return error_code{};
}

// ---- owner --------------------------------------------------------------------------------

asio::awaitable<error_code> router::run() {
  co_await asio::this_coro::throw_if_cancelled(false);
  start_child(seed_);
  const error_code ec = co_await serve();
  co_await shut_down();
  co_return fatal_ ? *fatal_ : ec;
}

asio::awaitable<error_code> router::serve() {
  bool cluster = config_.cluster.mode == cluster_mode::on;
  if (!cluster) {
    if (const error_code ec = co_await detect(cluster)) co_return ec;
  }
  if (!cluster) {
    // A standalone server: from now on requests go straight to the seed connection (the
    // client's shared connection), and run() is that connection's run().
    mode_ = mode::standalone;
    direct_.store(true, std::memory_order_release);
    topology_event_.cancel();
    while (!seed_result_) {
      if (stopping_ || co_await caller_cancelled()) co_return client_errc::shut_down;
      co_await with_deadline(children_event_.async_wait(as_tuple_awaitable), idle_recheck);
    }
    co_return *seed_result_;
  }
  mode_ = mode::cluster;
  co_return co_await maintain_topology();
}

asio::awaitable<error_code> router::detect(bool& cluster) {
  resp::request req;
  build_info_cluster(req);
  for (;;) {
    if (stopping_ || co_await caller_cancelled()) co_return client_errc::shut_down;
    if (seed_result_) co_return *seed_result_;
    resp::response<std::string> info;
    const auto [ec] = co_await with_deadline(seed_->async_exec(req, info, as_tuple_awaitable),
                                             config_.connect_timeout);
    if (!ec) {
      // An error reply (an ACL user without +info) counts as standalone: see cluster_mode.
      const auto& r = info.get<0>();
      cluster = r.has_value() && decode_cluster_enabled(r.value()).value_or(false);
      co_return error_code{};
    }
    // Not connected yet (the seed keeps trying) or the answer was lost: ask again.
    if (ec != client_errc::timeout) co_await sleep(limits_.max_backoff);
  }
}

asio::awaitable<error_code> router::maintain_topology() {
  bool ok = false;
  unsigned failures = 0;
  clock::time_point last{};
  const auto interval = config_.cluster.refresh_interval;
  for (;;) {
    if (stopping_ || co_await caller_cancelled()) co_return client_errc::shut_down;
    const auto now = clock::now();
    clock::time_point due = clock::time_point::max();
    if (!ok)
      due = last + backoff_delay(failures, limits_);
    else if (refresh_requested_)
      due = last + config_.cluster.min_refresh_gap;
    else if (interval.count() > 0)
      due = last + interval;
    if (now < due) {
      refresh_timer_.expires_at(std::min(due, now + idle_recheck));
      co_await refresh_timer_.async_wait(as_tuple_awaitable);  // request_refresh() cancels it
      continue;
    }
    refresh_requested_ = false;
    last = now;
    ok = co_await refresh();
    failures = ok ? 0 : failures + 1;
    topology_event_.cancel();  // requests waiting for a route look again
  }
}

asio::awaitable<bool> router::refresh() {
  // The masters we route to know the current topology best; then any node we are connected
  // to; then the seeds, which may need connecting first.
  std::vector<std::shared_ptr<connection>> candidates;
  auto add = [&](const std::shared_ptr<connection>& c) {
    if (std::find(candidates.begin(), candidates.end(), c) == candidates.end())
      candidates.push_back(c);
  };
  for (const auto& s : map_.shards())
    for (const auto& n : nodes_)
      if (s.master.known && n.address == s.master.address &&
          n.conn->state() == connection_state::connected)
        add(n.conn);
  for (const auto& n : nodes_)
    if (n.conn->state() == connection_state::connected) add(n.conn);
  add(seed_);
  for (const auto& seed : config_.cluster.seeds)
    add(connection_for(node_address{seed.host, seed.port}));
  for (const auto& c : candidates) {
    if (stopping_) co_return false;
    if (co_await refresh_from(*c)) co_return true;
  }
  co_return false;
}

asio::awaitable<bool> router::refresh_from(connection& conn) {
  const reply_origin origin{conn.config().host, conn.config().tls.enabled};
  std::vector<shard> shards;
  {
    resp::request req;
    build_cluster_shards(req);
    resp::response<resp::value> reply;
    const auto [ec] = co_await with_deadline(conn.async_exec(req, reply, as_tuple_awaitable),
                                             config_.connect_timeout);
    if (ec) co_return false;
    if (reply.get<0>().has_value()) {
      if (!decode_cluster_shards(reply.get<0>().value(), origin, shards)) co_return false;
    } else {
      // Servers before 7.0 have no CLUSTER SHARDS (an error reply): CLUSTER SLOTS.
      resp::request slots_req;
      build_cluster_slots(slots_req);
      resp::response<resp::value> slots_reply;
      const auto [slots_ec] = co_await with_deadline(
          conn.async_exec(slots_req, slots_reply, as_tuple_awaitable), config_.connect_timeout);
      if (slots_ec || !slots_reply.get<0>().has_value()) co_return false;
      if (!decode_cluster_slots(slots_reply.get<0>().value(), origin, shards)) co_return false;
    }
  }
  if (map_.assign(std::move(shards))) co_return false;
  co_return map_.covered_slots() > 0;
}

asio::awaitable<void> router::shut_down() {
  // A cancelled run() still awaits its children: start from a fresh cancellation state.
  co_await asio::this_coro::reset_cancellation_state();
  mode_ = mode::stopped;
  stopping_ = true;
  topology_event_.cancel();
  refresh_timer_.cancel();
  seed_->cancel();
  for (const auto& n : nodes_) n.conn->cancel();
  const auto limit = clock::now() + shutdown_limit;
  while (live_children_ > 0 && clock::now() < limit)
    co_await with_deadline(children_event_.async_wait(as_tuple_awaitable),
                           limit - clock::now());
}

void router::start_child(const std::shared_ptr<connection>& conn) {
  ++live_children_;
  conn->async_run([self = shared_from_this(), raw = conn.get()](error_code ec) {
    --self->live_children_;
    if (raw == self->seed_.get()) self->seed_result_ = ec;
    // Bad credentials, missing permissions, TLS verification: every node would say the same.
    // run() ends with the error, as a connection's does.
    if (is_fatal(ec) && !self->stopping_ && !self->fatal_) {
      self->fatal_ = ec;
      self->stop_on_executor();
    }
    self->children_event_.cancel();
  });
}

std::shared_ptr<connection> router::connection_for(const node_address& address) {
  for (const auto& n : nodes_)
    if (n.address == address) return n.conn;
  connection_config cfg = config_;
  cfg.host = address.host;
  cfg.port = address.port;
  cfg.cluster.seeds.clear();
  // A request the connection cannot write now fails at once (not_connected) instead of
  // waiting for a node that may never come back: the router routes it again by a fresh
  // topology. (The seed connection keeps the caller's setting: standalone, it is the client.)
  cfg.keep_unwritten_on_disconnect = false;
  auto conn = std::make_shared<connection>(ex_, std::move(cfg));
  nodes_.push_back({address, conn});
  start_child(conn);
  return conn;
}

void router::request_refresh() {
  if (refresh_requested_) return;
  refresh_requested_ = true;
  refresh_timer_.cancel();
}

}  // namespace streamq::redis::cluster

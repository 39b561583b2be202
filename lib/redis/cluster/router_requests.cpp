// The request side of the router (router.hpp): how one request is started, routed, resent
// after redirections and faults by the pure rules of retry_rules.hpp, and completed. The owner
// side (mode detection, topology, connections) is in router.cpp.
#include "router.hpp"

#include "cluster_commands.hpp"
#include "redirect_adapter.hpp"
#include "request_split.hpp"

#include <streamq/redis/deadline.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace streamq::redis::cluster {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// The caller's cancellation, emitted on its own thread, re-emitted on the router's executor.
struct cancel_relay {
  asio::cancellation_signal signal;
  bool done = false;  // on the executor: the request completed, nothing left to cancel
};

}  // namespace

namespace {

// A request on the fast path (router::try_fast_exec): the caller's handler, and the adapter
// that holds back cluster faults, alive until the send completes.
struct fast_exec {
  fast_exec(router::exec_handler h, resp::response_adapter& inner)
      : handler(std::move(h)), wrap(inner) {}
  router::exec_handler handler;
  redirect_adapter wrap;
};

}  // namespace

void router::start_exec(exec_handler handler, const resp::request& req,
                        resp::response_adapter& adapter, bool same_executor) {
  if (same_executor && try_fast_exec(handler, req, adapter)) return;
  start_routed_exec(std::move(handler), req, adapter, same_executor);
}

bool router::try_fast_exec(exec_handler& handler, const resp::request& req,
                           resp::response_adapter& adapter) {
  // On the executor (the caller is), with the slot's master known: one send straight to its
  // connection, no coroutine. A send that meets a fault goes to the routed path, which sends
  // again only when nothing ran, as it would have itself.
  if (mode_ != mode::cluster || stopping_ || req.cross_slot() || req.has_blocking_command())
    return false;
  connection* conn = route(req.slot());
  if (conn == nullptr) return false;
  auto op = std::make_shared<fast_exec>(std::move(handler), adapter);
  op->wrap.prepare(0);
  auto cancel = asio::get_associated_cancellation_slot(op->handler);
  conn->async_exec(
      req, op->wrap,
      asio::bind_cancellation_slot(
          cancel, [self = shared_from_this(), op, &req, &adapter,
                   host = conn->config().host](error_code ec) mutable {
            self->finish_fast_exec(std::move(op->handler), op->wrap, req, adapter, host, ec);
          }));
  return true;
}

void router::finish_fast_exec(exec_handler handler, redirect_adapter& wrap,
                              const resp::request& req, resp::response_adapter& adapter,
                              const std::string& host, error_code ec) {
  auto complete = [this](exec_handler h, error_code e) {
    auto ex = asio::get_associated_executor(h, ex_);
    asio::dispatch(ex, asio::append(std::move(h), e));
  };
  if (!ec && wrap.outcome().faults == 0) return complete(std::move(handler), {});  // common
  if (ec) {
    // Not written (the connection was down): the routed path waits for a topology and sends.
    // Anything else is the caller's, as on the routed path.
    if (ec == client_errc::not_connected && !stopping_)
      return start_routed_exec(std::move(handler), req, adapter, true);
    if (ec == client_errc::outcome_unknown) request_refresh();
    return complete(std::move(handler), ec);
  }
  const retry_state first{1, std::chrono::milliseconds(0)};
  const auto d = decide_retry(wrap.outcome(), is_single_transaction(req), host, first, limits_);
  if (d.update_slot_map) map_.apply_moved(d.redirect.slot, d.redirect.target);
  if (d.refresh_topology) request_refresh();
  if (d.step == retry_step::deliver || stopping_) {
    wrap.deliver();
    return complete(std::move(handler), {});
  }
  // Nothing ran (a redirection or a transient refusal): the routed path starts over, by the
  // slot map just updated.
  start_routed_exec(std::move(handler), req, adapter, true);
}

void router::start_routed_exec(exec_handler handler, const resp::request& req,
                               resp::response_adapter& adapter, bool same_executor) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  auto body = [](std::shared_ptr<router> self, const resp::request& r,
                 resp::response_adapter& a) -> asio::awaitable<error_code> {
    co_return co_await self->exec(r, a);
  };
  if (same_executor || !slot.is_connected()) {
    asio::co_spawn(
        ex_, body(shared_from_this(), req, adapter),
        asio::bind_cancellation_slot(slot, [h = std::move(handler), ex = ex_](
                                               std::exception_ptr failure, error_code ec) mutable {
          if (failure) ec = asio::error::fault;
          auto caller_ex = asio::get_associated_executor(h, ex);
          asio::dispatch(caller_ex, asio::append(std::move(h), ec));
        }));
    return;
  }
  // A caller on another executor cancels from its own thread: relay onto ours.
  auto relay = std::make_shared<cancel_relay>();
  slot.assign([relay, ex = ex_](asio::cancellation_type type) {
    asio::post(ex, [relay, type] {
      if (!relay->done) relay->signal.emit(type);
    });
  });
  asio::co_spawn(
      ex_, body(shared_from_this(), req, adapter),
      asio::bind_cancellation_slot(
          relay->signal.slot(), [h = std::move(handler), ex = ex_, relay, slot](
                                    std::exception_ptr failure, error_code ec) mutable {
            relay->done = true;
            if (failure) ec = asio::error::fault;
            auto caller_ex = asio::get_associated_executor(h, ex);
            asio::dispatch(caller_ex, [h = std::move(h), slot, ec]() mutable {
              slot.clear();  // on the caller's thread, before its handler runs
              std::move(h)(ec);
            });
          }));
}

connection* router::route(std::optional<std::uint16_t> slot) {
  const auto& shards = map_.shards();
  if (routes_version_ != map_.version()) {
    routes_.assign(shards.size(), nullptr);
    std::vector<master_connection> masters;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      if (!shards[i].master.known) continue;
      auto conn = connection_for(shards[i].master.address);
      routes_[i] = conn.get();
      masters.push_back({to_string(shards[i].master.address), std::move(conn)});
    }
    routes_version_ = map_.version();
    const std::lock_guard lock(masters_mutex_);
    masters_ = std::move(masters);
  }
  const shard* s = nullptr;
  if (slot) {
    s = map_.owner(*slot);
  } else {
    // A request without keys: any master serving slots (shards with slots sort first).
    if (!shards.empty() && !shards.front().slots.empty()) s = &shards.front();
  }
  if (s == nullptr) return nullptr;
  return routes_[static_cast<std::size_t>(s - shards.data())];
}

// ---- requests -----------------------------------------------------------------------------

asio::awaitable<bool> router::caller_cancelled() const {
  co_return (co_await asio::this_coro::cancellation_state).cancelled() !=
      asio::cancellation_type::none;
}

asio::awaitable<bool> router::wait_topology(clock::duration limit) {
  const auto [ec] =
      co_await with_deadline(topology_event_.async_wait(as_tuple_awaitable), limit);
  co_return ec != client_errc::timeout;
}

asio::awaitable<bool> router::sleep(clock::duration d) {
  asio::steady_timer timer(ex_, d);
  const auto [ec] = co_await timer.async_wait(as_tuple_awaitable);
  co_return !ec;
}

asio::awaitable<error_code> router::exec(const resp::request& req,
                                         resp::response_adapter& adapter) {
  co_await asio::this_coro::throw_if_cancelled(false);
  // Every cancellation type reaches the connection, which decides by what was written.
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  const auto start = clock::now();
  const auto deadline = start + limits_.deadline;
  while (mode_ == mode::detecting) {
    if (stopping_) co_return client_errc::shut_down;
    if (co_await caller_cancelled()) co_return asio::error::operation_aborted;
    const auto now = clock::now();
    if (now >= deadline) co_return client_errc::cluster_unavailable;
    co_await wait_topology(deadline - now);
  }
  if (mode_ == mode::stopped || stopping_) co_return client_errc::shut_down;
  if (mode_ == mode::standalone) {
    const auto [ec] = co_await seed_->async_exec(req, adapter, as_tuple_awaitable);
    co_return ec;
  }
  co_return co_await exec_routed(req, adapter);
}

asio::awaitable<error_code> router::exec_routed(const resp::request& req,
                                                resp::response_adapter& adapter) {
  if (req.has_blocking_command()) co_return client_errc::blocking_command_on_shared_connection;
  if (req.cross_slot()) {
    // Independent commands of several slots are split; anything else Redis would answer with
    // CROSSSLOT, so it is refused here and nothing is sent.
    if (!splittable(req)) co_return client_errc::cross_slot;
    co_return co_await exec_split(req, adapter);
  }
  const auto start = clock::now();
  redirect_adapter wrap(adapter);
  resp::request asking;
  std::optional<node_address> redirected_to;  // this send only: MOVED or ASK target
  bool use_asking = false;
  retry_state state;
  state.attempts = 0;
  for (;;) {
    if (mode_ == mode::stopped || stopping_) co_return client_errc::shut_down;
    if (co_await caller_cancelled()) co_return asio::error::operation_aborted;
    std::shared_ptr<connection> target;
    connection* conn = nullptr;
    if (redirected_to) {
      target = connection_for(*redirected_to);
      conn = target.get();
    } else {
      conn = route(req.slot());
    }
    if (conn == nullptr) {
      // No master serves the slot (yet): read the topology and wait for it, within the
      // deadline.
      request_refresh();
      const auto now = clock::now();
      if (now - start >= limits_.deadline) co_return client_errc::cluster_unavailable;
      co_await wait_topology(limits_.deadline - (now - start));
      continue;
    }
    wrap.prepare(use_asking ? 1 : 0);
    const auto [ec] = co_await conn->async_exec(use_asking ? asking : req, wrap,
                                                as_tuple_awaitable);
    ++state.attempts;
    if (!ec && wrap.outcome().faults == 0) co_return error_code{};  // the common case

    state.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    redirected_to.reset();
    use_asking = false;
    if (ec) {
      const auto failure = ec == client_errc::not_connected     ? send_failure::not_sent
                           : ec == client_errc::outcome_unknown ? send_failure::outcome_unknown
                                                                : send_failure::other;
      const auto d = decide_after_failure(failure, state, limits_);
      if (d.refresh_topology) request_refresh();
      if (d.step != retry_step::backoff) co_return ec;
      if (!co_await sleep(d.delay)) co_return asio::error::operation_aborted;
      continue;
    }
    const auto& outcome = wrap.outcome();
    const auto d = decide_retry(outcome, is_single_transaction(req), conn->config().host,
                                state, limits_);
    if (d.update_slot_map) map_.apply_moved(d.redirect.slot, d.redirect.target);
    if (d.refresh_topology) request_refresh();
    switch (d.step) {
      case retry_step::deliver:
        wrap.deliver();
        co_return error_code{};
      case retry_step::resend:
        redirected_to = d.redirect.target;
        break;
      case retry_step::resend_asking:
        if (!prefix_asking(req, asking)) {
          wrap.deliver();
          co_return error_code{};
        }
        redirected_to = d.redirect.target;
        use_asking = true;
        break;
      case retry_step::backoff:
        if (!co_await sleep(d.delay)) co_return asio::error::operation_aborted;
        break;
    }
  }
}

asio::awaitable<error_code> router::exec_split(const resp::request& req,
                                               resp::response_adapter& adapter) {
  if (adapter.expected_replies() != resp::response_adapter::any_count &&
      adapter.expected_replies() != req.reply_count())
    co_return client_errc::response_size_mismatch;
  const auto parts = split_by_slot(req);
  std::vector<reply_recorder> recorded(parts.size());
  auto part = [](std::shared_ptr<router> self, const resp::request& r,
                 resp::response_adapter& a) -> asio::awaitable<error_code> {
    co_await asio::this_coro::throw_if_cancelled(false);
    // As exec(): every cancellation type reaches the part's connection.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_return co_await self->exec_routed(r, a);
  };
  using part_op = decltype(asio::co_spawn(
      ex_, part(shared_from_this(), parts.front().req, recorded.front()), asio::deferred));
  std::vector<part_op> ops;
  ops.reserve(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i)
    ops.push_back(
        asio::co_spawn(ex_, part(shared_from_this(), parts[i].req, recorded[i]), asio::deferred));
  // The caller's cancellation reaches every part (the group forwards it); each decides by
  // what it wrote, as a whole request would.
  auto [order, failures, results] =
      co_await asio::experimental::make_parallel_group(std::move(ops))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  (void)order;
  error_code first;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const error_code ec = failures[i] ? error_code(asio::error::fault) : results[i];
    // A part that may have run makes the whole request's outcome unknown.
    if (ec == client_errc::outcome_unknown) co_return ec;
    if (ec && !first) first = ec;
  }
  if (first) co_return first;
  merge_replies(parts, recorded, adapter);
  co_return error_code{};
}

}  // namespace streamq::redis::cluster

#include "endpoint_impl.hpp"

#include "session.hpp"

#include <streamq/run_until.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <utility>

namespace streamq::http::detail {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
// After a failed accept (out of file descriptors, mostly) the next one would fail the same
// way at once: wait this long so the loop does not spin.
constexpr std::chrono::milliseconds accept_retry_pause{100};

tcp::acceptor open_acceptor(const asio::any_io_executor& executor, const endpoint_config& config) {
  const tcp::endpoint where(asio::ip::make_address(config.address), config.port);
  tcp::acceptor acceptor(executor);
  acceptor.open(where.protocol());
  // Lets a restarted process bind while the previous one's connections are in TIME_WAIT; on
  // Linux it does not allow two listeners on one port.
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(where);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

bool cancelled(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}

}  // namespace

endpoint_impl::endpoint_impl(asio::any_io_executor executor, endpoint_config config)
    : executor_(executor),
      svc_{std::move(config), {}, {}, {}, false},
      acceptor_(open_acceptor(executor_, svc_.config)),
      bound_(acceptor_.local_endpoint()),
      stop_(executor_),
      drained_(executor_) {}

void endpoint_impl::add_route(std::string path, bool prefix, handler h, method_list methods) {
  if (ran_) throw std::logic_error("streamq http::endpoint: routes are added before run()");
  if (!h) throw std::invalid_argument("streamq endpoint route '" + path + "': empty handler");
  svc_.routes.add(std::move(path), prefix, std::move(methods));
  svc_.handlers.push_back(std::move(h));
}

endpoint_stats endpoint_impl::stats() const noexcept {
  const auto& c = svc_.counters;
  constexpr auto relaxed = std::memory_order_relaxed;
  return endpoint_stats{c.connections_accepted.load(relaxed), c.connections_refused.load(relaxed),
                        c.requests_served.load(relaxed),      c.responses_4xx.load(relaxed),
                        c.responses_5xx.load(relaxed),        c.timeouts.load(relaxed),
                        c.open_connections.load(relaxed)};
}

asio::awaitable<void> endpoint_impl::run() {
  if (ran_.exchange(true))
    throw boost::system::system_error(asio::error::already_started, "streamq http::endpoint::run");
  // Once stopping, the steps below must each run to the end: a cancellation of run() (or a
  // second one) must not throw out of them and leave connections behind.
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto cs = co_await asio::this_coro::cancellation_state;
  if (!stop_.requested() && !cancelled(cs)) co_await run_until(accept_loop(), stop_.wait());

  boost::system::error_code ignored;
  acceptor_.close(ignored);
  svc_.stopping = true;
  for (auto& t : tasks_)
    if (!t.finished) t.signal.emit(asio::cancellation_type::terminal);
  // Each connection ends promptly: its pending operation was cancelled and it checks
  // `stopping` before starting another. A handler that ignores cancellation is awaited.
  while (!tasks_.empty()) {
    drained_.expires_at(asio::steady_timer::time_point::max());
    co_await drained_.async_wait(tuple_awaitable);
  }
}

asio::awaitable<void> endpoint_impl::accept_loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer pause(executor_);
  const auto& config = svc_.config;
  while (!cancelled(cs)) {
    auto [ec, socket] = co_await acceptor_.async_accept(tuple_awaitable);
    if (cancelled(cs) || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      config.log.log(log_level::warning, "http", "accept_failed", ec.message(),
                     {{"address", config.address}});
      pause.expires_after(accept_retry_pause);
      co_await pause.async_wait(tuple_awaitable);
      continue;
    }
    if (connections_ < config.max_connections) {
      svc_.counters.connections_accepted.fetch_add(1, std::memory_order_relaxed);
      spawn(serve_connection(std::move(socket), std::chrono::steady_clock::now(), svc_), false);
      continue;
    }
    svc_.counters.connections_refused.fetch_add(1, std::memory_order_relaxed);
    if (refusals_ < config.max_connections) {
      spawn(refuse_connection(std::move(socket), svc_), true);
    } else {
      // A flood: answering costs a coroutine per connection, closing costs nothing.
      svc_.log_problem("connection_refused", "over max_connections, closed unanswered", "", 0);
      socket.close(ec);
    }
  }
}

void endpoint_impl::spawn(asio::awaitable<void> work, bool refusal) {
  const auto it = tasks_.emplace(tasks_.end());
  it->refusal = refusal;
  if (refusal) {
    ++refusals_;
  } else {
    ++connections_;
    svc_.counters.open_connections.fetch_add(1, std::memory_order_relaxed);
  }
  asio::co_spawn(executor_, std::move(work),
                 asio::bind_cancellation_slot(it->signal.slot(), [this, it](std::exception_ptr e) {
                   it->finished = true;
                   if (e) {
                     // Only a resource failure gets here (bad_alloc): the connection code
                     // handles everything a client can do.
                     std::string what = "unknown exception";
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       what = x.what();
                     } catch (...) {
                     }
                     svc_.config.log.log(log_level::error, "http", "connection_failed", what);
                   }
                   // Erased after the coroutine's frame (which uses the signal's slot) is gone.
                   asio::post(executor_, [this, it] { finish(it); });
                 }));
}

void endpoint_impl::finish(std::list<task>::iterator it) noexcept {
  if (it->refusal) {
    --refusals_;
  } else {
    --connections_;
    svc_.counters.open_connections.fetch_sub(1, std::memory_order_relaxed);
  }
  tasks_.erase(it);
  if (tasks_.empty()) drained_.cancel();
}

}  // namespace streamq::http::detail

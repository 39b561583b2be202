#include <streamq/redis/connection.hpp>

#include "connection_impl.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>

namespace streamq::redis {
namespace asio = boost::asio;

namespace {

// run() holds the state it runs on: a connection destroyed before run() ends leaves it alive
// until the cancellation the destructor sends has been seen.
asio::awaitable<error_code> run_holding(std::shared_ptr<detail::connection_impl> impl) {
  co_return co_await impl->run();
}

// Work posted from another thread holds only a weak reference: once the connection is gone and
// run() has ended there is nothing left to cancel or drop.
template <class F>
void dispatch_if_alive(const std::shared_ptr<detail::connection_impl>& impl, F f) {
  asio::dispatch(impl->executor(), [weak = std::weak_ptr(impl), f = std::move(f)] {
    if (auto alive = weak.lock()) f(*alive);
  });
}

}  // namespace

connection::connection(executor_type ex, connection_config config)
    : impl_(std::make_shared<detail::connection_impl>(std::move(ex), std::move(config))) {}

connection::~connection() {
  const std::weak_ptr<detail::connection_impl> weak = impl_;
  const auto ex = impl_->executor();
  impl_.reset();
  // Still alive: run() (or posted work) holds it. Stop run(), which then lets it go.
  if (!weak.expired()) {
    asio::dispatch(ex, [weak] {
      if (auto alive = weak.lock()) alive->cancel();
    });
  }
}

connection::executor_type connection::get_executor() const noexcept {
  return impl_->executor();
}
const connection_config& connection::config() const noexcept {
  return impl_->config();
}
connection_state connection::state() const noexcept {
  return impl_->state();
}
connection_stats connection::stats() const noexcept {
  return impl_->stats();
}
server_info connection::server() const {
  return impl_->server();
}

error_code connection::last_error() const noexcept {
  return impl_->last_error();
}

void connection::cancel() {
  dispatch_if_alive(impl_, [](detail::connection_impl& impl) { impl.cancel(); });
}

void connection::drop_session() {
  dispatch_if_alive(impl_, [](detail::connection_impl& impl) { impl.drop_session(); });
}

void connection::set_push_handler(std::function<void(const resp::value&)> handler) {
  impl_->set_push_handler(std::move(handler));
}

void connection::initiate_run(exec_handler handler) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  asio::co_spawn(
      impl_->executor(), run_holding(impl_),
      asio::bind_cancellation_slot(
          slot, [h = std::move(handler)](std::exception_ptr failure, error_code ec) mutable {
            // run() reports by error code; an exception here means a bug or bad_alloc.
            if (failure) ec = asio::error::fault;
            auto ex = asio::get_associated_executor(h);
            asio::dispatch(ex, asio::append(std::move(h), ec));
          }));
}

void connection::initiate_exec(exec_handler handler, const resp::request& req,
                               resp::response_adapter& adapter, bool same_executor) {
  // A caller on another executor emits its cancellation on its own thread: relay it, set up
  // here on that thread, before the request leaves it.
  std::shared_ptr<detail::cancel_relay> relay;
  if (!same_executor) relay = impl_->relay_cancellation(handler);
  // Already on the connection's executor: start at once, no dispatch through the type-erased
  // executor. From elsewhere (another thread, another strand): dispatch onto the executor,
  // holding the state so that a request that arrives after run() ended is still refused.
  if (impl_->running_in_this_thread()) {
    impl_->start_exec(std::move(handler), req, adapter, false, same_executor, std::move(relay));
    return;
  }
  asio::dispatch(impl_->executor(), [impl = impl_, h = std::move(handler), &req, &adapter,
                                     same_executor, relay = std::move(relay)]() mutable {
    impl->start_exec(std::move(h), req, adapter, false, same_executor, std::move(relay));
  });
}

}  // namespace streamq::redis

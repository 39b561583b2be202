#include <streamq/redis/connection.hpp>

#include "connection_impl.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>

namespace streamq::redis {
namespace asio = boost::asio;

connection::connection(executor_type ex, connection_config config)
    : impl_(std::make_unique<detail::connection_impl>(std::move(ex), std::move(config))) {}

connection::~connection() = default;

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
error_code connection::last_error() const noexcept {
  return impl_->last_error();
}

void connection::cancel() {
  asio::dispatch(impl_->executor(), [impl = impl_.get()] { impl->cancel(); });
}

void connection::drop_session() {
  asio::dispatch(impl_->executor(), [impl = impl_.get()] { impl->drop_session(); });
}

void connection::set_push_handler(std::function<void(const resp::value&)> handler) {
  impl_->set_push_handler(std::move(handler));
}

void connection::initiate_run(exec_handler handler) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  asio::co_spawn(
      impl_->executor(), impl_->run(),
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
  // Already on the connection's thread: start at once, no dispatch through the type-erased
  // executor. From elsewhere (another thread, a strand): dispatch onto the executor.
  if (impl_->running_in_this_thread()) {
    impl_->start_exec(std::move(handler), req, adapter, false, same_executor);
    return;
  }
  asio::dispatch(impl_->executor(), [impl = impl_.get(), h = std::move(handler), &req, &adapter,
                                     same_executor]() mutable {
    impl->start_exec(std::move(h), req, adapter, false, same_executor);
  });
}

}  // namespace streamq::redis

#include "support/stop_request.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>

namespace streamq::streams::detail {
namespace asio = boost::asio;

struct stop_request::state {
  explicit state(asio::any_io_executor ex) : executor(ex), wake(ex) {}
  asio::any_io_executor executor;
  std::atomic<bool> stopped{false};
  asio::steady_timer wake;  // touched on the executor only
};

stop_request::stop_request(asio::any_io_executor executor)
    : state_(std::make_shared<state>(std::move(executor))) {}

stop_request::~stop_request() = default;

void stop_request::request() noexcept {
  state_->stopped.store(true, std::memory_order_release);
  // The timer belongs to the executor's thread: wake it there. The posted function keeps the
  // shared state alive, so it is safe even if the owner is destroyed before it runs.
  try {
    asio::post(state_->executor, [s = state_] { s->wake.cancel(); });
  } catch (...) {
    // posting only fails when out of memory; the waiter still sees the flag on its next check
  }
}

bool stop_request::requested() const noexcept {
  return state_->stopped.load(std::memory_order_acquire);
}

void stop_request::reset() noexcept {
  state_->stopped.store(false, std::memory_order_release);
}

asio::awaitable<void> stop_request::wait() {
  const auto s = state_;
  while (!s->stopped.load(std::memory_order_acquire)) {
    s->wake.expires_at(asio::steady_timer::time_point::max());
    co_await s->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
  }
}

}  // namespace streamq::streams::detail

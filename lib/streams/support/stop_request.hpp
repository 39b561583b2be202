#pragma once
// The state behind a component's stop(): callable from any thread, while the component's run()
// waits for it on the component's executor. One per long-lived object (consumer, scheduler,
// trimmer).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>

namespace streamq::streams::detail {

class stop_request {
 public:
  explicit stop_request(boost::asio::any_io_executor executor);
  ~stop_request();
  stop_request(const stop_request&) = delete;
  stop_request& operator=(const stop_request&) = delete;

  // Any thread, on a live object. Makes requested() true and wakes wait(); what it posts holds
  // only the shared state, so it may still run after the owner is gone.
  void request() noexcept;
  [[nodiscard]] bool requested() const noexcept;
  // On the executor: forget an earlier request (at the start of a new run()).
  void reset() noexcept;
  // On the executor: completes once request() was called (at once if it was already), or
  // when the awaiting coroutine is cancelled. Never throws.
  boost::asio::awaitable<void> wait();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace streamq::streams::detail

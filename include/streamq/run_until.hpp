#pragma once
// "Run this until that ends": the one helper for running an owner operation (consumer::run(),
// scheduler::run(), trimmer::run(), client::async_run) next to the code that decides when it
// is over.
//
//   co_await streamq::run_until(consumer.run(), wait_for_orders(client));
//
// Unlike `a || b` from awaitable_operators, which cancels the other side only when one side
// completes without an exception, the other side is cancelled however the first one ends.

#include <boost/asio/awaitable.hpp>

namespace streamq {

// Runs `work` and `until` side by side on the caller's executor. When either ends (normally or
// with an exception) the other is cancelled: for streamq's owner operations that is their
// graceful stop, after which they return. Completes once both have ended, rethrowing the first
// exception that is not the operation_aborted of the side that was cancelled (work's first).
// Cancelling run_until cancels both.
boost::asio::awaitable<void> run_until(boost::asio::awaitable<void> work,
                                       boost::asio::awaitable<void> until);

}  // namespace streamq

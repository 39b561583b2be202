#pragma once
// Racing children: run several coroutines at once and stop at the first one that ends.
//
//   auto r = co_await detail::race(reader(), writer(), wait_for_stop());
//   // r.winner: which ended first; r.failure: its exception, if it threw
//
// Asio's `a || b` waits for the first *successful* completion: a branch that throws neither
// ends the race nor cancels its siblings, so every caller had to catch inside each branch.
// race() ends at the first completion of either kind: the others then receive cancellation
// (cancellation_type::all, as `||` sends) and are awaited before race() returns, so nothing
// it started outlives it. A cancellation of race() itself reaches every child.
//
// Each child runs with throw_if_cancelled(false): a cancelled child is not thrown out of its
// next co_await, so it can finish what must be finished (a flush, an ordered stop) and return.
// Children therefore check their cancellation state themselves, or wait on operations that
// complete on cancellation. Children that lost the race may throw; their exceptions are
// dropped (they were cancelled). Children return void: store values through a capture.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <cstddef>
#include <exception>
#include <tuple>
#include <utility>

namespace streamq::detail {

struct race_result {
  std::size_t winner = 0;        // index of the child that ended first
  std::exception_ptr failure;    // its exception, if it ended by one
};

template <class Executor>
boost::asio::awaitable<void, Executor> run_uncaught_cancellation(
    boost::asio::awaitable<void, Executor> child) {
  co_await boost::asio::this_coro::throw_if_cancelled(false);
  co_await std::move(child);
}

template <class Executor, class... Rest>
boost::asio::awaitable<race_result, Executor> race(boost::asio::awaitable<void, Executor> first,
                                                   Rest... rest) {
  namespace asio = boost::asio;
  const auto ex = co_await asio::this_coro::executor;
  auto spawn = [&ex](asio::awaitable<void, Executor> child) {
    return asio::co_spawn(ex, run_uncaught_cancellation(std::move(child)), asio::deferred);
  };
  auto ended = co_await asio::experimental::make_parallel_group(spawn(std::move(first)),
                                                                spawn(std::move(rest))...)
                   .async_wait(asio::experimental::wait_for_one(),
                               asio::use_awaitable_t<Executor>{});
  // (order, exception_ptr of child 0, of child 1, ...)
  const auto failures = std::apply(
      [](const auto& /*order*/, auto&... e) { return std::array<std::exception_ptr, sizeof...(e)>{e...}; },
      ended);
  race_result result;
  result.winner = std::get<0>(ended)[0];
  result.failure = failures[result.winner];
  co_return result;
}

}  // namespace streamq::detail

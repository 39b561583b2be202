#pragma once
// A deadline for any awaitable operation (Boost 1.81 has no cancel_after). The operation
// races a timer; when the timer wins the operation receives terminal cancellation and the
// result says client_errc::timeout:
//
//   auto [ec] = co_await with_deadline(conn.async_exec(req, resp, as_tuple(use_awaitable)), 50ms);
//   co_await with_deadline(conn.async_exec(req, resp), 50ms);  // throws system_error on timeout
//
// For results of the form std::tuple<error_code, Args...> the timeout is returned in the
// error_code (other elements value-initialised); any other result type throws
// boost::system::system_error(client_errc::timeout).

#include <streamq/detail/race.hpp>
#include <streamq/redis/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>

namespace streamq {

namespace detail {
template <class T>
struct is_error_tuple : std::false_type {};
template <class... Args>
struct is_error_tuple<std::tuple<boost::system::error_code, Args...>> : std::true_type {};
}  // namespace detail

template <class T, class Executor>
boost::asio::awaitable<T, Executor> with_deadline(boost::asio::awaitable<T, Executor> op,
                                                  std::chrono::steady_clock::duration timeout) {
  namespace asio = boost::asio;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  using stored = std::conditional_t<std::is_void_v<T>, bool, T>;
  std::optional<stored> value;
  auto run_op = [&]() -> asio::awaitable<void, Executor> {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(op);
      value.emplace(true);
    } else {
      value.emplace(co_await std::move(op));
    }
  };
  auto expire = [&]() -> asio::awaitable<void, Executor> {
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable_t<Executor>{}));
  };
  const auto raced = co_await detail::race(run_op(), expire());
  if (raced.winner == 0) {
    if (raced.failure) std::rethrow_exception(raced.failure);
    if constexpr (!std::is_void_v<T>)
      co_return std::move(*value);
    else
      co_return;
  }
  if constexpr (detail::is_error_tuple<T>::value) {
    T timed_out{};
    std::get<0>(timed_out) = redis::client_errc::timeout;
    co_return timed_out;
  } else {
    throw boost::system::system_error(redis::client_errc::timeout);
  }
}

}  // namespace streamq

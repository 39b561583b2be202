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

#include <streamq/redis/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <variant>

namespace streamq {

namespace detail {
template <class T>
struct is_error_tuple : std::false_type {};
template <class... Args>
struct is_error_tuple<std::tuple<boost::system::error_code, Args...>> : std::true_type {};

// The operation's outcome with exceptions caught: Asio's || treats an exception as a
// failure and would then wait for the timer as well.
template <class T>
struct outcome {
  std::exception_ptr failure;
  std::optional<T> value;
};
template <>
struct outcome<void> {
  std::exception_ptr failure;
};

template <class T, class Executor>
boost::asio::awaitable<outcome<T>, Executor> capture(boost::asio::awaitable<T, Executor> op) {
  outcome<T> result;
  try {
    if constexpr (std::is_void_v<T>)
      co_await std::move(op);
    else
      result.value.emplace(co_await std::move(op));
  } catch (...) {
    result.failure = std::current_exception();
  }
  co_return result;
}
}  // namespace detail

template <class T, class Executor>
boost::asio::awaitable<T, Executor> with_deadline(boost::asio::awaitable<T, Executor> op,
                                                  std::chrono::steady_clock::duration timeout) {
  using namespace boost::asio::experimental::awaitable_operators;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, timeout);
  auto raced =
      co_await (detail::capture(std::move(op)) ||
                timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable_t<Executor>{})));
  if (raced.index() == 0) {
    auto& done = std::get<0>(raced);
    if (done.failure) std::rethrow_exception(done.failure);
    if constexpr (!std::is_void_v<T>)
      co_return std::move(*done.value);
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

#pragma once
// Any completion token for the queue layer's operations. The work of each operation is a
// coroutine compiled into the library (publisher::publish, consumer::run, ...); its async_*
// form starts that coroutine for whatever token the caller passes: use_awaitable (the
// default), as_tuple, use_future, deferred, a callback, or any user token.
//
// Completion signature: void(error_code, T), or void(error_code) when T is void. A
// boost::system::system_error thrown by the work completes the operation with its code;
// std::invalid_argument, std::length_error and std::out_of_range (arguments the operation
// refused) with errc::invalid_argument. Anything else (std::bad_alloc, a logic error such as
// running a consumer twice) is not an outcome of the operation and is rethrown from the
// completion, out of the io_context's run(), as co_spawn with `detached` would.
//
// The arguments are copied into the operation when the async_* function is called, so with
// a deferred token nothing the caller passed needs to outlive the call.

#include <streamq/streams/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace streamq::detail {

template <class T>
struct completion_of {
  using type = void(boost::system::error_code, T);
};
template <>
struct completion_of<void> {
  using type = void(boost::system::error_code);
};
template <class T>
using completion_signature = typename completion_of<T>::type;

// The error code an exception from an operation's work completes it with; rethrows what is
// not an outcome of the operation (see above).
inline boost::system::error_code error_of(const std::exception_ptr& failure) {
  if (!failure) return {};
  try {
    std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    return e.code();
  } catch (const std::invalid_argument&) {
    return streams::errc::invalid_argument;
  } catch (const std::length_error&) {
    return streams::errc::invalid_argument;
  } catch (const std::out_of_range&) {
    return streams::errc::invalid_argument;
  }
}

// Starts `work` on `ex` and completes `token` with its outcome. A cancellation emitted on the
// token's cancellation slot reaches the work as a cancellation of the coroutine.
template <class T, class Token>
auto start_async(boost::asio::any_io_executor ex, boost::asio::awaitable<T> work, Token&& token) {
  namespace asio = boost::asio;
  return asio::async_initiate<Token, completion_signature<T>>(
      [](auto handler, asio::any_io_executor executor, asio::awaitable<T> op) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto handler_executor = asio::get_associated_executor(handler, executor);
        if constexpr (std::is_void_v<T>) {
          asio::co_spawn(executor, std::move(op),
                         asio::bind_cancellation_slot(
                             slot, asio::bind_executor(
                                       handler_executor,
                                       [h = std::move(handler)](std::exception_ptr e) mutable {
                                         std::move(h)(error_of(e));
                                       })));
        } else {
          asio::co_spawn(
              executor, std::move(op),
              asio::bind_cancellation_slot(
                  slot, asio::bind_executor(handler_executor, [h = std::move(handler)](
                                                                  std::exception_ptr e,
                                                                  T value) mutable {
                    std::move(h)(error_of(e), std::move(value));
                  })));
        }
      },
      token, std::move(ex), std::move(work));
}

}  // namespace streamq::detail

#include <streamq/run_until.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <exception>

namespace streamq {
namespace asio = boost::asio;

namespace {
bool is_aborted(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& error) {
    return error.code() == asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}
}  // namespace

asio::awaitable<void> run_until(asio::awaitable<void> work, asio::awaitable<void> until) {
  const auto executor = co_await asio::this_coro::executor;
  auto [order, work_error, until_error] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(executor, std::move(work), asio::deferred),
          asio::co_spawn(executor, std::move(until), asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  // The side that ended second was cancelled: its operation_aborted is the cancellation, not
  // a failure.
  const bool work_cancelled = order[0] == 1;
  if (work_error && !(work_cancelled && is_aborted(work_error))) std::rethrow_exception(work_error);
  if (until_error && !(!work_cancelled && is_aborted(until_error)))
    std::rethrow_exception(until_error);
}

}  // namespace streamq

#include "bench_runtime.hpp"

#include <streamq/deadline.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <stdexcept>
#include <tuple>
#include <variant>

namespace streamq::bench {

using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

// The body with its failure turned into a value, so that || sees a normal completion.
asio::awaitable<void> guarded(const client_body& body, streamq::client& client,
                              std::exception_ptr& failure) {
  try {
    co_await body(client);
  } catch (...) {
    failure = std::current_exception();
  }
}

}  // namespace

std::string run_with_client(const std::string& url, const client_body& body) {
  asio::io_context io(1);  // one thread: lets Asio skip waking other threads
  streamq::client client(io.get_executor(), url);
  std::exception_ptr failure;
  std::string outcome = "the race of client and scenario never completed";
  asio::co_spawn(
      io, client.async_run(use_tuple) || guarded(body, client, failure),
      [&](std::exception_ptr e, std::variant<std::tuple<redis::error_code>, std::monostate> first) {
        if (e)
          outcome = describe(e);
        else if (first.index() == 0)  // the client's owner operation ended first
          outcome = "the client stopped before the scenario ended: " +
                    std::get<0>(std::get<0>(first)).message();
        else
          outcome.clear();
      });
  io.run();
  if (failure && outcome.empty()) return describe(failure);
  if (failure) return outcome + " (scenario: " + describe(failure) + ")";
  return outcome;
}

worker_group::worker_group(asio::any_io_executor ex) : ex_(ex), all_done_(ex) {
  all_done_.expires_at(asio::steady_timer::time_point::max());
}

void worker_group::spawn(asio::awaitable<void> worker) {
  ++running_;
  asio::co_spawn(ex_, std::move(worker), [this](std::exception_ptr e) {
    if (e && !failure_) failure_ = e;
    if (--running_ == 0) all_done_.cancel();
  });
}

asio::awaitable<void> worker_group::wait() {
  // Single-threaded: nothing can end between this check and the wait starting.
  if (running_ == 0) co_return;
  co_await all_done_.async_wait(use_tuple);
}

asio::awaitable<void> stall_watchdog(const std::uint64_t& progress, std::chrono::seconds limit) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto tick = std::max<bench_clock::duration>(limit / 10, std::chrono::milliseconds(10));
  std::uint64_t last = progress;
  auto last_change = bench_clock::now();
  while (true) {
    timer.expires_after(tick);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) co_return;  // cancelled: the race is over anyway
    const auto now = bench_clock::now();
    if (progress != last) {
      last = progress;
      last_change = now;
    } else if (now - last_change >= limit) {
      co_return;
    }
  }
}

asio::awaitable<void> setup_exec(streamq::client& client, const resp::request& req,
                                 std::string_view what, std::chrono::seconds timeout) {
  resp::ignore_response reply;
  auto [ec] = co_await streamq::with_deadline(client.async_exec(req, reply, use_tuple), timeout);
  if (ec) throw std::runtime_error(std::string(what) + " failed: " + ec.message());
  if (reply.first_error())
    throw std::runtime_error(std::string(what) + " refused: " + reply.diagnostic());
}

}  // namespace streamq::bench

#include "async_test.hpp"

#include "redis_server.hpp"

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cctype>
#include <exception>
#include <optional>

namespace streamq::test {
namespace asio = boost::asio;

namespace {

// Runs `io` until `done()` or the limit; fails the test on the limit.
template <class Done>
void drive(asio::io_context& io, std::chrono::seconds limit, Done done) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < give_up) {
    io.run_for(std::chrono::milliseconds(50));
    if (io.stopped()) io.restart();
  }
  REQUIRE_MESSAGE(done(), "test did not finish within its time limit");
  io.restart();
  io.poll();  // drain completions posted while finishing
}

void rethrow_failure(const std::exception_ptr& failure) {
  if (!failure) return;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    FAIL("test coroutine threw: " << std::string(e.what()));
  }
}

}  // namespace

asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

redis::error_code run_with_connection(redis::connection_config config, const test_body& body,
                                      std::chrono::seconds limit) {
  asio::io_context io;
  redis::connection conn(io.get_executor(), std::move(config));
  std::optional<redis::error_code> run_result;
  std::exception_ptr failure;
  conn.async_run([&](redis::error_code ec) { run_result = ec; });
  asio::co_spawn(io, body(conn), [&](std::exception_ptr e) {
    failure = e;
    conn.cancel();
  });
  drive(io, limit, [&] { return run_result.has_value(); });
  rethrow_failure(failure);
  return *run_result;
}

void run_coroutine(const std::function<asio::awaitable<void>()>& body, std::chrono::seconds limit) {
  asio::io_context io;
  bool finished = false;
  std::exception_ptr failure;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  drive(io, limit, [&] { return finished; });
  rethrow_failure(failure);
}

asio::awaitable<void> capture_failure(asio::awaitable<void> op, std::exception_ptr& failure) {
  try {
    co_await std::move(op);
  } catch (...) {
    failure = std::current_exception();
  }
}

void run_with_client(const std::string& url,
                     const std::function<asio::awaitable<void>(client&)>& body,
                     std::chrono::seconds limit) {
  run_coroutine(
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        client c(co_await asio::this_coro::executor, url);
        std::exception_ptr failure;
        co_await (c.async_run(asio::as_tuple(asio::use_awaitable)) ||
                  capture_failure(body(c), failure));
        if (failure) std::rethrow_exception(failure);
      },
      limit);
}

asio::awaitable<void> wait_until(std::function<bool()> done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < until)
    co_await sleep_for(std::chrono::milliseconds(10));
  REQUIRE(done());
}

asio::awaitable<void> wait_until(std::function<bool()> done) {
  return wait_until(std::move(done), std::chrono::seconds(10));
}

std::string unique_topic() {
  std::string name = unique_key_prefix(doctest::getContextOptions()->currentTest->m_name);
  for (char& c : name)
    if (c != '.' && c != '_' && c != '-' && !std::isalnum(static_cast<unsigned char>(c))) c = '-';
  return name.substr(0, 100);
}

}  // namespace streamq::test

// Tests of include/streamq/detail/race.hpp: the first child to end, normally or by an
// exception, ends the race; the others are cancelled and awaited; a cancelled child can still
// finish its cleanup. Runs on a bare io_context: no server.
#include <streamq/detail/race.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::detail::race;
using streamq::detail::race_result;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Sleeps for `d` (or until cancelled); then records that it ended and whether it had been
// cancelled. With cleanup, it waits once more after a cancellation: a child that could not
// co_await after being cancelled would throw there instead.
asio::awaitable<void> sleeper(std::chrono::milliseconds d, bool& ended, bool& was_cancelled,
                              bool cleanup = false) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(use_tuple);
  const auto cs = co_await asio::this_coro::cancellation_state;
  was_cancelled = cs.cancelled() != asio::cancellation_type::none;
  if (cleanup && was_cancelled) {
    timer.expires_after(1ms);
    co_await timer.async_wait(use_tuple);
  }
  ended = true;
}

asio::awaitable<void> thrower(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(use_tuple);
  throw std::runtime_error("child failed");
}

// Runs `body` on a fresh io_context until it completes; fails the test if it takes long.
template <class Body>
void run(Body body) {
  asio::io_context io;
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  io.run_for(10s);
  REQUIRE(done);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

TEST_CASE("race: the first to end wins, the others are cancelled and awaited") {
  bool fast_ended = false, fast_cancelled = false, slow_ended = false, slow_cancelled = false;
  race_result r;
  run([&]() -> asio::awaitable<void> {
    r = co_await race(sleeper(60s, slow_ended, slow_cancelled),
                      sleeper(1ms, fast_ended, fast_cancelled));
  });
  CHECK(r.winner == 1);
  CHECK_FALSE(r.failure);
  CHECK(fast_ended);
  CHECK_FALSE(fast_cancelled);
  CHECK(slow_ended);  // awaited before race() returned
  CHECK(slow_cancelled);
}

TEST_CASE("race: a child that throws ends the race too, unlike ||") {
  bool ended = false, cancelled = false;
  race_result r;
  run([&]() -> asio::awaitable<void> {
    r = co_await race(sleeper(60s, ended, cancelled), thrower(1ms));
  });
  CHECK(r.winner == 1);
  REQUIRE(r.failure);
  CHECK_THROWS_WITH_AS(std::rethrow_exception(r.failure), "child failed", std::runtime_error);
  CHECK(ended);
  CHECK(cancelled);
}

TEST_CASE("race: a loser's exception after its cancellation is dropped") {
  bool ended = false, cancelled = false;
  race_result r;
  auto throws_when_cancelled = []() -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor, 60s);
    co_await timer.async_wait(use_tuple);
    throw std::runtime_error("cancelled child failed");
  };
  run([&]() -> asio::awaitable<void> {
    r = co_await race(throws_when_cancelled(), sleeper(1ms, ended, cancelled));
  });
  CHECK(r.winner == 1);
  CHECK_FALSE(r.failure);
}

TEST_CASE("race: cancelling the race reaches every child, which may still clean up") {
  bool a_ended = false, a_cancelled = false, b_ended = false, b_cancelled = false;
  std::optional<race_result> r;
  asio::io_context io;
  asio::cancellation_signal stop;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        r = co_await race(sleeper(60s, a_ended, a_cancelled, true),
                          sleeper(60s, b_ended, b_cancelled, true));
      },
      asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr) { done = true; }));
  asio::steady_timer later(io, 5ms);
  later.async_wait([&](auto) { stop.emit(asio::cancellation_type::terminal); });
  io.run_for(10s);
  REQUIRE(done);
  REQUIRE(r.has_value());
  CHECK(a_ended);
  CHECK(a_cancelled);
  CHECK(b_ended);
  CHECK(b_cancelled);
  CHECK_FALSE(r->failure);  // the winner cleaned up and returned: no operation_aborted
}

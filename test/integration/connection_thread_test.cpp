// One connection shared across threads (connection.hpp: each member's "Thread safety:" line).
// Its executor is a strand of an io_context run by four threads; callers sit on other strands
// of it and on plain std::threads, and other threads poll its accessors meanwhile. Meant to
// be run under ThreadSanitizer too; the destruction cases also under AddressSanitizer.
#include "support/redis_server.hpp"

#include <streamq/redis/connection.hpp>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using streamq::redis::client_errc;
using streamq::redis::connection;
using streamq::redis::connection_state;
using streamq::redis::error_code;
using streamq::resp::request;
using streamq::resp::response;
using streamq::test::redis_server;

namespace {

constexpr int pool_threads = 4;
constexpr auto op_limit = 30s;  // no single wait in this file is longer
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using io_strand = asio::strand<asio::io_context::executor_type>;

// An io_context run by pool_threads threads for the object's lifetime.
class thread_pool {
 public:
  thread_pool() {
    for (int i = 0; i < pool_threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~thread_pool() {
    work_.reset();
    // What a failed test left pending must not keep the threads forever.
    const auto give_up = std::chrono::steady_clock::now() + op_limit;
    while (!io_.stopped() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(5ms);
    io_.stop();
  }  // threads_ are joined after this body

  io_strand make_strand() { return asio::make_strand(io_); }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::vector<std::jthread> threads_;
};

// Holds one pool thread inside `strand` while it lives: work posted there meanwhile waits.
class strand_gate {
 public:
  explicit strand_gate(const io_strand& strand) {
    std::promise<void> inside;
    auto entered = inside.get_future();
    asio::post(strand, [opened = opened_, inside = std::move(inside)]() mutable {
      inside.set_value();
      opened.wait();
    });
    entered.wait();
  }
  ~strand_gate() { release_.set_value(); }

 private:
  std::promise<void> release_;
  std::shared_future<void> opened_ = release_.get_future().share();
};

std::future<error_code> start_run(connection& conn) {
  auto done = std::make_shared<std::promise<error_code>>();
  auto result = done->get_future();
  conn.async_run([done](error_code ec) { done->set_value(ec); });
  return result;
}

// async_exec from a plain thread, its outcome in a future. Not asio::use_future: that one
// carries errors as exceptions, whose shared reference count TSan cannot see inside libstdc++.
std::future<error_code> exec_from_thread(connection& conn, const request& req,
                                         streamq::resp::response_adapter& adapter,
                                         asio::cancellation_slot slot = {}) {
  auto done = std::make_shared<std::promise<error_code>>();
  auto result = done->get_future();
  conn.async_exec(req, adapter, asio::bind_cancellation_slot(slot, [done](error_code ec) {
                    done->set_value(ec);
                  }));
  return result;
}

template <class T>
bool ready_in_time(const std::future<T>& f) {
  return f.wait_for(op_limit) == std::future_status::ready;
}

// Polls `done` every millisecond until it holds or op_limit passes.
bool eventually(const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + op_limit;
  while (!done() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
  return done();
}

// Polled from the test's own thread: state() is callable from any.
void wait_connected(const connection& conn) {
  REQUIRE(eventually([&] { return conn.state() == connection_state::connected; }));
}

// A connection on a strand of a thread_pool, connected to a redis-server of its own.
struct running_connection {
  redis_server server;
  thread_pool pool;
  io_strand strand = pool.make_strand();
  connection conn{strand, streamq::redis::parse_url(server.url())};
  std::future<error_code> run = start_run(conn);

  running_connection() { wait_connected(conn); }

  // Waits for run() after a cancel(): it ends with shut_down.
  void check_stopped() {
    REQUIRE(ready_in_time(run));
    CHECK(run.get() == client_errc::shut_down);
    CHECK(conn.state() == connection_state::stopped);
  }
};

bool is_cancel_outcome(const error_code& ec) {
  return ec == asio::error::operation_aborted || ec == client_errc::outcome_unknown;
}

// What one caller saw. Written only by that caller; read after it finished.
struct lane_result {
  int answered = 0;   // replies checked against what was sent
  int cancelled = 0;  // withdrawn (operation_aborted) or abandoned (outcome_unknown)
  error_code ended_with;
  std::string failure;
};

// Books the outcome of one ECHO of `text` (`raced`: it may have been cancelled); false when
// the caller should stop.
bool book(lane_result& out, const std::string& text, bool raced, const error_code& ec,
          const response<std::string>& echoed) {
  if (raced && is_cancel_outcome(ec)) {
    ++out.cancelled;
    return true;
  }
  if (ec) {
    out.ended_with = ec;
    return false;
  }
  if (echoed.get<0>().value() != text) {
    out.failure = text + ": got the reply " + echoed.get<0>().value();
    return false;
  }
  ++out.answered;
  return true;
}

// ECHOes from its own strand, racing every third request against a timer of 0-300 us: a
// reply is always its own, whatever cancellations happened around it, and a cancelled
// request ends in one of the two documented ways. Stops at the first other error.
asio::awaitable<void> echo_lane(connection& conn, int lane, int count, lane_result& out) {
  std::minstd_rand rng(static_cast<unsigned>(lane) + 1);
  std::uniform_int_distribution<int> delay_us(0, 300);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int i = 0; count < 0 || i < count; ++i) {
    const std::string text = "lane" + std::to_string(lane) + "-" + std::to_string(i);
    request req;
    req.push("ECHO", text);
    response<std::string> echoed;
    error_code ec;
    bool completed = false;
    auto exec = [&]() -> asio::awaitable<void> {
      std::tie(ec) = co_await conn.async_exec(req, echoed, use_tuple);
      completed = true;
    };
    if (i % 3 == 0) {
      timer.expires_after(std::chrono::microseconds(delay_us(rng)));
      co_await (exec() || timer.async_wait(use_tuple));
    } else {
      co_await exec();
    }
    if (!completed) {
      out.failure = text + ": the request never completed";
      co_return;
    }
    if (!book(out, text, i % 3 == 0, ec, echoed)) co_return;
  }
}

// SUBSCRIBEs (when asked) and PUBLISHes `count` messages on the same connection: each push
// reaches the push handler before the PUBLISH reply that follows it.
asio::awaitable<void> publish_lane(connection& conn, std::string channel, bool subscribe, int count,
                                   std::string& failure) {
  if (subscribe) {
    request sub;
    sub.push("SUBSCRIBE", channel);
    streamq::resp::ignore_response ignored;
    co_await conn.async_exec(sub, ignored);
  }
  for (int i = 0; i < count; ++i) {
    request pub;
    pub.push("PUBLISH", channel, "m" + std::to_string(i));
    response<std::int64_t> receivers;
    co_await conn.async_exec(pub, receivers);
    if (receivers.get<0>().value() != 1) {
      failure = "PUBLISH reached " + std::to_string(receivers.get<0>().value()) + " clients";
      co_return;
    }
  }
}

// Reads stats(), state() and last_error() in a loop until told to stop; counters only grow.
void observe(const connection& conn, const std::atomic<bool>& stop, std::string& failure) {
  streamq::redis::connection_stats last;
  while (!stop.load()) {
    const auto now = conn.stats();
    if (now.connects < last.connects || now.requests < last.requests || now.writes < last.writes ||
        now.pushes < last.pushes || now.peak_pending < last.peak_pending)
      failure = "a counter went backwards";
    if (now.peak_pending > conn.config().max_pending_requests)
      failure = "peak_pending above max_pending_requests";
    if (conn.state() == connection_state::idle) failure = "state() idle while running";
    if (conn.last_error()) failure = "last_error() set on a healthy connection";
    last = now;
    std::this_thread::yield();
  }
}

// A plain thread awaiting ECHOes through futures, cancelling every fourth from its own thread
// through a cancellation slot the connection never sees on its executor.
void future_caller(connection& conn, int id, int count, lane_result& out) {
  for (int i = 0; i < count; ++i) {
    const std::string text = "thread" + std::to_string(id) + "-" + std::to_string(i);
    request req;
    req.push("ECHO", text);
    response<std::string> echoed;
    asio::cancellation_signal cancel;
    auto reply = exec_from_thread(conn, req, echoed, cancel.slot());
    if (i % 4 == 0) cancel.emit(asio::cancellation_type::terminal);
    if (!ready_in_time(reply)) {
      out.failure = text + ": no completion";
      return;
    }
    if (!book(out, text, i % 4 == 0, reply.get(), echoed)) return;
  }
}

// co_spawns `make(i)` for i in [0, n), each on a strand of its own, and waits for all.
template <class Make>
std::vector<lane_result> run_lanes(thread_pool& pool, int n, Make make) {
  std::vector<lane_result> results(static_cast<std::size_t>(n));
  std::vector<std::future<void>> done;
  for (int i = 0; i < n; ++i)
    done.push_back(asio::co_spawn(pool.make_strand(), make(i, results[static_cast<std::size_t>(i)]),
                                  asio::use_future));
  for (auto& f : done) {
    REQUIRE(ready_in_time(f));
    f.get();
  }
  return results;
}

}  // namespace

TEST_SUITE_BEGIN("connection_thread");

TEST_CASE_FIXTURE(running_connection,
                  "a connection on a strand serves callers on other strands and threads at once") {
  std::atomic<bool> stop_background{false};
  std::array<std::string, 2> observer_failures;
  std::vector<std::jthread> background;
  for (auto& failure : observer_failures)
    background.emplace_back([&] { observe(conn, stop_background, failure); });

  // Swaps the push handler, from a plain thread, while pushes arrive: each handler counts
  // its calls and checks that it runs on the connection's strand.
  constexpr std::size_t handler_count = 3;
  std::array<std::atomic<int>, handler_count> handler_calls{};
  std::atomic<int> off_executor{0};
  auto counting_handler = [&](std::atomic<int>& calls) {
    return [counter = &calls, &off_executor, this](const streamq::resp::value&) {
      if (!strand.running_in_this_thread()) ++off_executor;
      ++*counter;
    };
  };
  background.emplace_back([&] {
    for (std::size_t k = 0; !stop_background.load(); ++k) {
      if (k % 4 == 3)
        conn.set_push_handler(nullptr);
      else
        conn.set_push_handler(counting_handler(handler_calls[k % handler_count]));
      std::this_thread::sleep_for(50us);
    }
  });

  constexpr int lanes = 8;
  constexpr int per_lane = 300;
  constexpr int publishes = 200;
  constexpr int future_threads = 2;
  constexpr int per_thread = 100;
  const std::string channel = streamq::test::unique_key_prefix("thread-pushes") + "chan";
  std::string publish_failure;
  std::array<lane_result, future_threads> thread_results;
  std::vector<lane_result> lane_results;
  {
    std::vector<std::jthread> callers;
    for (int t = 0; t < future_threads; ++t)
      callers.emplace_back([&, t] {
        future_caller(conn, t, per_thread, thread_results[static_cast<std::size_t>(t)]);
      });
    auto publishing = asio::co_spawn(pool.make_strand(),
                                     publish_lane(conn, channel, true, publishes, publish_failure),
                                     asio::use_future);
    lane_results = run_lanes(pool, lanes, [&](int lane, lane_result& out) {
      return echo_lane(conn, lane, per_lane, out);
    });
    REQUIRE(ready_in_time(publishing));
    publishing.get();
  }  // the future callers are joined here
  stop_background = true;
  background.clear();  // joined

  // One handler stays: every push of a last round reaches it, on the strand.
  std::atomic<int> final_calls{0};
  conn.set_push_handler(counting_handler(final_calls));
  constexpr int final_publishes = 50;
  auto last_round = asio::co_spawn(
      pool.make_strand(), publish_lane(conn, channel, false, final_publishes, publish_failure),
      asio::use_future);
  REQUIRE(ready_in_time(last_round));
  last_round.get();
  // Valkey may send the push of our own PUBLISH after the PUBLISH's reply (Redis sends it
  // before): the last one can arrive just after the round completed.
  for (int i = 0; i < 200 && final_calls.load() < final_publishes; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  for (const auto& failure : observer_failures) CHECK_MESSAGE(failure.empty(), failure);
  CHECK_MESSAGE(publish_failure.empty(), publish_failure);
  int answered = 0;
  int cancelled = 0;
  for (const auto& r : lane_results) {
    CHECK_MESSAGE(r.failure.empty(), r.failure);
    CHECK_FALSE(r.ended_with);
    answered += r.answered;
    cancelled += r.cancelled;
  }
  CHECK(answered + cancelled == lanes * per_lane);
  for (const auto& r : thread_results) {
    CHECK_MESSAGE(r.failure.empty(), r.failure);
    CHECK_FALSE(r.ended_with);
    CHECK(r.answered + r.cancelled == per_thread);
    answered += r.answered;
  }
  MESSAGE("answered " << answered << ", cancelled " << cancelled << " (lanes)");

  CHECK(off_executor.load() == 0);
  CHECK(final_calls.load() == final_publishes);
  const auto stats = conn.stats();
  int swapped_calls = 0;
  for (const auto& calls : handler_calls) swapped_calls += calls;
  // the subscribe confirmation, then one push per PUBLISH; a swapped-out handler missed some
  CHECK(stats.pushes == std::uint64_t{1 + publishes + final_publishes});
  CHECK(static_cast<std::uint64_t>(swapped_calls + final_calls.load()) <= stats.pushes);
  CHECK(stats.requests >= static_cast<std::uint64_t>(answered + publishes + final_publishes));

  conn.cancel();  // from the test's thread, not the executor
  check_stopped();
}

TEST_CASE_FIXTURE(running_connection,
                  "cancel() from another thread ends callers on other strands that keep sending") {
  constexpr int lanes = 6;
  std::jthread canceller([&] {
    eventually([&] { return conn.stats().requests >= 500; });
    conn.cancel();
  });
  // count < 0: each lane sends until it gets an error
  const auto results = run_lanes(
      pool, lanes, [&](int lane, lane_result& out) { return echo_lane(conn, lane, -1, out); });
  canceller.join();
  check_stopped();
  for (const auto& r : results) {
    CHECK_MESSAGE(r.failure.empty(), r.failure);
    // written requests are abandoned, the rest refused; every lane saw one or the other
    CHECK((r.ended_with == client_errc::shut_down || r.ended_with == client_errc::outcome_unknown));
    CHECK(r.answered > 0);
  }
  CHECK(conn.stats().requests >= 500);  // the cancellation came mid-traffic
}

TEST_CASE_FIXTURE(running_connection,
                  "a caller on a plain thread cancels its request through its own slot") {
  request req;
  req.push("ECHO", "never sent");
  response<std::string> echoed;
  asio::cancellation_signal cancel;
  std::future<error_code> reply;
  {
    // The request and then the cancellation queue up behind the gate, in that order: the
    // cancellation must still find the request, before the writer takes it.
    strand_gate gate(strand);
    reply = exec_from_thread(conn, req, echoed, cancel.slot());
    cancel.emit(asio::cancellation_type::terminal);
  }
  REQUIRE(ready_in_time(reply));
  CHECK(reply.get() == asio::error::operation_aborted);

  request ping;
  ping.push("ECHO", "still in step");
  response<std::string> pong;
  auto next = exec_from_thread(conn, ping, pong);
  REQUIRE(ready_in_time(next));
  CHECK_FALSE(next.get());
  CHECK(pong.get<0>().value() == "still in step");

  conn.cancel();
  check_stopped();
}

TEST_CASE("a connection destroyed before the cancel() or drop_session() it posted has run") {
  thread_pool pool;
  const io_strand strand = pool.make_strand();
  constexpr int rounds = 20;
  for (int round = 0; round < rounds; ++round) {
    auto conn =
        std::make_unique<connection>(strand, streamq::redis::parse_url("redis://127.0.0.1:1"));
    {
      strand_gate gate(strand);  // what the other thread posts waits behind it
      std::jthread other([&] {
        conn->cancel();
        conn->drop_session();
        conn.reset();
      });
    }  // joined, then the gate opens: the posted work runs after the destruction
    // The strand got past that work.
    auto after = asio::post(strand, asio::use_future);
    REQUIRE(ready_in_time(after));
  }
}

TEST_CASE(
    "a running connection destroyed by another thread right after cancel() or drop_session()") {
  redis_server server;
  thread_pool pool;
  const io_strand strand = pool.make_strand();
  const io_strand callers = pool.make_strand();
  constexpr int rounds = 10;
  constexpr int requests = 32;
  for (int round = 0; round < rounds; ++round) {
    CAPTURE(round);
    auto conn = std::make_unique<connection>(strand, streamq::redis::parse_url(server.url()));
    auto run = start_run(*conn);
    wait_connected(*conn);

    std::vector<request> reqs(requests);
    std::vector<response<std::string>> replies(requests);
    std::vector<error_code> outcomes(requests);
    std::atomic<int> completed{0};
    std::jthread other([&] {
      for (std::size_t i = 0; i < reqs.size(); ++i) {
        reqs[i].push("ECHO", std::to_string(i));
        conn->async_exec(reqs[i], replies[i], asio::bind_executor(callers, [&, i](error_code ec) {
                           outcomes[i] = ec;
                           ++completed;
                         }));
      }
      if (round % 2 == 0)
        conn->cancel();
      else
        conn->drop_session();
      conn.reset();  // with requests, and the cancel or drop, still posted
    });
    other.join();

    // Destroying the connection ended run(); every request completed once.
    REQUIRE(ready_in_time(run));
    CHECK(run.get() == client_errc::shut_down);
    REQUIRE(eventually([&] { return completed.load() == requests; }));
    auto all_seen = asio::post(callers, asio::use_future);  // outcomes were written there
    REQUIRE(ready_in_time(all_seen));
    CHECK(completed.load() == requests);  // and none twice
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      const auto& ec = outcomes[i];
      if (!ec)
        CHECK(replies[i].get<0>().value() == std::to_string(i));
      else
        CHECK((ec == client_errc::shut_down || ec == client_errc::outcome_unknown ||
               ec == client_errc::not_connected));
    }
  }
}

TEST_SUITE_END();

// The streamq demo: connects to Redis (STREAMQ_REDIS_URL, default redis://127.0.0.1:6379),
// has many coroutines publish to one stream through one pipelined connection, reads the
// entries back, and prints what happened.
#include <streamq/client.hpp>
#include <streamq/deadline.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr int publishers = 64;
constexpr int per_publisher = 500;

asio::awaitable<void> publish(streamq::client& client, const std::string& stream, int publisher,
                              int& published) {
  for (int i = 0; i < per_publisher; ++i) {
    streamq::resp::request req;
    req.push("XADD", streamq::resp::key{stream}, "*", "publisher", publisher, "seq", i);
    streamq::resp::response<std::string> id;
    co_await streamq::with_deadline(client.async_exec(req, id), 5s);
    (void)id.get<0>().value();  // throws with the server's message on an error reply
    ++published;
  }
}

asio::awaitable<void> demo(streamq::client& client) {
  const std::string stream = "streamq:{demo}:events";
  streamq::resp::request reset;
  reset.push("DEL", streamq::resp::key{stream});
  streamq::resp::ignore_response ignored;
  co_await streamq::with_deadline(client.async_exec(reset, ignored), 5s);

  const auto started = std::chrono::steady_clock::now();
  int published = 0;
  auto ex = co_await asio::this_coro::executor;
  int running = publishers;
  asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
  std::exception_ptr failure;
  for (int p = 0; p < publishers; ++p)
    asio::co_spawn(ex, publish(client, stream, p, published), [&](std::exception_ptr e) {
      if (e) failure = e;
      if (--running == 0) all_done.cancel();
    });
  co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  if (failure) std::rethrow_exception(failure);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  streamq::resp::request check;
  check.push("XLEN", streamq::resp::key{stream});
  check.push("XRANGE", streamq::resp::key{stream}, "-", "+", "COUNT", 1);
  streamq::resp::response<std::int64_t, streamq::resp::value> result;
  co_await streamq::with_deadline(client.async_exec(check, result), 5s);

  const auto stats = client.shared_connection().stats();
  std::printf("streamq demo against %s\n", client.config().redacted_url().c_str());
  std::printf("  %d coroutines published %d entries in %.3f s (%.0f/s)\n", publishers, published,
              seconds, published / seconds);
  std::printf("  stream length: %lld, first entry: %s\n",
              static_cast<long long>(result.get<0>().value()),
              streamq::resp::to_string(result.get<1>().value()).c_str());
  std::printf("  %llu requests went out in %llu socket writes (pipelining)\n",
              static_cast<unsigned long long>(stats.requests),
              static_cast<unsigned long long>(stats.writes));
}

}  // namespace

int main() {
  const char* url = std::getenv("STREAMQ_REDIS_URL");
  try {
    asio::io_context io;
    streamq::client client(io.get_executor(), url ? url : "redis://127.0.0.1:6379");
    std::exception_ptr failure;
    // The demo body reports failure by value: || only cancels the other side (the client's
    // owner loop) when one side completes without an exception.
    auto guarded = [&]() -> asio::awaitable<void> {
      try {
        co_await demo(client);
      } catch (...) {
        failure = std::current_exception();
      }
    };
    asio::co_spawn(io, client.async_run(asio::as_tuple(asio::use_awaitable)) || guarded(),
                   asio::detached);
    io.run();
    if (failure) {
      if (const auto why = client.shared_connection().last_error())
        std::fprintf(stderr, "streamq demo: connection to %s: %s\n",
                     client.config().redacted_url().c_str(), why.message().c_str());
      std::rethrow_exception(failure);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamq demo failed: %s\n", e.what());
    return 1;
  }
  return 0;
}

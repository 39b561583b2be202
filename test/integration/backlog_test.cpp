// A large backlog is consumed with bounded memory: the consumer reads only what its free
// handler slots can take (credit-based flow control), whatever the stream holds.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Sanitizers are ~10x slower, and ASan keeps freed memory in a quarantine (256 MiB by
// default), so resident memory says nothing about the consumer there: count only.
constexpr int backlog = 100'000;
constexpr bool check_memory = false;
#else
constexpr int backlog = 1'000'000;
constexpr bool check_memory = true;
#endif

long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}
}  // namespace

TEST_CASE("a backlog of small messages is consumed with bounded memory") {
  streamq::test::redis_server server;
  const std::string topic = "backlog";
  streamq::test::run_coroutine(
      [&]() -> asio::awaitable<void> {
        streamq::client c(co_await asio::this_coro::executor, server.url());
        std::exception_ptr failure;
        auto scenario = [&]() -> asio::awaitable<void> {
          // fill the stream first: a consumer that started late, facing the whole backlog
          streamq::test::Order order;
          order.set_id("o");
          const auto fields =
              streamq::streams::encode_entry(streamq::streams::make_envelope(order));
          const streamq::streams::topic_keys keys(topic);
          for (int done = 0; done < backlog; done += 10'000) {
            streamq::resp::request fill;
            for (int i = 0; i < 10'000; ++i)
              fill.push("XADD", streamq::resp::key{keys.stream()}, "*", fields);
            streamq::resp::ignore_response ignored;
            co_await c.async_exec(fill, ignored);
            REQUIRE_FALSE(ignored.first_error());
          }
          const long before = resident_kib();
          streamq::streams::consumer_config config;
          config.group = "g";
          config.concurrency = 64;
          streamq::streams::consumer cons(c, config);
          long peak = before;
          std::uint64_t handled = 0;
          cons.subscribe<streamq::test::Order>(
              topic,
              [&](const streamq::test::Order&,
                  streamq::streams::message_context&) -> asio::awaitable<void> {
                if (++handled % 10'000 == 0) peak = std::max(peak, resident_kib());
                co_return;
              });
          auto wait_all = [&]() -> asio::awaitable<void> {
            while (cons.stats().acked < static_cast<std::uint64_t>(backlog))
              co_await streamq::test::sleep_for(20ms);
          };
          const auto started = std::chrono::steady_clock::now();
          co_await (cons.run() || wait_all());
          const double seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          MESSAGE(backlog << " messages in " << seconds << " s; resident memory " << before / 1024
                          << " MiB before, peak " << peak / 1024 << " MiB while consuming");
          CHECK(handled == static_cast<std::uint64_t>(backlog));
          // the stream holds ~100 MB at a million entries; the consumer must hold a window of it
          if (check_memory) CHECK(peak - before < 64 * 1024);
        };
        auto guarded = [&]() -> asio::awaitable<void> {
          try {
            co_await scenario();
          } catch (...) {
            failure = std::current_exception();
          }
        };
        co_await (c.async_run(asio::as_tuple(asio::use_awaitable)) || guarded());
        if (failure) std::rethrow_exception(failure);
      },
      std::chrono::seconds(110));
}

// A consumer process killed with SIGKILL mid-handling: another consumer recovers its
// entries; every message ends up handled at least once, and duplicates are counted.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::test::handled_counts;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

pid_t spawn_worker(const std::string& url, const std::string& topic) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl(STREAMQ_TEST_WORKER, STREAMQ_TEST_WORKER, url.c_str(), topic.c_str(), "g", "doomed",
            "5", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("a consumer process killed mid-handling loses nothing: another recovers its work") {
  streamq::test::redis_server server;
  const std::string topic = "crash-test";
  constexpr int n = 300;
  streamq::test::run_coroutine(
      [&]() -> asio::awaitable<void> {
        streamq::client c(co_await asio::this_coro::executor, server.url());
        std::exception_ptr failure;
        auto scenario = [&]() -> asio::awaitable<void> {
          streamq::streams::publisher pub(c);
          const pid_t worker = spawn_worker(server.url(), topic);
          for (int i = 0; i < n; ++i) {
            streamq::test::Order order;
            order.set_id("order-" + std::to_string(i));
            co_await pub.publish(topic, order);
          }
          // let it handle some, then kill it without warning
          for (int i = 0; i < 1000 && (co_await handled_counts(c, topic)).size() < 60; ++i)
            co_await streamq::test::sleep_for(5ms);
          ::kill(worker, SIGKILL);
          int status = 0;
          ::waitpid(worker, &status, 0);
          CHECK(WIFSIGNALED(status));
          const auto handled_before = (co_await handled_counts(c, topic)).size();
          MESSAGE("worker handled " << handled_before << " of " << n << " before SIGKILL");
          CHECK(handled_before < n);

          const auto rescued = co_await streamq::test::rescue(c, topic, "g", n, 300ms);
          const auto counts = co_await handled_counts(c, topic);
          CHECK(counts.size() == n);  // every message handled at least once
          int duplicates = 0;
          for (const auto& [id, count] : counts) duplicates += count > 1 ? 1 : 0;
          MESSAGE("recovered by rescuer: claimed=" << rescued.claimed
                                                   << ", duplicates=" << duplicates
                                                   << ", dead-lettered=" << rescued.dead_lettered);
          CHECK(rescued.dead_lettered == 0);
        };
        auto guarded = [&]() -> asio::awaitable<void> {
          try {
            co_await scenario();
          } catch (...) {
            failure = std::current_exception();
          }
        };
        co_await (c.async_run(use_tuple) || guarded());
        if (failure) std::rethrow_exception(failure);
      },
      std::chrono::seconds(90));
}

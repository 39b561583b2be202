// A master with a replica: the replica is paused, the master killed, the replica promoted.
// Plain acknowledgements lose what the replica never got; publishes a durable_publisher
// confirmed (WAIT) are all on the promoted replica; a WAIT that times out is an error.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::streams::durability_config;
using streamq::streams::durable_publisher;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::redis_server;

namespace {

// A master and a replica of it, in sync.
struct replicated_pair {
  redis_server master;
  redis_server replica;

  replicated_pair() : replica(replica_options(master.port())) {
    for (int i = 0; i < 500; ++i) {
      if (replica.command({"INFO", "replication"}).find("master_link_status:up") !=
          std::string::npos)
        return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the replica did not sync with its master: " << replica.log_tail());
  }

  static redis_server::options replica_options(std::uint16_t master_port) {
    redis_server::options o;
    o.extra_args = {"--replicaof", "127.0.0.1", std::to_string(master_port)};
    return o;
  }

  // The master dies; the replica takes over.
  void fail_over() {
    master.kill();
    if (!replica.running()) return;
    replica.resume();
    CHECK(replica.command({"REPLICAOF", "NO", "ONE"}).rfind("+OK", 0) == 0);
  }

  bool replica_has(const std::string& stream, const std::string& id) {
    return replica.command({"XRANGE", stream, id, id}) != "*0\r\n";
  }
};

Order order(int i) {
  Order o;
  o.set_id("seq-" + std::to_string(i));
  return o;
}

void print_ledger(const char* test, std::size_t ok, std::size_t lost, std::size_t recovered) {
  std::printf(
      "LEDGER {\"test\":\"%s\",\"ok\":%zu,\"lost\":%zu,\"duplicated\":0,\"reexecuted\":0,"
      "\"recovered\":%zu,\"unexpected\":0,\"recovery_ms\":0}\n",
      test, ok, lost, recovered);
}

}  // namespace

TEST_CASE("plain acknowledgements are lost when a lagging replica is promoted") {
  replicated_pair pair;
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  std::vector<std::string> acknowledged;
  // The replica falls behind: paused, and its link dropped by the master, so that nothing
  // more reaches it (a paused process still receives into its socket buffer).
  pair.replica.pause();
  CHECK(pair.master.command({"CLIENT", "KILL", "TYPE", "replica"}) == ":1\r\n");
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    streamq::streams::publisher pub(c);
    for (int i = 0; i < 200; ++i) acknowledged.push_back(co_await pub.publish(topic, order(i)));
  });
  pair.fail_over();
  std::size_t lost = 0;
  for (const auto& id : acknowledged) lost += pair.replica_has(keys.stream(), id) ? 0 : 1;
  print_ledger("failover_plain_ack", acknowledged.size(), lost, 0);
  CHECK(lost == acknowledged.size());  // acknowledged by the master, gone with it
}

TEST_CASE("a WAIT that times out is surfaced as replication_timeout, not hidden") {
  replicated_pair pair;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config config;
    config.replicas = 1;
    config.timeout = 200ms;
    durable_publisher pub(c, config);
    std::exception_ptr failure;
    auto scenario = [&]() -> asio::awaitable<void> {
      CHECK_FALSE((co_await pub.publish(topic, order(1))).empty());  // confirmed
      pair.replica.pause();
      const auto started = std::chrono::steady_clock::now();
      boost::system::error_code why;
      try {
        co_await pub.publish(topic, order(2));
      } catch (const boost::system::system_error& e) {
        why = e.code();
      }
      CHECK(why == streamq::streams::errc::replication_timeout);
      CHECK(std::chrono::steady_clock::now() - started >= 200ms);
      pair.replica.resume();
      CHECK_FALSE((co_await pub.publish(topic, order(3))).empty());
      CHECK(pub.stats().confirmed == 2);
      CHECK(pub.stats().unconfirmed == 1);
    };
    co_await (pub.run() || streamq::test::capture_failure(scenario(), failure));
    if (failure) std::rethrow_exception(failure);
  });
}

TEST_CASE("no WAIT-confirmed publish is lost when the master dies mid-stream") {
  replicated_pair pair;
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  std::vector<std::string> confirmed;
  std::size_t failed = 0;
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config config;
    config.replicas = 1;
    config.timeout = 500ms;
    config.request_timeout = 1s;  // the master is gone for good: fail fast
    durable_publisher pub(c, config);
    std::size_t finished = 0;
    constexpr int publishers = 16, each = 100;
    std::exception_ptr failure;
    auto scenario = [&]() -> asio::awaitable<void> {
      for (int w = 0; w < publishers; ++w)
        asio::co_spawn(
            c.get_executor(),
            [&, w]() -> asio::awaitable<void> {
              for (int i = 0; i < each; ++i) {
                try {
                  confirmed.push_back(co_await pub.publish(topic, order(w * each + i)));
                } catch (const boost::system::system_error&) {
                  ++failed;   // not confirmed: may or may not be anywhere
                  co_return;  // the master is gone: this publisher stops
                }
              }
            },
            [&](std::exception_ptr) { ++finished; });
      co_await streamq::test::wait_until([&] { return confirmed.size() >= 300; });
      pair.fail_over();  // mid-stream: publishes in flight fail
      co_await streamq::test::wait_until([&] { return finished == publishers; }, 60s);
    };
    co_await (pub.run() || streamq::test::capture_failure(scenario(), failure));
    if (failure) std::rethrow_exception(failure);
  });
  std::size_t lost = 0;
  for (const auto& id : confirmed) lost += pair.replica_has(keys.stream(), id) ? 0 : 1;
  print_ledger("failover_wait_confirmed", confirmed.size(), lost, 0);
  std::printf("failover with WAIT: %zu confirmed, %zu failed or unconfirmed, %zu lost\n",
              confirmed.size(), failed, lost);
  CHECK(confirmed.size() >= 300);
  CHECK(lost == 0);
}

TEST_CASE("a durable publish is refused before sending: invalid topic name, oversized message") {
  replicated_pair pair;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config config;
    config.limits.max_payload_bytes = 64;
    durable_publisher pub(c, config);
    std::exception_ptr failure;
    auto refused = [&](std::string name,
                       Order message) -> asio::awaitable<boost::system::error_code> {
      try {
        co_await pub.publish(name, message);
      } catch (const boost::system::system_error& e) {
        co_return e.code();
      }
      co_return boost::system::error_code{};
    };
    auto scenario = [&]() -> asio::awaitable<void> {
      CHECK(co_await refused("bad topic{name}", order(1)) == streamq::streams::errc::invalid_name);
      Order big = order(2);
      big.set_id(std::string(200, 'x'));
      CHECK(co_await refused(topic, big) == streamq::streams::errc::message_too_large);
      // The same topic twice (its stream key is computed once), then confirmed as usual.
      CHECK_FALSE((co_await pub.publish(topic, order(3))).empty());
      CHECK_FALSE((co_await pub.publish(topic, order(4))).empty());
      CHECK(pub.stats().failed == 2);
      CHECK(pub.stats().confirmed == 2);
      CHECK(pair.master.command({"XLEN", topic_keys(topic).stream()}) == ":2\r\n");
    };
    co_await (pub.run() || streamq::test::capture_failure(scenario(), failure));
    if (failure) std::rethrow_exception(failure);
  });
}

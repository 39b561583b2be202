// A master with a replica: the replica is paused, the master killed, the replica promoted.
// Plain acknowledgements lose what the replica never got; publishes a durable_publisher
// confirmed (WAIT) are all on the promoted replica; a WAIT that times out is an error.
#include "support/async_test.hpp"
#include "support/ledger.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::streams::durability_config;
using streamq::streams::durable_publisher;
using streamq::streams::topic_keys;
using streamq::test::ledger;
using streamq::test::ledger_scope;
using streamq::test::Order;
using streamq::test::redis_server;

namespace {

// A numeric field of an INFO reply ("name:N" or, inside a line, "name=N"), or -1 if missing.
long long info_number(const std::string& info, const std::string& prefix) {
  const auto at = info.find(prefix);
  if (at == std::string::npos) return -1;
  return std::stoll(info.substr(at + prefix.size()));
}

// The master's INFO line about its replica, or "" while it has none.
std::string replica_line(const std::string& master_info) {
  const auto at = master_info.find("\nslave0:");
  if (at == std::string::npos) return "";
  const auto end = master_info.find('\n', at + 1);
  return master_info.substr(at + 1, end == std::string::npos ? end : end - at - 1);
}

// A master and a replica of it, in sync.
struct replicated_pair {
  redis_server master;
  redis_server replica;

  replicated_pair() : master(master_options()), replica(replica_options(master.port())) {
    wait_in_sync();
  }

  // The master starts the full sync at once; by default it waits 5 s for more replicas
  // (repl-diskless-sync-delay), which is nothing this file tests.
  static redis_server::options master_options() {
    redis_server::options o;
    o.extra_args = {"--repl-diskless-sync-delay", "0"};
    return o;
  }

  static redis_server::options replica_options(std::uint16_t master_port) {
    redis_server::options o;
    o.extra_args = {"--replicaof", "127.0.0.1", std::to_string(master_port)};
    return o;
  }

  // Waits, by state, until the replica acknowledges everything the master wrote: what WAIT
  // needs. A loaded machine may take long: the bound is generous and only ends a hung test.
  // "online" alone is not enough: after a diskless full sync the master streams nothing to the
  // replica before its first REPLCONF ACK (sent once a second), while both offsets read 0. So
  // the master's offset is moved on (a PUBLISH is replicated) and the replica must ack it.
  void wait_in_sync() {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::string state;
    bool probed = false;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string link = replica.command({"INFO", "replication"});
      state = master.command({"INFO", "replication"});
      const std::string line = replica_line(state);
      if (link.find("master_link_status:up") != std::string::npos &&
          line.find(",state=online,") != std::string::npos) {
        if (!probed) {
          master.command({"PUBLISH", "streamq-test:sync-probe", "x"});
          probed = true;
          continue;
        }
        if (info_number(line, ",offset=") == info_number(state, "\nmaster_repl_offset:")) return;
      }
      std::this_thread::sleep_for(20ms);
    }
    FAIL("the replica did not catch up with its master within 60 s: " << state
                                                                      << replica.log_tail());
  }

  // The master dies; the replica takes over.
  void fail_over() {
    master.kill();
    if (!replica.running()) return;
    replica.resume();
    CHECK(replica.command({"REPLICAOF", "NO", "ONE"}).rfind("+OK", 0) == 0);
  }
};

Order order(std::uint64_t seq) {
  Order o;
  o.set_id(ledger::label(seq));
  return o;
}

// Publishing alone, and nothing is attempted after the failover: the ledger measures what
// the promoted replica holds (read back with drain_promoted_replica).
constexpr ledger_scope failover_scope{.handlers = false, .recovery = false};

// Reads the topic back from the promoted replica into `book` (no consumer group here).
void drain_promoted_replica(replicated_pair& pair, const std::string& topic, ledger& book) {
  streamq::test::run_with_client(pair.replica.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::test::drain_into(c, topic, "none", book);
  });
}

}  // namespace

TEST_CASE("plain acknowledgements are lost when a lagging replica is promoted") {
  replicated_pair pair;
  const auto topic = streamq::test::unique_topic();
  ledger book("failover_plain_ack", failover_scope);
  // The replica falls behind: paused, and its link dropped by the master, so that nothing
  // more reaches it (a paused process still receives into its socket buffer).
  pair.replica.pause();
  CHECK(pair.master.command({"CLIENT", "KILL", "TYPE", "replica"}) == ":1\r\n");
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    streamq::streams::publisher pub(c);
    for (int i = 0; i < 200; ++i) {
      const auto seq = book.next_sequence();
      co_await pub.publish(topic, order(seq));
      book.record_publish(seq, ledger::outcome::ok);
    }
  });
  pair.fail_over();
  drain_promoted_replica(pair, topic, book);
  const auto r = book.print();
  CHECK(r.ok == 200);
  CHECK(r.lost == r.ok);  // acknowledged by the master, gone with it
  CHECK(r.unexpected == 0);
}

TEST_CASE("a WAIT that times out is surfaced as replication_timeout, not hidden") {
  replicated_pair pair;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config config;
    config.replicas = 1;
    // Long enough for a replica in sync to acknowledge on a loaded machine; the paused one
    // never does, so its publish takes all of it.
    config.timeout = 1s;
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
      CHECK(std::chrono::steady_clock::now() - started >= config.timeout);
      pair.replica.resume();
      pair.wait_in_sync();  // it catches up on what it missed; then WAIT is answered again
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
  ledger book("failover_wait_confirmed", failover_scope);
  std::size_t confirmed = 0;
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
            [&]() -> asio::awaitable<void> {
              for (int i = 0; i < each; ++i) {
                const auto seq = book.next_sequence();
                try {
                  co_await pub.publish(topic, order(seq));
                  book.record_publish(seq, ledger::outcome::ok);
                  ++confirmed;
                } catch (const boost::system::system_error& e) {
                  // Not confirmed: on the master, maybe on the replica too, or refused.
                  const bool maybe_written =
                      e.code() == streamq::streams::errc::replication_timeout ||
                      e.code() == streamq::streams::errc::publish_indeterminate;
                  book.record_publish(seq, maybe_written ? ledger::outcome::indeterminate
                                                         : ledger::outcome::failed);
                  co_return;  // the master is gone: this publisher stops
                }
              }
            },
            [&](std::exception_ptr) { ++finished; });
      co_await streamq::test::wait_until([&] { return confirmed >= 300; });
      pair.fail_over();  // mid-stream: publishes in flight fail
      co_await streamq::test::wait_until([&] { return finished == publishers; }, 60s);
    };
    co_await (pub.run() || streamq::test::capture_failure(scenario(), failure));
    if (failure) std::rethrow_exception(failure);
  });
  drain_promoted_replica(pair, topic, book);
  const auto r = book.print();
  std::printf("failover with WAIT: %llu confirmed, %llu failed or unconfirmed, %llu lost\n",
              static_cast<unsigned long long>(r.ok),
              static_cast<unsigned long long>(r.failed + r.indeterminate),
              static_cast<unsigned long long>(r.lost));
  CHECK(r.ok >= 300);
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  CHECK(r.unexpected == 0);
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

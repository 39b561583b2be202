// Sentinel mode against real sentinels (test/support/redis_sentinel.hpp: a master, a replica and
// three sentinels on loopback): the fixture itself; finding the master and refusing a node that
// is not one (ROLE, READONLY); sentinel credentials and TLS; SENTINEL FAILOVER and a SIGKILLed
// master under load, each with LEDGER lines; consumers and the scheduler after a failover.
// TLS to the data nodes: sentinel_tls_test.cpp.
//
// ctest labels `integration` and `cluster` (built into streamq-cluster-tests).
#include "support/async_test.hpp"
#include "support/ledger.hpp"
#include "support/proxy_scenarios.hpp"
#include "support/redis_sentinel.hpp"
#include "support/redis_server.hpp"
#include "support/sentinel_scenarios.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/config.hpp>
#include <streamq/redis/connection.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace redis = streamq::redis;
using namespace std::chrono_literals;
using redis::client_errc;
using streamq::client;
using streamq::run_until;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::consumer;
using streamq::streams::durability_config;
using streamq::streams::durable_publisher;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::topic_keys;
using streamq::test::fast_sentinel_client;
using streamq::test::ledger;
using streamq::test::ledger_scope;
using streamq::test::on_helper_thread;
using streamq::test::Order;
using streamq::test::redis_sentinel;
using streamq::test::redis_server;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A client of the fixture's sentinels, tuned to notice failures and come back quickly.
redis::connection_config client_config(const redis_sentinel& s) {
  return fast_sentinel_client(redis::parse_url(s.url()));
}

// A port that was free a moment ago and is closed now: a sentinel that is not there.
std::uint16_t closed_port() {
  redis_server gone;
  return gone.port();
}

std::string xlen(const redis_server& node, const std::string& topic) {
  return node.command({"XLEN", topic_keys(topic).stream()});
}

Order order(std::uint64_t seq) {
  Order o;
  o.set_id(ledger::label(seq));
  o.set_amount_cents(static_cast<std::int64_t>(seq));
  return o;
}

}  // namespace

TEST_CASE("sentinel: the fixture - three sentinels agree on the master and the replica follows") {
  redis_sentinel s;
  CHECK(s.sentinel_count() == 3);
  CHECK(s.master() == 0);
  CHECK(s.role(0) == "master");
  CHECK(s.role(1) == "slave");
  for (std::size_t i = 0; i < s.sentinel_count(); ++i)
    CHECK(s.sentinel_command(i, {"PING"}) == "+PONG\r\n");
  CHECK(s.data_node(0).command({"SET", "fixture:k", "v1"}) == "+OK\r\n");
  CHECK(s.data_node(0).command({"WAIT", "1", "5000"}) == ":1\r\n");
  CHECK(s.data_node(1).command({"GET", "fixture:k"}) == "$2\r\nv1\r\n");
  // A manual failover swaps the roles; the old master follows the new one afterwards.
  CHECK(s.failover() == 1);
  CHECK(s.role(1) == "master");
  s.wait_replicating(0);
  CHECK(s.role(0) == "slave");
  CHECK(s.data_node(0).command({"GET", "fixture:k"}) == "$2\r\nv1\r\n");
  s.wait_until_ready();
}

TEST_CASE("sentinel: a client finds the master past a dead sentinel and writes there") {
  redis_sentinel s;
  auto config = client_config(s);
  // The first sentinel listed is not there: the next one answers, and is asked first after.
  config.sentinel.addresses.insert(config.sentinel.addresses.begin(),
                                   redis::seed_address{"127.0.0.1", closed_port()});
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_config(config, [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    for (std::uint64_t i = 1; i <= 10; ++i) co_await pub.publish(topic, order(i));
    CHECK(xlen(s.data_node(0), topic) == ":10\r\n");
    CHECK_FALSE(c.shared_connection().last_error());
    CHECK(c.shared_connection().stats().connects == 1);
    // A dedicated connection (blocking reads) resolves the same way and checks ROLE.
    auto dedicated = c.make_dedicated_connection("test");
    redis::error_code ended;
    dedicated->async_run([&ended](redis::error_code ec) { ended = ec; });
    request role;
    role.push("ROLE");
    streamq::resp::generic_response reply;
    const auto [ec] =
        co_await streamq::with_deadline(dedicated->async_exec(role, reply, use_tuple), 5s);
    CHECK_FALSE(ec);
    REQUIRE(reply.values().size() == 1);
    CHECK(reply.values()[0].elements.at(0).text == "master");
    dedicated->cancel();
    co_await streamq::test::wait_until(
        [&] { return dedicated->state() == redis::connection_state::stopped; }, 5s);
    CHECK(ended == client_errc::shut_down);
  });
}

TEST_CASE("sentinel: a demoted node is refused - READONLY ends the session and ROLE keeps it out") {
  redis_sentinel s;
  // A second master name, watched by one sentinel only, for a standalone node this test
  // demotes behind the sentinels' back: the sentinel keeps naming it, as a stale one would.
  redis_server solo;
  const std::string port = std::to_string(solo.port());
  REQUIRE(s.sentinel_command(0, {"SENTINEL", "MONITOR", "solo", "127.0.0.1", port, "1"}) ==
          "+OK\r\n");
  auto config = fast_sentinel_client(redis::parse_url(
      "redis+sentinel://127.0.0.1:" + std::to_string(s.sentinel_port(0)) + "/solo"));
  const std::string nowhere = std::to_string(closed_port());
  streamq::test::run_with_connection(config, [&](redis::connection& conn) -> asio::awaitable<void> {
    auto set = [&](const char* value) -> asio::awaitable<redis::error_code> {
      request req;
      req.push("SET", streamq::resp::key{"solo:k"}, value);
      response<std::string> reply;
      const auto [ec] = co_await streamq::with_deadline(conn.async_exec(req, reply, use_tuple), 1s);
      if (ec) co_return ec;
      co_return reply.get<0>().error();
    };
    CHECK_FALSE(co_await set("1"));
    CHECK(solo.command({"GET", "solo:k"}) == "$1\r\n1\r\n");

    // Demoted (a replica of nothing): the next write is refused by the server, and that
    // READONLY ends the session; the sentinel still names the node, ROLE keeps it out.
    REQUIRE(solo.command({"REPLICAOF", "127.0.0.1", nowhere}) == "+OK\r\n");
    CHECK(co_await set("2") == streamq::resp::server_errc::readonly);
    co_await streamq::test::wait_until([&] { return conn.last_error() == client_errc::not_master; },
                                       5s);
    const auto connects = conn.stats().connects;
    const auto deadline = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < deadline) {
      CHECK(conn.state() != redis::connection_state::connected);
      co_await streamq::test::sleep_for(20ms);
    }
    CHECK(conn.stats().connects == connects);
    CHECK(conn.last_error() == client_errc::not_master);
    CHECK(co_await set("3") == client_errc::timeout);  // waited, never written
    CHECK(solo.command({"GET", "solo:k"}) == "$1\r\n1\r\n");

    // A master again: the waiting connection comes back by itself.
    REQUIRE(solo.command({"REPLICAOF", "NO", "ONE"}) == "+OK\r\n");
    co_await streamq::test::wait_until(
        [&] { return conn.state() == redis::connection_state::connected; }, 5s);
    CHECK_FALSE(co_await set("4"));
    CHECK(solo.command({"GET", "solo:k"}) == "$1\r\n4\r\n");
  });
  CHECK(s.sentinel_command(0, {"SENTINEL", "REMOVE", "solo"}) == "+OK\r\n");
}

TEST_CASE("sentinel: sentinel credentials and TLS are the sentinels' own") {
  redis_sentinel::options opts;
  opts.data_password = "data-pw";
  opts.sentinel_password = "sentinel-pw";
  opts.tls = true;
  redis_sentinel s(opts);
  std::string tls_sentinels;
  for (std::size_t i = 0; i < s.sentinel_count(); ++i)
    tls_sentinels +=
        (i == 0 ? "127.0.0.1:" : ",127.0.0.1:") + std::to_string(s.sentinel_tls_port(i));
  auto config_with = [&](const std::string& sentinel_pw, const std::string& data_pw) {
    auto config = fast_sentinel_client(
        redis::parse_url("redis+sentinel://:" + data_pw + "@" + tls_sentinels +
                         "/mymaster?sentinel_tls=1&sentinel_password=" + sentinel_pw));
    config.tls.ca_file = s.ca_cert();
    config.reconnect.enabled = false;
    return config;
  };
  // Both right: the data node's password goes to the master, the sentinels' to them, over TLS.
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_config(config_with("sentinel-pw", "data-pw"),
                                 [&](client& c) -> asio::awaitable<void> {
                                   publisher pub(c);
                                   co_await pub.publish(topic, order(1));
                                   CHECK_FALSE(c.shared_connection().last_error());
                                 });
  CHECK(xlen(s.data_node(0), topic) == ":1\r\n");
  const auto run_once = [](const redis::connection_config& config) {
    return streamq::test::run_with_connection(
        config,
        [](redis::connection&) -> asio::awaitable<void> { co_await streamq::test::sleep_for(3s); });
  };
  // The sentinels refuse a wrong sentinel password: no sentinel names the master.
  CHECK(run_once(config_with("wrong", "data-pw")) == client_errc::sentinel_unavailable);
  // The data password is the master's: a wrong one is the master's refusal (fatal).
  CHECK(run_once(config_with("sentinel-pw", "wrong")) == streamq::resp::server_errc::wrongpass);
  // Plain TCP to TLS ports: the sentinels do not answer.
  auto plain = config_with("sentinel-pw", "data-pw");
  plain.sentinel.tls = false;
  CHECK(run_once(plain) == client_errc::sentinel_unavailable);
}

TEST_CASE("sentinel: SENTINEL FAILOVER under load - publisher and consumer carry on") {
  // Writes fenced on the old master while its replica takes over (CLIENT PAUSE WRITE, as
  // CLUSTER FAILOVER does by itself): nothing confirmed may be lost.
  redis_sentinel s;
  ledger book(streamq::test::test_name());
  const auto attempts = streamq::test::failover_under_load(s, book, client_config(s), true);
  const auto r = book.print();
  streamq::test::check_ledger(r, attempts);
}

TEST_CASE("sentinel: SENTINEL FAILOVER under load without fencing - loss reported") {
  // SENTINEL FAILOVER alone does not fence the old master: until the switch is announced
  // (about a second after the replica's promotion) it takes writes the new master never gets.
  // Whatever the consumer did not read from it before moving is lost: the LEDGER line says
  // how much (0 to 2 in runs here). Nothing may appear that was not published.
  redis_sentinel s;
  ledger book(streamq::test::test_name());
  const auto attempts = streamq::test::failover_under_load(s, book, client_config(s), false);
  const auto r = book.print();
  CHECK(r.ok + r.failed + r.indeterminate == attempts);
  CHECK(r.ok > 0);
  CHECK(r.unexpected == 0);
  CHECK(r.duplicated == 0);
  MESSAGE("lost " << r.lost << " of " << r.ok << " confirmed publishes");
}

TEST_CASE(
    "sentinel: the master SIGKILLed under load - plain loss reported and durable confirmations "
    "kept") {
  redis_sentinel s;
  const std::string name = streamq::test::test_name();
  ledger plain(name + " - plain publishes");
  // Publishing alone: the durable topic is read back from the promoted master.
  ledger durable(name + " - durable_publisher", ledger_scope{.handlers = false, .recovery = true});
  const auto plain_topic = streamq::test::unique_topic();
  const auto durable_topic = streamq::test::unique_topic();
  const std::size_t old_master = s.master();
  std::size_t promoted = old_master;
  std::uint64_t during = 0;
  std::uint64_t confirmed = 0;
  std::uint64_t confirmed_after_restart = 0;
  streamq::test::run_with_config(
      client_config(s),
      [&](client& c) -> asio::awaitable<void> {
        publisher pub(c);
        durability_config dc;
        dc.replicas = 1;
        dc.timeout = 500ms;
        dc.request_timeout = 1s;  // the master is gone until promotion: fail fast
        durable_publisher dpub(c, dc);
        consumer con(c, streamq::test::fast_consumer_config());
        streamq::test::subscribe_ledger(con, plain_topic, plain);
        bool stop_durable = false;
        bool durable_done = false;
        auto durable_loop = [&]() -> asio::awaitable<void> {
          while (!stop_durable) {
            const auto seq = durable.next_sequence();
            bool refused = false;
            try {
              co_await dpub.publish(durable_topic, order(seq));
              durable.record_publish(seq, ledger::outcome::ok);
              ++confirmed;
            } catch (const boost::system::system_error& e) {
              // Not confirmed: on the master, maybe on the replica too, or refused.
              const bool maybe_written = e.code() == streamq::streams::errc::replication_timeout ||
                                         e.code() == streamq::streams::errc::publish_indeterminate;
              durable.record_publish(
                  seq, maybe_written ? ledger::outcome::indeterminate : ledger::outcome::failed);
              refused = true;
            }
            if (refused) co_await streamq::test::sleep_for(5ms);  // no busy loop while failing
          }
        };
        // Recovery counts from the moment the client's connection to the master ended.
        const auto losses = c.shared_connection().stats().connection_losses;
        bool noticed = false;
        auto notice = [&] {
          if (noticed) return;
          noticed = true;
          plain.fault_injected();
          durable.fault_injected();
        };
        const std::function<void()> fault = [&] { promoted = s.kill_master(); };
        const std::function<asio::awaitable<void>()> meanwhile = [&]() -> asio::awaitable<void> {
          if (c.shared_connection().stats().connection_losses > losses) notice();
          ++during;
          co_await streamq::test::publish_one(pub, plain_topic, plain);
        };
        auto scenario = [&]() -> asio::awaitable<void> {
          asio::co_spawn(c.get_executor(), durable_loop(),
                         [&](std::exception_ptr) { durable_done = true; });
          for (int i = 0; i < 200; ++i)
            co_await streamq::test::publish_one(pub, plain_topic, plain);
          co_await streamq::test::wait_until([&] { return confirmed >= 100; }, 30s);
          co_await streamq::test::poll_until([&] { return plain.outstanding() == 0; }, 30s);
          co_await on_helper_thread(fault, meanwhile);
          notice();  // the loss came after the last publish
          for (int i = 0; i < 200; ++i)
            co_await streamq::test::publish_one(pub, plain_topic, plain);
          // The killed node back (on this thread, which its process dies with): the sentinels
          // make it a replica of the new master, and WAIT is answered again.
          s.restart_data_node(old_master);
          const auto at_restart = confirmed;
          CHECK(co_await streamq::test::poll_until([&] { return confirmed >= at_restart + 20; },
                                                   90s));
          confirmed_after_restart = confirmed - at_restart;
          stop_durable = true;
          co_await streamq::test::wait_until([&] { return durable_done; }, 10s);
          // What was lost with the master is never handled: wait a while, then count.
          co_await streamq::test::poll_until([&] { return plain.outstanding() == 0; }, 5s);
        };
        co_await run_until(dpub.run(), streamq::test::run_alongside(con, scenario()));
        co_await streamq::test::drain_into(c, plain_topic, "g", plain);
        co_await streamq::test::drain_into(c, durable_topic, "none", durable);
      },
      240s);
  const auto p = plain.print();
  const auto d = durable.print();
  MESSAGE("plain publishes while the master was down: " << during << "; plain lost " << p.lost
                                                        << " of " << p.ok << " confirmed");
  MESSAGE("durable: " << d.ok << " confirmed (" << confirmed_after_restart
                      << " after the old master rejoined), " << d.indeterminate << " unconfirmed, "
                      << d.failed << " failed, " << d.lost << " lost");
  CHECK(promoted != old_master);
  // Plain publishes: asynchronous replication may lose acknowledged writes; the figure is in
  // the LEDGER line. Nothing may appear that was not published.
  CHECK(p.ok + p.failed + p.indeterminate == 400 + during);
  CHECK(p.ok > 0);
  CHECK(p.unexpected == 0);
  // Durable confirmations: every one is on the promoted master.
  CHECK(d.ok >= 120);
  CHECK(d.lost == 0);
  CHECK(d.duplicated == 0);
  CHECK(d.unexpected == 0);
}

TEST_CASE(
    "sentinel: consumers and the scheduler carry on after a failover - a task scheduled before is "
    "delivered after") {
  redis_sentinel s;
  const auto topic = streamq::test::unique_topic();
  std::map<std::string, int> runs;
  using clock = std::chrono::steady_clock;
  clock::time_point failover_done{}, delayed_handled{};
  std::size_t promoted = 0;
  std::uint64_t moved = 0;
  streamq::test::run_with_config(
      client_config(s),
      [&](client& c) -> asio::awaitable<void> {
        scheduler_config sc;
        sc.topics = {topic};
        scheduler sch(c, sc);
        publisher pub(c);
        consumer con(c, streamq::test::fast_consumer_config());
        con.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
          ++runs[o.id()];
          if (o.id() == "delayed") delayed_handled = clock::now();
          co_return;
        });
        const std::function<void()> fault = [&] { promoted = s.failover(); };
        const std::function<asio::awaitable<void>()> idle = []() -> asio::awaitable<void> {
          co_await streamq::test::sleep_for(20ms);
        };
        auto scenario = [&]() -> asio::awaitable<void> {
          co_await pub.publish(topic, streamq::test::order_with_id("before"));
          // Due well after the failover is over (it takes a second or two).
          co_await sch.publish_in(topic, streamq::test::order_with_id("delayed"), 8s);
          co_await streamq::test::wait_until([&] { return runs.count("before") == 1; }, 10s);
          co_await on_helper_thread(fault, idle);
          failover_done = clock::now();
          co_await pub.publish(topic, streamq::test::order_with_id("after"));
          co_await streamq::test::wait_until(
              [&] { return runs.count("after") == 1 && runs.count("delayed") == 1; }, 30s);
          CHECK(co_await sch.scheduled_count(topic) == 0);
          moved = sch.stats().moved;
        };
        co_await run_until(sch.run(), streamq::test::run_alongside(con, scenario()));
        CHECK(co_await streamq::test::pending_count(c, topic, "g") == 0);
      },
      120s);
  CHECK(runs == std::map<std::string, int>{{"after", 1}, {"before", 1}, {"delayed", 1}});
  CHECK(delayed_handled > failover_done);
  CHECK(moved == 1);
  CHECK(promoted == 1);
  CHECK(s.role(1) == "master");
}

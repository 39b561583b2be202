// Sentinel mode with TLS to the data nodes (test/support/redis_sentinel.hpp, options.tls_data:
// the master and the replica reachable, at the addresses the sentinels name, over TLS only,
// replicating over TLS under one CA; the client asks the sentinels over plain TCP). A client
// configured by URL finds the master, publishes and consumes through a SENTINEL FAILOVER
// (LEDGER line) with every connection on a TLS port; a wrong CA or name ends run() with a TLS
// error instead of hanging or retrying; plaintext gets no session. And TLS everywhere: one
// rediss+sentinel:// URL for TLS sentinels and TLS data nodes. The sentinels' own TLS and
// credentials: sentinel_test.cpp.
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
#include <streamq/redis/error.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>

namespace asio = boost::asio;
namespace redis = streamq::redis;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::streams::consumer;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::test::ledger;
using streamq::test::Order;
using streamq::test::redis_sentinel;
using streamq::test::redis_server;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

redis_sentinel::options tls_data_nodes() {
  redis_sentinel::options opts;
  opts.tls_data = true;
  return opts;
}

// What an application writes: rediss+sentinel:// is TLS to the master and to the sentinels,
// sentinel_tls=0 keeps the sentinels on plain TCP; `ca` verifies the data nodes, which demand
// a client certificate.
redis::connection_config tls_data_config(const redis_sentinel& s, const std::string& ca) {
  const std::string sentinels_and_name = s.url().substr(s.url().find("://") + 3);
  return streamq::test::fast_sentinel_client(
      redis::parse_url("rediss+sentinel://" + sentinels_and_name + "?sentinel_tls=0&ca=" + ca +
                       "&cert=" + s.client_cert() + "&key=" + s.client_key()));
}

// The client's connections to `node` (named streamq*: the shared one and the dedicated ones;
// its sentinel links go to the sentinels) counted by the port they came in on (CLIENT LIST's
// laddr), so a test sees whether they used the TLS port.
std::map<std::uint16_t, int> streamq_clients_by_port(const redis_server& node) {
  std::map<std::uint16_t, int> by_port;
  std::istringstream lines(node.command({"CLIENT", "LIST"}));
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" name=streamq") == std::string::npos) continue;
    const auto laddr = line.find(" laddr=");
    if (laddr == std::string::npos) continue;
    const auto end = line.find(' ', laddr + 1);  // laddr=IP:PORT, IPv6 addresses included
    const auto colon = line.rfind(':', end);
    ++by_port[static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1, end - colon - 1)))];
  }
  return by_port;
}

// How a client that never got a session ended: run()'s result, a publish's, the shared
// connection's last_error(), and how long run() took.
struct refusal {
  redis::error_code ran, published, last;
  std::chrono::milliseconds took{};
};

// Runs a client made from `config` (reconnecting on, as an application has it) with one
// publish to `topic` until both have ended; a hang fails the test at the limit.
refusal run_refused(const redis::connection_config& config, const std::string& topic) {
  refusal r;
  const auto started = std::chrono::steady_clock::now();
  streamq::test::run_coroutine(
      [&]() -> asio::awaitable<void> {
        client c(co_await asio::this_coro::executor, config);
        publisher pub(c);
        auto run = [&]() -> asio::awaitable<void> {
          const auto [ec] = co_await c.async_run(use_tuple);
          r.ran = ec;
        };
        auto publish = [&]() -> asio::awaitable<void> {
          try {
            co_await pub.publish(topic, streamq::test::order_with_id("never"));
          } catch (const boost::system::system_error& e) {
            r.published = e.code();
          }
        };
        co_await (run() && publish());
        r.last = c.shared_connection().last_error();
      },
      30s);
  r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started);
  return r;
}

std::string bulk(const std::string& text) {
  return "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
}

}  // namespace

TEST_CASE("sentinel: TLS data nodes - found and followed through SENTINEL FAILOVER over TLS") {
  redis_sentinel s(tls_data_nodes());
  // The sentinels name the master's TLS port: a client can only talk TLS there.
  REQUIRE(s.master() == 0);
  CHECK(s.sentinel_command(0, {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.master_name()}) ==
        "*2\r\n" + bulk("127.0.0.1") + bulk(std::to_string(s.data_tls_port(0))));
  const auto config = tls_data_config(s, s.ca_cert());
  CHECK(config.tls.enabled);
  CHECK_FALSE(config.sentinel.tls);

  // Writes fenced during the switch, as in sentinel_test's failover: nothing may be lost.
  ledger book(streamq::test::test_name());
  std::map<std::uint16_t, int> on_new_master, on_old_master;
  const auto attempts = streamq::test::failover_under_load(s, book, config, true, [&] {
    on_new_master = streamq_clients_by_port(s.data_node(1));
    on_old_master = streamq_clients_by_port(s.data_node(0));
  });
  const auto r = book.print();
  streamq::test::check_ledger(r, attempts);
  // After the switch every connection of the client (the shared one, the consumer's) is on
  // the new master's TLS port, none left on the old master.
  REQUIRE(on_new_master.size() == 1);
  CHECK(on_new_master.begin()->first == s.data_tls_port(1));
  CHECK(on_new_master.begin()->second >= 2);
  CHECK(on_old_master.empty());
}

TEST_CASE(
    "sentinel: TLS data nodes - a wrong CA or name ends run() with a TLS error and plaintext gets "
    "no session") {
  redis_sentinel s(tls_data_nodes());
  const auto topic = streamq::test::unique_topic();
  // The sentinels answer (plain TCP); the master's certificate is refused, which reconnecting
  // cannot cure: run() ends, the publish waiting for a session fails with the same error.
  auto check_refused = [&](const char* what, const redis::connection_config& config) {
    const refusal r = run_refused(config, topic);
    MESSAGE(std::string(what) << ": run() ended after " << r.took.count()
                              << " ms: " << r.ran.message()
                              << "; the publish failed with: " << r.published.message());
    CHECK(r.ran.category() == asio::error::get_ssl_category());
    CHECK(redis::is_fatal(r.ran));
    CHECK(r.last == r.ran);
    CHECK(r.published == r.ran);
    CHECK(r.took < 10s);
  };
  // A CA that signed nothing here.
  check_refused("wrong CA", tls_data_config(s, s.other_ca_cert()));
  // The right CA, but a name the data nodes' certificate does not carry (tls.server_name is
  // verified on every data node the sentinels name).
  auto wrong_name = tls_data_config(s, s.ca_cert());
  wrong_name.tls.server_name = "not-the-server.example";
  check_refused("wrong name", wrong_name);
  CHECK(s.data_node(0).command({"XLEN", streamq::streams::topic_keys(topic).stream()}) == ":0\r\n");

  // TLS off: the client reaches the TLS port the sentinels name and speaks RESP in clear; the
  // server hangs up, no session ever starts.
  auto plain = tls_data_config(s, s.ca_cert());
  plain.tls.enabled = false;
  plain.reconnect.enabled = false;
  const auto ec = streamq::test::run_with_connection(
      plain,
      [](redis::connection&) -> asio::awaitable<void> { co_await streamq::test::sleep_for(3s); });
  MESSAGE("plaintext to a TLS data node: " << ec.message());
  CHECK(ec);
  CHECK(ec != redis::client_errc::shut_down);
}

TEST_CASE(
    "sentinel: TLS everywhere - one rediss+sentinel URL for the sentinels and the data nodes") {
  // The sentinels on their TLS ports too: what most deployments with TLS run. One CA, one
  // client certificate, one set of URL options for both sides.
  auto opts = tls_data_nodes();
  opts.tls = true;
  redis_sentinel s(opts);
  std::string url = "rediss+sentinel://";
  for (std::size_t i = 0; i < s.sentinel_count(); ++i)
    url += (i == 0 ? "127.0.0.1:" : ",127.0.0.1:") + std::to_string(s.sentinel_tls_port(i));
  url += "/" + s.master_name() + "?ca=" + s.ca_cert() + "&cert=" + s.client_cert() +
         "&key=" + s.client_key();
  const auto config = streamq::test::fast_sentinel_client(redis::parse_url(url));
  CHECK(config.tls.enabled);
  CHECK(config.sentinel.tls);
  const auto topic = streamq::test::unique_topic();
  constexpr int messages = 20;
  int handled = 0;
  std::map<std::uint16_t, int> on_master;
  streamq::test::run_with_config(config, [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer con(c, streamq::test::fast_consumer_config());
    con.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      ++handled;
      co_return;
    });
    auto scenario = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < messages; ++i)
        co_await pub.publish(topic, streamq::test::order_with_id("m" + std::to_string(i)));
      co_await streamq::test::wait_until([&] { return handled == messages; }, 10s);
      on_master = streamq_clients_by_port(s.data_node(0));
    };
    co_await streamq::test::run_alongside(con, scenario());
  });
  CHECK(handled == messages);
  REQUIRE(on_master.size() == 1);
  CHECK(on_master.begin()->first == s.data_tls_port(0));
  CHECK(on_master.begin()->second >= 2);
}

// durable_publisher's confirmations on disk (confirmation::fsynced and fsynced_if_available):
// WAITAOF where the server has it (Valkey 8.0 here, as Redis >= 7.2), refused before writing
// (or WAIT instead) where it has not (Redis 7.0) or where the AOF is off. Each test names its
// server program, whatever STREAMQ_REDIS_SERVER says, since the behaviour is the server's.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/error.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <dirent.h>
#include <exception>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::streams::confirmation;
using streamq::streams::durability_config;
using streamq::streams::durable_publisher;
using streamq::streams::errc;
using streamq::streams::topic_keys;
using streamq::test::order_with_id;
using streamq::test::redis_server;

namespace {

redis_server::options server_options(const std::string& program, bool aof) {
  redis_server::options o;
  o.program = program;
  o.appendonly = aof ? "yes" : "no";
  // A replica's first sync would wait 5 s for more replicas to share it: nothing tested here.
  o.extra_args = {"--repl-diskless-sync-delay", "0"};
  return o;
}

// A master and one replica of the same program, in sync.
struct server_pair {
  redis_server master;
  redis_server replica;

  server_pair(const std::string& program, bool master_aof, bool replica_aof)
      : master(server_options(program, master_aof)),
        replica(replica_of(program, replica_aof, master.port())) {
    // In sync, and done with the AOF rewrite a replica with an AOF starts after its first
    // sync: a SIGTERM that comes during that rewrite went unheeded here (the fixture's stop
    // then waits 5 s for a SIGKILL).
    auto has = [](const redis_server& s, const char* section, const char* line) {
      return s.command({"INFO", section}).find(line) != std::string::npos;
    };
    for (int i = 0; i < 1000; ++i) {
      if (has(replica, "replication", "master_link_status:up") &&
          has(replica, "persistence", "aof_rewrite_in_progress:0") &&
          has(replica, "persistence", "aof_rewrite_scheduled:0"))
        return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the replica did not sync: " << replica.log_tail());
  }
  static redis_server::options replica_of(const std::string& program, bool aof,
                                          std::uint16_t port) {
    auto o = server_options(program, aof);
    o.extra_args.insert(o.extra_args.end(), {"--replicaof", "127.0.0.1", std::to_string(port)});
    return o;
  }
};

// A durable publish's error code and what(); clear if it succeeded.
struct failure {
  boost::system::error_code code;
  std::string what;
};
asio::awaitable<failure> failure_of(std::function<asio::awaitable<std::string>()> call) {
  try {
    co_await call();
  } catch (const boost::system::system_error& e) {
    co_return failure{e.code(), e.what()};
  }
  co_return failure{};
}

asio::awaitable<void> while_running(durable_publisher& pub,
                                    std::function<asio::awaitable<void>()> scenario) {
  std::exception_ptr failed;
  co_await (pub.run() || streamq::test::capture_failure(scenario(), failed));
  if (failed) std::rethrow_exception(failed);
}

// Everything in the server's append-only files (appendonlydir/, multi-part AOF), as text.
std::string aof_text(const redis_server& server) {
  const std::string dir = server.dir() + "/appendonlydir";
  std::string text;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      std::ifstream in(dir + "/" + e->d_name, std::ios::binary);
      std::ostringstream out;
      out << in.rdbuf();
      text += out.str();
    }
    closedir(d);
  }
  return text;
}

std::string xlen(const redis_server& server, const topic_keys& keys) {
  return server.command({"XLEN", keys.stream()});
}

}  // namespace

TEST_CASE("durable fsynced on Redis 7.0: refused before writing, or WAIT where only preferred") {
  // Redis 7.0 has no WAITAOF, even with its AOF on.
  server_pair pair("redis-server", true, true);
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config required;
    required.confirm = confirmation::fsynced;
    required.timeout = 3000ms;
    durable_publisher strict(c, required);
    co_await while_running(strict, [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 2; ++i) {  // asked once: the second is refused from the answer kept
        const auto f = co_await failure_of([&] { return strict.publish(topic, order_with_id("a")); });
        CHECK(f.code == errc::fsync_unavailable);
        CHECK(f.what.find("WAITAOF") != std::string::npos);  // the server's words
      }
      CHECK(strict.stats().failed == 2);
      CHECK(strict.stats().round_trips == 0);
    });
    CHECK(xlen(pair.master, keys) == ":0\r\n");  // nothing was written

    durability_config preferred = required;
    preferred.confirm = confirmation::fsynced_if_available;
    durable_publisher lenient(c, preferred);
    co_await while_running(lenient, [&]() -> asio::awaitable<void> {
      co_await lenient.publish(topic, order_with_id("b"));
      co_await lenient.publish(topic, order_with_id("c"));
      CHECK(lenient.stats().confirmed == 2);
      CHECK(lenient.stats().fsynced == 0);  // WAIT: on the replica, in memory
    });
    CHECK(pair.replica.command({"XLEN", keys.stream()}) == ":2\r\n");
  });
}

TEST_CASE("durable fsynced on Valkey: confirmed once master and replica fsynced their AOF") {
  server_pair pair("valkey-server", true, true);
  REQUIRE(pair.master.command({"INFO", "server"}).find("server_name:valkey") != std::string::npos);
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config config;
    config.confirm = confirmation::fsynced;
    config.timeout = 3000ms;  // appendfsync everysec: an fsync comes within about a second
    durable_publisher pub(c, config);
    co_await while_running(pub, [&]() -> asio::awaitable<void> {
      // A group of three, then one alone: each confirmed from disk on both.
      const auto [a, b, d] = co_await (pub.publish(topic, order_with_id("fsync-a")) &&
                                       pub.publish(topic, order_with_id("fsync-b")) &&
                                       pub.publish(topic, order_with_id("fsync-d")));
      CHECK(a < b);
      CHECK(b < d);
      co_await pub.publish(topic, order_with_id("fsync-e"));
      CHECK(pub.stats().confirmed == 4);
      CHECK(pub.stats().fsynced == 4);
      // The AOF files hold them now, the master's and the replica's.
      for (const char* id : {"fsync-a", "fsync-e"}) {
        CHECK(aof_text(pair.master).find(id) != std::string::npos);
        CHECK(aof_text(pair.replica).find(id) != std::string::npos);
      }
      // A replica that cannot fsync in time (stopped): added, not confirmed.
      pair.replica.pause();
      const auto late = co_await failure_of([&] { return pub.publish(topic, order_with_id("f")); });
      pair.replica.resume();
      CHECK(late.code == errc::replication_timeout);
      CHECK(pub.stats().unconfirmed == 1);
    });
    CHECK(xlen(pair.master, keys) == ":5\r\n");
  });
}

TEST_CASE("durable fsynced on Valkey: a replica without AOF never confirms, AOF off refuses") {
  // The replica keeps everything in memory only: WAITAOF never counts it.
  server_pair pair("valkey-server", true, false);
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  streamq::test::run_with_client(pair.master.url(), [&](client& c) -> asio::awaitable<void> {
    durability_config config;
    config.confirm = confirmation::fsynced;
    config.timeout = 1500ms;
    durable_publisher pub(c, config);
    co_await while_running(pub, [&]() -> asio::awaitable<void> {
      const auto f = co_await failure_of([&] { return pub.publish(topic, order_with_id("a")); });
      CHECK(f.code == errc::replication_timeout);
      CHECK(pub.stats().fsynced == 0);
    });
    // The master's own disk is enough when no replica is asked for.
    config.replicas = 0;
    durable_publisher master_only(c, config);
    co_await while_running(master_only, [&]() -> asio::awaitable<void> {
      co_await master_only.publish(topic, order_with_id("b"));
      CHECK(master_only.stats().fsynced == 1);
      // The AOF switched off under a publisher that asked before: that publish is added and
      // not confirmed; the next one asks again and is refused before anything is written.
      CHECK(pair.master.command({"CONFIG", "SET", "appendonly", "no"}) == "+OK\r\n");
      const auto switched =
          co_await failure_of([&] { return master_only.publish(topic, order_with_id("c")); });
      CHECK(switched.code == errc::fsync_unavailable);
      CHECK(master_only.stats().unconfirmed == 1);
      const auto refused =
          co_await failure_of([&] { return master_only.publish(topic, order_with_id("d")); });
      CHECK(refused.code == errc::fsync_unavailable);
      CHECK(master_only.stats().failed == 1);
    });
    CHECK(xlen(pair.master, keys) == ":3\r\n");  // a, b, c; not d
    // fsynced_if_available with the AOF off: WAIT, and the in-memory replica counts.
    config.replicas = 1;
    config.confirm = confirmation::fsynced_if_available;
    durable_publisher lenient(c, config);
    co_await while_running(lenient, [&]() -> asio::awaitable<void> {
      co_await lenient.publish(topic, order_with_id("e"));
      CHECK(lenient.stats().confirmed == 1);
      CHECK(lenient.stats().fsynced == 0);
    });
  });
}

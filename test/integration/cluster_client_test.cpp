// streamq::client against a real local Redis Cluster (test/support/redis_cluster.hpp): mode
// detection, routing of keyed and keyless requests to the master of their slot, cross-slot
// requests refused, a slot migrated step by step under the client (ASK while migrating, MOVED
// after, TRYAGAIN for split multi-key commands), the periodic topology refresh, and a manual
// failover and a SIGKILLed master under a stream of requests; every write checked on the node
// that must hold it.
//
// ctest label `cluster` (as well as `integration`): ctest -L cluster.
#include "support/async_test.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>

#include <doctest/doctest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <map>
#include <thread>
#include <ostream>  // doctest prints error codes with it
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace redis = streamq::redis;
namespace resp = streamq::resp;
using namespace std::chrono_literals;
using streamq::client;
using streamq::test::cluster_role;
using streamq::test::redis_cluster;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// The master of every slot, from one look at the cluster.
std::vector<std::size_t> owners(const redis_cluster& c) {
  std::vector<std::size_t> out(16384);
  for (const auto& n : c.nodes())
    if (n.role == cluster_role::master)
      for (const auto& [first, last] : n.slots)
        for (std::size_t s = first; s <= last; ++s) out[s] = n.index;
  return out;
}

// One hash tag per master ("{t3}", ...): keys carrying it live on that master.
std::map<std::size_t, std::string> tag_per_master(const redis_cluster& c) {
  const auto owner = owners(c);
  std::map<std::size_t, std::string> out;
  for (int i = 0; out.size() < c.masters().size(); ++i) {
    const std::string tag = "{t" + std::to_string(i) + "}";
    out.try_emplace(owner[resp::hash_slot(tag)], tag);
  }
  return out;
}

// A RESP2 bulk string reply as redis_server::command returns it.
std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// INFO errorstats' MOVED (or ASK) count on `node`: how many redirections it answered.
long redirections(const redis_cluster& c, std::size_t node, const std::string& kind) {
  const std::string info = c.command(node, {"INFO", "errorstats"});
  const std::string field = "errorstat_" + kind + ":count=";
  const auto at = info.find(field);
  if (at == std::string::npos) return 0;
  return std::stol(info.substr(at + field.size()));
}

// run_with_client with a config instead of a URL.
void run_with_client_config(redis::connection_config config,
                            const std::function<asio::awaitable<void>(client&)>& body,
                            std::chrono::seconds limit = std::chrono::seconds(90)) {
  streamq::test::run_coroutine(
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        client c(co_await asio::this_coro::executor, config);
        std::exception_ptr failure;
        co_await (c.async_run(tuple_awaitable) ||
                  streamq::test::capture_failure(body(c), failure));
        if (failure) std::rethrow_exception(failure);
      },
      limit);
}

std::string seeds_url(const redis_cluster& c) {
  // Two seeds: cluster mode is detected (cluster=auto).
  return c.url(0) + "," + c.url(1).substr(std::string("redis://").size());
}

}  // namespace

TEST_CASE("cluster client: keys on every master round-trip through one client") {
  redis_cluster c;
  const auto tags = tag_per_master(c);
  REQUIRE(tags.size() == 3);
  streamq::test::run_with_client(seeds_url(c), [&](client& cl) -> asio::awaitable<void> {
    for (const auto& [master, tag] : tags) {
      INFO("master " << master << " tag " << tag);
      const std::string key = "kv:" + tag;
      const std::string stream = "s:" + tag;
      const std::string counter = "n:" + tag;
      const std::string scripted = "lua:" + tag;
      {
        resp::request req;
        req.push("SET", resp::key{key}, "value-" + tag);
        req.push("GET", resp::key{key});
        req.push("XADD", resp::key{stream}, "*", "f", "v");
        req.push("XRANGE", resp::key{stream}, "-", "+");
        resp::response<std::string, std::string, std::string, resp::value> r;
        const auto [ec] = co_await cl.async_exec(req, r, tuple_awaitable);
        REQUIRE_FALSE(ec);
        CHECK(r.get<0>().value() == "OK");
        CHECK(r.get<1>().value() == "value-" + tag);
        CHECK(r.get<3>().value().elements.size() == 1);
      }
      {
        resp::request req;
        req.push("EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", 1, resp::key{scripted},
                 "from-lua");
        resp::response<std::string> r;
        const auto [ec] = co_await cl.async_exec(req, r, tuple_awaitable);
        REQUIRE_FALSE(ec);
        CHECK(r.get<0>().value() == "OK");
      }
      {
        resp::request req;
        req.push("MULTI");
        req.push("INCR", resp::key{counter});
        req.push("INCR", resp::key{counter});
        req.push("EXEC");
        resp::response<std::string, std::string, std::string, std::vector<std::int64_t>> r;
        const auto [ec] = co_await cl.async_exec(req, r, tuple_awaitable);
        REQUIRE_FALSE(ec);
        CHECK(r.get<3>().value() == std::vector<std::int64_t>{1, 2});
      }
      // Stored by the master of the tag's slot (read there directly, not through the client).
      CHECK(c.command(master, {"GET", key}) == bulk("value-" + tag));
      CHECK(c.command(master, {"XLEN", stream}) == ":1\r\n");
      CHECK(c.command(master, {"GET", scripted}) == bulk("from-lua"));
      CHECK(c.command(master, {"GET", counter}) == bulk("2"));
    }
    // No keys: any master answers.
    resp::request ping;
    ping.push("PING");
    resp::response<std::string> pong;
    const auto [ping_ec] = co_await cl.async_exec(ping, pong, tuple_awaitable);
    REQUIRE_FALSE(ping_ec);
    CHECK(pong.get<0>().value() == "PONG");
  });
}

TEST_CASE("cluster client: a command or transaction whose keys span slots is refused before sending") {
  redis_cluster c;
  const auto tags = tag_per_master(c);
  const std::string a = "x:" + tags.begin()->second;
  const std::string b = "x:" + tags.rbegin()->second;
  streamq::test::run_with_client(c.url(0) + "?cluster=on", [&](client& cl) -> asio::awaitable<void> {
    resp::request req;
    req.push("MSET", resp::key{a}, "1", resp::key{b}, "2");
    REQUIRE(req.cross_slot());
    resp::response<std::string> r;
    const auto [ec] = co_await cl.async_exec(req, r, tuple_awaitable);
    CHECK(ec == redis::client_errc::cross_slot);
    // A transaction over two slots cannot run on one node: refused as well.
    resp::request two;
    two.push("MULTI");
    two.push("SET", resp::key{a}, "1");
    two.push("SET", resp::key{b}, "2");
    two.push("EXEC");
    resp::response<resp::value, resp::value, resp::value, resp::value> r2;
    const auto [ec2] = co_await cl.async_exec(two, r2, tuple_awaitable);
    CHECK(ec2 == redis::client_errc::cross_slot);
  });
  CHECK(c.command(c.owner(resp::hash_slot(a)), {"EXISTS", a}) == ":0\r\n");
  CHECK(c.command(c.owner(resp::hash_slot(b)), {"EXISTS", b}) == ":0\r\n");
}

TEST_CASE("cluster client: a pipeline over several masters is split and its replies come in order") {
  redis_cluster c;
  const auto tags = tag_per_master(c);
  REQUIRE(tags.size() == 3);
  std::vector<std::string> keys;
  for (const auto& [master, tag] : tags) keys.push_back("split:" + tag);
  streamq::test::run_with_client(c.url(0) + "?cluster=on", [&](client& cl) -> asio::awaitable<void> {
    // Interleaved: master 0, 1, 0, keyless, 2, 1; each INCR's reply says which it was.
    resp::request req;
    req.push("INCR", resp::key{keys[0]});
    req.push("INCRBY", resp::key{keys[1]}, 10);
    req.push("INCR", resp::key{keys[0]});
    req.push("PING");
    req.push("INCRBY", resp::key{keys[2]}, 100);
    req.push("INCRBY", resp::key{keys[1]}, 10);
    REQUIRE(req.cross_slot());
    resp::response<long long, long long, long long, std::string, long long, long long> r;
    const auto [ec] = co_await cl.async_exec(req, r, tuple_awaitable);
    REQUIRE_FALSE(ec);
    CHECK(r.get<0>().value() == 1);
    CHECK(r.get<1>().value() == 10);
    CHECK(r.get<2>().value() == 2);
    CHECK(r.get<3>().value() == "PONG");
    CHECK(r.get<4>().value() == 100);
    CHECK(r.get<5>().value() == 20);
    // A size mismatch is refused before anything is sent.
    resp::response<long long> one;
    const auto [mismatch] = co_await cl.async_exec(req, one, tuple_awaitable);
    CHECK(mismatch == redis::client_errc::response_size_mismatch);
  });
  // Each key is on its own master, with the value the pipeline left.
  std::size_t i = 0;
  for (const auto& [master, tag] : tags) {
    CHECK(c.command(master, {"GET", keys[i]}) ==
          bulk(i == 0 ? "2" : i == 1 ? "20" : "100"));
    ++i;
  }
}

TEST_CASE("cluster client: cluster=auto against a standalone server goes direct") {
  streamq::test::redis_server server;
  streamq::test::run_with_client(
      server.url() + "?cluster=auto", [&](client& cl) -> asio::awaitable<void> {
        resp::request req;
        req.push("SET", resp::key{"a"}, "1");
        req.push("SET", resp::key{"b"}, "2");  // different slots: fine on one server
        resp::response<std::string, std::string> r;
        const auto [ec] = co_await cl.async_exec(req, r, tuple_awaitable);
        REQUIRE_FALSE(ec);
        CHECK(r.get<1>().value() == "OK");
        const auto before = cl.shared_connection().stats().requests;
        const auto [ec2] = co_await cl.async_exec(req, r, tuple_awaitable);
        REQUIRE_FALSE(ec2);
        CHECK(cl.shared_connection().stats().requests == before + 1);
      });
}

TEST_CASE("cluster client: a slot migrated step by step: ASK while migrating, MOVED after") {
  redis_cluster c;
  const std::string tag = "{migrating}";
  const auto slot = resp::hash_slot(tag);
  const auto from = c.owner(slot);
  const auto to = c.masters().front() == from ? c.masters().back() : c.masters().front();
  const std::string old_key = "old:" + tag;
  const std::string new_key = "new:" + tag;
  const std::string tx_key = "tx:" + tag;
  streamq::test::run_with_client(seeds_url(c), [&](client& cl) -> asio::awaitable<void> {
    const auto exec = [&](const resp::request& req,
                          resp::response_adapter& r) -> asio::awaitable<redis::error_code> {
      const auto [ec] = co_await cl.async_exec(req, r, tuple_awaitable);
      co_return ec;
    };
    {
      resp::request req;
      for (int i = 0; i < 20; ++i) req.push("SET", resp::key{old_key + std::to_string(i)}, i);
      req.push("SET", resp::key{old_key}, "before");
      resp::generic_response r;
      REQUIRE_FALSE(co_await exec(req, r));
    }
    const auto m = c.begin_migration(slot, to);
    {
      // Still on the source: served there, no redirection.
      resp::request req;
      req.push("GET", resp::key{old_key});
      resp::response<std::string> r;
      REQUIRE_FALSE(co_await exec(req, r));
      CHECK(r.get<0>().value() == "before");
    }
    // One key moved ahead of the others.
    CHECK(c.command(from, {"MIGRATE", "127.0.0.1", std::to_string(c.port(to)), old_key, "0",
                           "5000"}) == "+OK\r\n");
    {
      // A pipeline partly served by the source is not resent: the command that ran keeps its
      // reply, the redirected one gets the ASK error.
      resp::request req;
      req.push("GET", resp::key{old_key + "1"});
      req.push("GET", resp::key{old_key});
      resp::response<std::string, std::string> r;
      REQUIRE_FALSE(co_await exec(req, r));
      CHECK(r.get<0>().value() == "1");
      CHECK(r.get<1>().error() == resp::server_errc::ask);
    }
    CHECK(c.migrate_keys(m) == 20);
    const long asks_before = redirections(c, from, "ASK");
    {
      // Gone from the source: ASK, then ASKING + GET on the target.
      resp::request req;
      req.push("GET", resp::key{old_key});
      resp::response<std::string> r;
      REQUIRE_FALSE(co_await exec(req, r));
      CHECK(r.get<0>().value() == "before");
    }
    {
      // A new key during the migration: the source does not have it, so it goes to the target.
      resp::request req;
      req.push("SET", resp::key{new_key}, "during");
      resp::response<std::string> r;
      REQUIRE_FALSE(co_await exec(req, r));
      CHECK(r.get<0>().value() == "OK");
    }
    {
      // A transaction: the source discards it (EXECABORT) and nothing ran; resent behind
      // ASKING, whose flag Redis keeps for the whole MULTI ... EXEC.
      resp::request req;
      req.push("MULTI");
      req.push("SET", resp::key{tx_key}, "a");
      req.push("APPEND", resp::key{tx_key}, "b");
      req.push("EXEC");
      resp::response<std::string, std::string, std::string, resp::value> r;
      REQUIRE_FALSE(co_await exec(req, r));
      REQUIRE(r.get<3>().has_value());
      REQUIRE(r.get<3>().value().elements.size() == 2);
      CHECK(r.get<3>().value().elements[1].text == "2");
    }
    CHECK(redirections(c, from, "ASK") >= asks_before + 3);
    // Written once, on the target only.
    CHECK(c.pipeline(to, {{"ASKING"}, {"GET", new_key}}).at(1) == bulk("during"));
    CHECK(c.pipeline(to, {{"ASKING"}, {"GET", tx_key}}).at(1) == bulk("ab"));
    CHECK(c.command(from, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == ":0\r\n");
    c.finish_migration(m);
    const long moved_before = redirections(c, from, "MOVED");
    for (int round = 0; round < 3; ++round) {
      resp::request req;
      req.push("GET", resp::key{old_key});
      req.push("GET", resp::key{old_key + "7"});
      resp::response<std::string, std::string> r;
      REQUIRE_FALSE(co_await exec(req, r));
      CHECK(r.get<0>().value() == "before");
      CHECK(r.get<1>().value() == "7");
    }
    // The first MOVED taught the client the new owner: the later rounds went straight there.
    CHECK(redirections(c, from, "MOVED") == moved_before + 2);  // both commands of round 0
    CHECK(c.command(to, {"GET", tx_key}) == bulk("ab"));
  });
}

namespace {

// A slot caught half-way through a migration: of its two keys a and b, a already moved to
// `to`, so a command on both answers TRYAGAIN on `from` until the slot settles.
struct half_migrated_slot {
  std::size_t from = 0;
  std::size_t to = 0;
  std::string a;
  std::string b;
  redis_cluster::slot_migration m;
};

half_migrated_slot half_migrate(redis_cluster& c, const std::string& tag) {
  half_migrated_slot h;
  const auto slot = resp::hash_slot(tag);
  h.from = c.owner(slot);
  h.to = c.masters().front() == h.from ? c.masters().back() : c.masters().front();
  h.a = "a:" + tag;
  h.b = "b:" + tag;
  c.command(h.from, {"SET", h.a, "1"});
  c.command(h.from, {"SET", h.b, "2"});
  h.m = c.begin_migration(slot, h.to);
  REQUIRE(c.command(h.from, {"MIGRATE", "127.0.0.1", std::to_string(c.port(h.to)), h.a, "0",
                             "5000"}) == "+OK\r\n");
  return h;
}

}  // namespace

TEST_CASE("cluster client: TRYAGAIN is retried with backoff until the deadline, then delivered") {
  redis_cluster c;
  const std::string tag = "{split}";
  const auto [from, to, a, b, m] = half_migrate(c, tag);
  auto config = redis::parse_url(c.url(0) + "?cluster=on");
  config.cluster.retry_deadline = 300ms;
  config.cluster.initial_backoff = 20ms;
  config.cluster.max_backoff = 50ms;
  const long before = redirections(c, from, "TRYAGAIN");
  run_with_client_config(config, [&](client& cl) -> asio::awaitable<void> {
    resp::request req;
    req.push("MGET", resp::key{a}, resp::key{b});
    resp::response<resp::value> r;
    const auto t0 = std::chrono::steady_clock::now();
    const auto [ec] = co_await cl.async_exec(req, r, tuple_awaitable);
    const auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE_FALSE(ec);
    CHECK(r.get<0>().error() == resp::server_errc::tryagain);
    CHECK(took >= 200ms);  // backed off until the next wait would pass the deadline
    CHECK(took < 2s);
  });
  const long tries = redirections(c, from, "TRYAGAIN") - before;
  MESSAGE("TRYAGAIN answered " << tries << " times within the 300 ms deadline");
  CHECK(tries >= 4);
  c.migrate_keys(m);
  c.finish_migration(m);
}

TEST_CASE("cluster client: a request cancelled while it backs off never ran") {
  redis_cluster c;
  const std::string tag = "{cancelled}";
  const auto slot = resp::hash_slot(tag);
  const auto [from, to, a, b, m] = half_migrate(c, tag);
  auto config = redis::parse_url(c.url(0) + "?cluster=on");
  config.cluster.retry_deadline = 10s;
  config.cluster.initial_backoff = 200ms;
  config.cluster.max_backoff = 200ms;
  run_with_client_config(config, [&](client& cl) -> asio::awaitable<void> {
    // Every send answers TRYAGAIN (nothing runs); the cancellation lands in a backoff.
    resp::request req;
    req.push("MGET", resp::key{a}, resp::key{b});
    req.push("INCR", resp::key{"n:" + tag});
    resp::response<resp::value, std::int64_t> r;
    asio::cancellation_signal signal;
    asio::steady_timer timer(co_await asio::this_coro::executor, 300ms);
    timer.async_wait([&](const boost::system::error_code&) {
      signal.emit(asio::cancellation_type::terminal);
    });
    const auto t0 = std::chrono::steady_clock::now();
    const auto [ec] = co_await cl.async_exec(
        req, r, asio::bind_cancellation_slot(signal.slot(), tuple_awaitable));
    CHECK(ec == asio::error::operation_aborted);
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  });
  // INCR was refused with TRYAGAIN on every send: the counter does not exist anywhere.
  CHECK(c.command(from, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == ":1\r\n");
  CHECK(c.pipeline(to, {{"ASKING"}, {"EXISTS", "n:" + tag}}).at(1) == ":0\r\n");
  c.migrate_keys(m);
  c.finish_migration(m);
}

TEST_CASE("cluster client: the periodic refresh learns a moved slot before any request hits it") {
  redis_cluster c;
  const std::string tag = "{periodic}";
  const auto slot = resp::hash_slot(tag);
  const auto from = c.owner(slot);
  const auto to = c.masters().front() == from ? c.masters().back() : c.masters().front();
  const std::string key = "k:" + tag;
  streamq::test::run_with_client(
      c.url(0) + "?cluster=on&cluster_refresh_ms=100", [&](client& cl) -> asio::awaitable<void> {
        resp::request set;
        set.push("SET", resp::key{key}, "v");
        resp::response<std::string> r;
        REQUIRE_FALSE(std::get<0>(co_await cl.async_exec(set, r, tuple_awaitable)));
        c.move_slot(slot, to);  // blocks this thread: the client learns it afterwards
        const long moved_before = redirections(c, from, "MOVED");
        co_await streamq::test::sleep_for(500ms);
        resp::request get;
        get.push("GET", resp::key{key});
        REQUIRE_FALSE(std::get<0>(co_await cl.async_exec(get, r, tuple_awaitable)));
        CHECK(r.get<0>().value() == "v");
        CHECK(redirections(c, from, "MOVED") == moved_before);  // went straight to `to`
      });
}

namespace {

// Counts of a stream of INCRs on one key while something happens to the cluster.
struct stream_counts {
  long confirmed = 0;  // INCR answered
  long unknown = 0;    // outcome_unknown: in flight when the node failed
  long failed = 0;     // any other error
};

// INCRs `key`, `concurrency` at a time, until `stop` is set (and at least a few after).
asio::awaitable<stream_counts> incr_stream(client& cl, const std::string& key,
                                           const std::atomic<bool>& stop, int concurrency) {
  stream_counts counts;
  auto worker = [&]() -> asio::awaitable<void> {
    int after_stop = 0;
    while (after_stop < 20) {
      if (stop) ++after_stop;
      resp::request req;
      req.push("INCR", resp::key{key});
      resp::response<std::int64_t> r;
      const auto [ec] = co_await cl.async_exec(req, r, tuple_awaitable);
      if (!ec && r.get<0>().has_value()) {
        ++counts.confirmed;
      } else if (ec == redis::client_errc::outcome_unknown) {
        ++counts.unknown;
      } else {
        ++counts.failed;
        MESSAGE("INCR failed: " << (ec ? ec.message() : r.get<0>().diagnostic()));
        co_await streamq::test::sleep_for(10ms);
      }
    }
  };
  using namespace asio::experimental::awaitable_operators;
  // Four workers in a parallel group: each awaits its request, so `concurrency` requests are
  // in flight at any time.
  REQUIRE(concurrency == 4);
  co_await (worker() && worker() && worker() && worker());
  co_return counts;
}

// Runs `action` on its own thread (the fixture blocks), while the client serves a stream.
template <class Action>
asio::awaitable<stream_counts> under_stream(client& cl, const std::string& key, Action action) {
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      action();
    } catch (...) {
      failure = std::current_exception();
    }
    stop = true;
  });
  stream_counts counts;
  try {
    counts = co_await incr_stream(cl, key, stop, 4);
  } catch (...) {
    stop = true;
    t.join();
    throw;
  }
  t.join();
  if (failure) std::rethrow_exception(failure);
  co_return counts;
}

std::int64_t value_on(const redis_cluster& c, std::size_t node, const std::string& key) {
  const std::string reply = c.command(node, {"GET", key});
  REQUIRE(reply.rfind('$', 0) == 0);
  return std::stoll(reply.substr(reply.find("\r\n") + 2));
}

}  // namespace

TEST_CASE("cluster client: a manual CLUSTER FAILOVER under a stream of requests loses nothing") {
  redis_cluster c;
  const std::string key = "failover:{stream}";
  const auto master = c.owner(resp::hash_slot(key));
  const auto replica = c.replicas_of(master).at(0);
  auto config = redis::parse_url(seeds_url(c));
  config.cluster.retry_deadline = 10s;
  run_with_client_config(config, [&](client& cl) -> asio::awaitable<void> {
    const auto counts = co_await under_stream(cl, key, [&] { c.failover(replica); });
    MESSAGE("failover: confirmed " << counts.confirmed << ", unknown " << counts.unknown
                                   << ", failed " << counts.failed);
    CHECK(counts.failed == 0);
    CHECK(counts.unknown == 0);  // a manual failover drops no connection
    CHECK(c.role(replica) == cluster_role::master);
    CHECK(value_on(c, replica, key) == counts.confirmed);
  });
}

TEST_CASE("cluster client: a SIGKILLed master under a stream: the client follows the promoted replica") {
  streamq::test::redis_cluster_options opts;
  opts.node_timeout = 1000ms;
  redis_cluster c(opts);
  const std::string key = "kill:{stream}";
  const auto master = c.owner(resp::hash_slot(key));
  const auto replica = c.replicas_of(master).at(0);
  auto config = redis::parse_url(seeds_url(c));
  config.cluster.retry_deadline = 15s;
  config.cluster.max_backoff = 200ms;
  run_with_client_config(config, [&](client& cl) -> asio::awaitable<void> {
    const auto counts = co_await under_stream(cl, key, [&] {
      std::this_thread::sleep_for(200ms);  // some writes before
      c.kill(master);
      c.wait_until_ok();
    });
    const auto value = value_on(c, replica, key);
    MESSAGE("SIGKILL: confirmed " << counts.confirmed << ", unknown " << counts.unknown
                                  << ", failed " << counts.failed << "; the promoted replica holds "
                                  << value << " (acknowledged writes lost in the promotion: "
                                  << std::max<long>(0, counts.confirmed - value) << ")");
    CHECK(counts.failed == 0);
    CHECK(counts.unknown <= 4);  // only those in flight when the master died
    CHECK(c.role(replica) == cluster_role::master);
    // Everything after the promotion reached the new master.
    CHECK(value <= counts.confirmed + counts.unknown);
    resp::request req;
    req.push("SET", resp::key{key}, "after");
    resp::response<std::string> r;
    REQUIRE_FALSE(std::get<0>(co_await cl.async_exec(req, r, tuple_awaitable)));
    CHECK(c.command(replica, {"GET", key}) == bulk("after"));
  }, std::chrono::seconds(110));
}

TEST_CASE("cluster client: a dedicated blocking connection goes to the master of its slot") {
  redis_cluster c;
  const auto tags = tag_per_master(c);
  streamq::test::run_with_client(seeds_url(c), [&](client& cl) -> asio::awaitable<void> {
    {
      // Any request: the topology is known once it is answered.
      resp::request ping;
      ping.push("PING");
      resp::response<std::string> pong;
      REQUIRE_FALSE(std::get<0>(co_await cl.async_exec(ping, pong, tuple_awaitable)));
    }
    for (const auto& [master, tag] : tags) {
      INFO("master " << master);
      const std::string list = "list:" + tag;
      auto blocking = cl.make_dedicated_connection_for_slot(resp::hash_slot(list));
      CHECK(blocking->config().port == c.port(master));
      CHECK(blocking->config().allow_blocking_commands);
      resp::request pop;
      pop.push("BLPOP", resp::key{list}, 5);
      resp::response<std::vector<std::string>> popped;
      redis::error_code pop_ec;
      auto reader = [&]() -> asio::awaitable<void> {
        std::tie(pop_ec) = co_await blocking->async_exec(pop, popped, tuple_awaitable);
      };
      auto writer = [&]() -> asio::awaitable<void> {
        co_await streamq::test::sleep_for(100ms);  // BLPOP is blocked by now
        resp::request push;
        push.push("RPUSH", resp::key{list}, "item");
        resp::response<std::int64_t> pushed;
        REQUIRE_FALSE(std::get<0>(co_await cl.async_exec(push, pushed, tuple_awaitable)));
      };
      using namespace asio::experimental::awaitable_operators;
      co_await (blocking->async_run(tuple_awaitable) || (reader() && writer()));
      REQUIRE_FALSE(pop_ec);
      CHECK(popped.get<0>().value() == std::vector<std::string>{list, "item"});
    }
  });
}

TEST_CASE("cluster client: a caller on another thread cancels a request waiting for a topology") {
  // Nothing listens on port 1: cluster=on never learns a topology, so the request waits
  // (up to retry_deadline) for one, and only the cancellation can end it early.
  asio::io_context client_io;
  client cl(client_io.get_executor(), "redis://127.0.0.1:1?cluster=on&connect_timeout_ms=200");
  std::optional<redis::error_code> run_result;
  cl.async_run([&](redis::error_code ec) { run_result = ec; });
  std::thread client_thread([&] { client_io.run(); });

  asio::io_context caller_io;
  auto guard = asio::make_work_guard(caller_io);
  asio::cancellation_signal signal;
  std::optional<redis::error_code> got;
  resp::request req;
  req.push("GET", resp::key{"k"});
  resp::response<std::string> r;
  const auto t0 = std::chrono::steady_clock::now();
  cl.async_exec(req, r,
                asio::bind_cancellation_slot(
                    signal.slot(), asio::bind_executor(caller_io, [&](redis::error_code ec) {
                      CHECK(caller_io.get_executor().running_in_this_thread());
                      got = ec;
                    })));
  asio::steady_timer timer(caller_io, 200ms);
  timer.async_wait([&](const boost::system::error_code&) {
    signal.emit(asio::cancellation_type::terminal);  // from this thread, not the client's
  });
  while (!got && std::chrono::steady_clock::now() - t0 < 10s) caller_io.run_for(10ms);
  REQUIRE(got.has_value());
  CHECK(*got == asio::error::operation_aborted);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);  // well before retry_deadline (5 s)

  cl.cancel();
  client_thread.join();
  REQUIRE(run_result.has_value());
  CHECK(*run_result == redis::client_errc::shut_down);
}

TEST_CASE("cluster client: node_for_slot names each slot's master and a refresh re-reads the map") {
  redis_cluster c;
  const auto tags = tag_per_master(c);
  streamq::test::run_with_client(c.url(0) + "?cluster=on", [&](client& cl) -> asio::awaitable<void> {
    // Until a request needed the map it may be unknown: a refresh reads it.
    const auto [ec] = co_await cl.async_refresh_topology(tuple_awaitable);
    REQUIRE_FALSE(ec);
    for (const auto& [master, tag] : tags)
      CHECK(cl.node_for_slot(resp::hash_slot(tag)) ==
            "127.0.0.1:" + std::to_string(c.port(master)));
    // A slot moved behind the client's back: the map says so after a refresh.
    const std::uint16_t slot = resp::hash_slot(tags.begin()->second);
    const std::size_t to = tags.rbegin()->first;
    c.move_slot(slot, to);
    const auto [ec2] = co_await cl.async_refresh_topology(tuple_awaitable);
    REQUIRE_FALSE(ec2);
    CHECK(cl.node_for_slot(slot) == "127.0.0.1:" + std::to_string(c.port(to)));
  });
  // Standalone: no node names, and a refresh completes at once.
  streamq::test::redis_server server;
  streamq::test::run_with_client(server.url(), [&](client& cl) -> asio::awaitable<void> {
    CHECK(cl.node_for_slot(0).empty());
    const auto [ec] = co_await cl.async_refresh_topology(tuple_awaitable);
    CHECK_FALSE(ec);
  });
}

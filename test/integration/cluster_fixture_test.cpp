// The cluster fixture (test/support/redis_cluster.hpp) against real redis-server processes:
// creation, slot owners, a slot migrated step by step, a manual failover, a SIGKILLed master
// replaced by its replica, a master added and given slots. At each step the topology decoders
// (lib/redis/cluster) read CLUSTER SHARDS and CLUSTER SLOTS, in RESP3 and RESP2, through
// streamq's connection, and must agree with what the fixture reads from CLUSTER NODES; live
// MOVED and ASK errors go through the redirection parser.
//
// ctest label `cluster` (as well as `integration`): ctest -L cluster.
#include "redis/cluster/redirection.hpp"
#include "redis/cluster/topology.hpp"
#include "redis/cluster/topology_reply.hpp"
#include "support/async_test.hpp"
#include "support/redis_cluster.hpp"

#include <streamq/redis/config.hpp>
#include <streamq/redis/connection.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace cluster = streamq::redis::cluster;
namespace resp = streamq::resp;
using namespace std::chrono_literals;
using streamq::redis::connection;
using streamq::test::cluster_role;
using streamq::test::redis_cluster;

namespace {

// The slot of `key`, as the server computes it.
std::uint16_t key_slot(const redis_cluster& c, const std::string& key) {
  const std::string reply = c.command(0, {"CLUSTER", "KEYSLOT", key});
  REQUIRE(reply.rfind(':', 0) == 0);
  return static_cast<std::uint16_t>(std::stoi(reply.substr(1)));
}

std::vector<cluster::slot_range> ranges_of(const streamq::test::cluster_node_info& n) {
  std::vector<cluster::slot_range> out;
  for (const auto& [first, last] : n.slots) out.push_back({first, last});
  return out;
}

// `shards` (decoded from a live reply) match the fixture's view: the same masters (id, port,
// slot ranges), each with its replicas. CLUSTER SHARDS lists every replica (`all_replicas`);
// CLUSTER SLOTS leaves out failed ones and those that have not received a byte yet (offset 0:
// a fresh cluster's), so its replicas need only be running replicas of that master.
void check_against_fixture(const redis_cluster& c, const std::vector<cluster::shard>& shards,
                           bool all_replicas) {
  cluster::slot_map map;
  REQUIRE_FALSE(map.assign(shards));
  CHECK(map.covered_slots() == cluster::slot_count);
  for (const auto& n : c.nodes()) {
    if (n.role != cluster_role::master || n.slots.empty()) continue;
    INFO("master " << n.index << " port " << n.port);
    const cluster::shard* s = map.find_master({"127.0.0.1", n.port});
    REQUIRE(s != nullptr);
    CHECK(s->master.id == n.id);
    CHECK(s->slots == ranges_of(n));
    std::vector<std::uint16_t> replicas;
    for (const std::size_t r : c.replicas_of(n.index))
      if (all_replicas || c.running(r)) replicas.push_back(c.port(r));
    for (const auto& r : s->replicas) {
      INFO("replica port " << r.address.port);
      CHECK(r.role == cluster::node_role::replica);
      CHECK(std::find(replicas.begin(), replicas.end(), r.address.port) != replicas.end());
    }
    if (all_replicas) CHECK(s->replicas.size() == replicas.size());
  }
}

// CLUSTER SHARDS and CLUSTER SLOTS of node `from`, over streamq's connection in RESP3 or RESP2.
struct live_topology {
  std::vector<cluster::shard> shards;
  std::vector<cluster::shard> slots;
};

live_topology read_topology(const redis_cluster& c, std::size_t from, bool resp3) {
  auto config = streamq::redis::parse_url(c.url(from));
  config.resp3 = resp3;
  live_topology out;
  streamq::test::run_with_connection(config, [&](connection& conn) -> asio::awaitable<void> {
    resp::request req;
    cluster::build_cluster_shards(req);
    cluster::build_cluster_slots(req);
    resp::response<resp::value, resp::value> replies;
    co_await conn.async_exec(req, replies);
    const cluster::reply_origin origin{"127.0.0.1", false};
    const auto shards =
        cluster::decode_cluster_shards(replies.get<0>().value(), origin, out.shards);
    CHECK_MESSAGE(shards, shards.diagnostic);
    const auto slots = cluster::decode_cluster_slots(replies.get<1>().value(), origin, out.slots);
    CHECK_MESSAGE(slots, slots.diagnostic);
  });
  return out;
}

// Both commands, both protocols, from node `from`: all four agree with the fixture.
// Whether `shards` list as many replicas per master as the fixture made.
bool every_replica_known(const redis_cluster& c, const std::vector<cluster::shard>& shards) {
  for (const std::size_t m : c.masters()) {
    const auto s = std::find_if(shards.begin(), shards.end(), [&](const cluster::shard& x) {
      return x.master.address.port == c.port(m);
    });
    if (s == shards.end() || s->replicas.size() != c.replicas_of(m).size()) return false;
  }
  return true;
}

void check_live_topology(const redis_cluster& c, std::size_t from) {
  for (const bool resp3 : {true, false}) {
    INFO("from node " << from << (resp3 ? " in RESP3" : " in RESP2"));
    auto live = read_topology(c, from, resp3);
    // A node learns of another master's replica by gossip: right after the cluster formed,
    // it may not list it yet (seen on Valkey 8.0). Asked again until it does, up to 10 s.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!every_replica_known(c, live.shards) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      live = read_topology(c, from, resp3);
    }
    check_against_fixture(c, live.shards, true);
    check_against_fixture(c, live.slots, false);
  }
}

// A live error reply to `args` sent to `node` through streamq's connection, parsed as a
// redirection (its kind checked against the classification of the same reply).
cluster::redirection live_redirection(const redis_cluster& c, std::size_t node,
                                      const std::vector<std::string>& args) {
  cluster::redirection r;
  streamq::test::run_with_connection(
      streamq::redis::parse_url(c.url(node)), [&](connection& conn) -> asio::awaitable<void> {
        resp::request req;
        req.push(args.front(), std::vector<std::string>(args.begin() + 1, args.end()));
        resp::response<std::string> reply;
        co_await conn.async_exec(req, reply);
        const auto& result = reply.get<0>();
        REQUIRE_FALSE(result.has_value());
        REQUIRE(cluster::parse_redirection(result.diagnostic(), "127.0.0.1", r) ==
                std::error_code{});
        CHECK(result.error() == (r.kind == cluster::redirect_kind::moved ? resp::server_errc::moved
                                                                         : resp::server_errc::ask));
      });
  return r;
}

// The master of every slot, from one look at the cluster.
std::vector<std::size_t> owners(const redis_cluster& c) {
  std::vector<std::size_t> out(cluster::slot_count);
  for (const auto& n : c.nodes())
    if (n.role == cluster_role::master)
      for (const auto& [first, last] : n.slots)
        for (std::size_t s = first; s <= last; ++s) out[s] = n.index;
  return out;
}

template <class F>
double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("cluster fixture: 3 masters and 3 replicas serve every slot once") {
  redis_cluster c;
  const auto nodes = c.nodes();
  REQUIRE(nodes.size() == 6);
  std::vector<int> served(cluster::slot_count, 0);
  std::size_t masters = 0, replicas = 0;
  for (const auto& n : nodes) {
    CHECK(n.running);
    CHECK(n.id == c.id(n.index));
    if (n.role == cluster_role::replica) {
      ++replicas;
      CHECK(c.role(n.master) == cluster_role::master);
      continue;
    }
    ++masters;
    CHECK(c.replicas_of(n.index).size() == 1);
    for (const auto& [first, last] : n.slots)
      for (std::size_t s = first; s <= last; ++s) ++served[s];
  }
  CHECK(masters == 3);
  CHECK(replicas == 3);
  CHECK(std::all_of(served.begin(), served.end(), [](int n) { return n == 1; }));

  // A key is stored by its slot's owner; every other master redirects there.
  const std::string key = "fixture:{a}";
  const auto owner = c.owner(key_slot(c, key));
  CHECK(c.command(owner, {"SET", key, "1"}) == "+OK\r\n");
  for (const std::size_t m : c.masters()) {
    if (m == owner) continue;
    const auto r = live_redirection(c, m, {"GET", key});
    CHECK(r ==
          cluster::redirection{
              cluster::redirect_kind::moved, key_slot(c, key), {"127.0.0.1", c.port(owner)}, true});
  }
  for (std::size_t i = 0; i < c.size(); ++i) check_live_topology(c, i);
}

TEST_CASE("cluster fixture: a slot migrates step by step, ASK in between, MOVED after") {
  redis_cluster c;
  const std::string tag = "{migrating}";
  const auto slot = key_slot(c, tag);
  const auto from = c.owner(slot);
  const auto to = c.masters().front() == from ? c.masters().back() : c.masters().front();
  // More keys than one MIGRATE batch.
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 250; ++i) sets.push_back({"SET", tag + std::to_string(i), "v"});
  for (const auto& reply : c.pipeline(from, sets)) REQUIRE(reply == "+OK\r\n");
  const std::string key = tag + "7";

  const auto m = c.begin_migration(slot, to);
  CHECK(c.command(from, {"GET", key}) == "$1\r\nv\r\n");  // still there: served by the source
  CHECK(c.migrate_keys(m) == 250);
  CHECK(c.command(from, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == ":0\r\n");
  CHECK(c.command(to, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == ":250\r\n");
  // Gone from the source: ASK to the target, which serves it only after ASKING.
  CHECK(live_redirection(c, from, {"GET", key}) ==
        cluster::redirection{cluster::redirect_kind::ask, slot, {"127.0.0.1", c.port(to)}, true});
  CHECK(live_redirection(c, to, {"GET", key}).kind == cluster::redirect_kind::moved);
  const auto asking = c.pipeline(to, {{"ASKING"}, {"GET", key}});
  CHECK(asking.at(1) == "$1\r\nv\r\n");
  CHECK(c.cli(from, {"-c", "GET", key}) == "v\n");  // redis-cli follows the ASK
  // Until SETSLOT NODE the slot still belongs to the source, for every node.
  CHECK(c.owner(slot) == from);
  check_live_topology(c, to);

  c.finish_migration(m);
  CHECK(c.owner(slot) == to);
  CHECK(live_redirection(c, from, {"GET", key}) ==
        cluster::redirection{cluster::redirect_kind::moved, slot, {"127.0.0.1", c.port(to)}, true});
  CHECK(c.command(to, {"GET", key}) == "$1\r\nv\r\n");
  CHECK(c.cli(from, {"-c", "GET", key}) == "v\n");
  for (std::size_t i = 0; i < c.size(); ++i) check_live_topology(c, i);
}

TEST_CASE("cluster fixture: a manual failover swaps master and replica") {
  redis_cluster c;
  const std::string key = "failover:{a}";
  const auto master = c.owner(key_slot(c, key));
  const auto replica = c.replicas_of(master).at(0);
  CHECK(c.command(master, {"SET", key, "before"}) == "+OK\r\n");
  CHECK(c.command(master, {"WAIT", "1", "5000"}) == ":1\r\n");
  MESSAGE("CLUSTER FAILOVER took " << seconds([&] { c.failover(replica); }) << " s");
  CHECK(c.role(replica) == cluster_role::master);
  CHECK(c.role(master) == cluster_role::replica);
  CHECK(c.replicas_of(replica) == std::vector<std::size_t>{master});
  CHECK(c.owner(key_slot(c, key)) == replica);
  CHECK(c.command(replica, {"GET", key}) == "$6\r\nbefore\r\n");
  CHECK(live_redirection(c, master, {"GET", key}) ==
        cluster::redirection{
            cluster::redirect_kind::moved, key_slot(c, key), {"127.0.0.1", c.port(replica)}, true});
  for (std::size_t i = 0; i < c.size(); ++i) check_live_topology(c, i);
}

TEST_CASE("cluster fixture: a SIGKILLed master is replaced by its replica, then rejoins") {
  streamq::test::redis_cluster_options opts;
  opts.node_timeout = 1000ms;
  redis_cluster c(opts);
  const std::string key = "kill:{a}";
  const auto slot = key_slot(c, key);
  const auto master = c.owner(slot);
  const auto replica = c.replicas_of(master).at(0);
  const auto other = c.masters().front() == master ? c.masters().back() : c.masters().front();

  c.kill(master);
  CHECK_FALSE(c.running(master));
  MESSAGE("promotion after SIGKILL took " << seconds([&] { c.wait_until_ok(); }) << " s");
  CHECK(c.owner(slot) == replica);
  CHECK(c.role(replica) == cluster_role::master);
  CHECK(c.replicas_of(replica).empty());
  check_live_topology(c, other);
  // CLUSTER SHARDS never offers the dead master as a live node: Redis 7.0 lists it failed, as
  // a shard of its own without slots; Valkey 8.0 leaves it out.
  const auto live = read_topology(c, other, true);
  for (const auto& s : live.shards) {
    if (s.master.address.port == c.port(master)) {
      CHECK(s.master.health == cluster::node_health::failed);
      CHECK(s.slots.empty());
    }
    for (const auto& r : s.replicas)
      if (r.address.port == c.port(master)) CHECK(r.health == cluster::node_health::failed);
  }

  MESSAGE("rejoining took " << seconds([&] {
            c.restart(master);
            c.wait_until_ok();
          }) << " s");
  CHECK(c.role(master) == cluster_role::replica);
  CHECK(c.replicas_of(replica) == std::vector<std::size_t>{master});
  for (std::size_t i = 0; i < c.size(); ++i) check_live_topology(c, i);
}

TEST_CASE("cluster fixture: a master added and given slots with redis-cli --cluster reshard") {
  redis_cluster c;
  // Keys all over the slot space, each stored by its owner.
  constexpr int keys = 2000;
  std::vector<std::vector<std::string>> slots_of;
  for (int i = 0; i < keys; ++i)
    slots_of.push_back({"CLUSTER", "KEYSLOT", "rk:" + std::to_string(i)});
  const auto slot_replies = c.pipeline(0, slots_of);
  std::vector<std::uint16_t> slot(keys);
  std::map<std::size_t, std::vector<std::vector<std::string>>> sets;
  const auto before = owners(c);
  for (int i = 0; i < keys; ++i) {
    slot[i] = static_cast<std::uint16_t>(std::stoi(slot_replies[i].substr(1)));
    sets[before[slot[i]]].push_back({"SET", "rk:" + std::to_string(i), "v"});
  }
  for (const auto& [node, commands] : sets)
    for (const auto& reply : c.pipeline(node, commands)) REQUIRE(reply == "+OK\r\n");

  std::size_t added = 0;
  MESSAGE("add_master took " << seconds([&] { added = c.add_master(); }) << " s");
  CHECK(c.role(added) == cluster_role::master);
  const auto serving = c.masters();  // masters with slots: not the new one yet
  CHECK(std::find(serving.begin(), serving.end(), added) == serving.end());
  const auto from = c.masters().front();
  MESSAGE("reshard of 100 slots took " << seconds([&] { c.reshard(from, added, 100); }) << " s");

  std::size_t moved_slots = 0, moved_keys = 0;
  for (const auto& n : c.nodes())
    if (n.index == added)
      for (const auto& [first, last] : n.slots) moved_slots += last - first + 1u;
  CHECK(moved_slots == 100);
  const auto after = owners(c);
  for (int i = 0; i < keys; ++i)
    if (after[slot[i]] == added) {
      ++moved_keys;
      CHECK(c.command(added, {"GET", "rk:" + std::to_string(i)}) == "$1\r\nv\r\n");
    }
  CHECK(moved_keys > 0);
  CHECK(c.command(added, {"DBSIZE"}) == ":" + std::to_string(moved_keys) + "\r\n");
  for (std::size_t i = 0; i < c.size(); ++i) check_live_topology(c, i);
}

TEST_CASE("cluster fixture: nodes added or restarted from a thread that ended keep running") {
  // A fault thread adds or restarts nodes while the test goes on; a child process dies with the
  // thread that forked it (PR_SET_PDEATHSIG), so the fixture must not fork from the caller's.
  streamq::test::redis_cluster_options opts;
  opts.replicas_per_master = 0;
  redis_cluster c(opts);
  std::size_t added = 0;
  std::thread([&] { added = c.add_master(); }).join();
  c.kill(1);
  std::thread([&] { c.restart(1); }).join();
  std::this_thread::sleep_for(300ms);  // a SIGKILL on thread exit would have come by now
  CHECK(c.running(added));
  CHECK(c.command(added, {"PING"}) == "+PONG\r\n");
  CHECK(c.command(1, {"PING"}) == "+PONG\r\n");
  c.wait_until_ok();
}

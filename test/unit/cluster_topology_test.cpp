// Tests of lib/redis/cluster/topology.* and topology_reply.*, with no server:
// CLUSTER SHARDS and CLUSTER SLOTS replies of a real Redis 7.0 cluster (cluster_replies.hpp),
// RESP2 and RESP3, fed through resp::parser whole, at every split point and byte by byte, and
// decoded; every other shape (hand-written, and every node of a real reply replaced or removed)
// gives cluster_errc::malformed_topology with the output left empty, never a crash; the slot
// map built from them and updated by MOVED. The MOVED/ASK parser: cluster_redirection_test.cpp.
#include "cluster_replies.hpp"
#include "parser_harness.hpp"
#include "redis/cluster/topology.hpp"
#include "redis/cluster/topology_reply.hpp"
#include "reply_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <ostream>  // doctest prints std::error_code with it
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace cluster = streamq::redis::cluster;
namespace replies = cluster_replies;
using cluster::cluster_errc;
using cluster::node_address;
using cluster::shard;

namespace {

using decode_fn = cluster::decode_result (*)(const resp::value&, const cluster::reply_origin&,
                                             std::vector<shard>&);
constexpr decode_fn shards_decoder = &cluster::decode_cluster_shards;
constexpr decode_fn slots_decoder = &cluster::decode_cluster_slots;
const cluster::reply_origin origin{"127.0.0.1", false};

std::string describe(const cluster::node& n, bool health) {
  std::string s = n.role == cluster::node_role::master ? "M " : "R ";
  s += n.known ? cluster::to_string(n.address) : "?:" + std::to_string(n.address.port);
  if (!n.id.empty()) s += " " + n.id.substr(0, 8);
  if (!health) return s;
  static constexpr const char* names[] = {"online", "loading", "failed", "unknown"};
  return s + " " + names[static_cast<int>(n.health)];
}

// One line per shard, sorted: "0-5460,12706 M 127.0.0.1:31101 d99b8d2c online / R ...".
std::string describe(const std::vector<shard>& shards, bool health = true) {
  std::vector<std::string> lines;
  for (const auto& s : shards) {
    std::string line;
    for (const auto& r : s.slots) {
      if (!line.empty()) line += ',';
      line += std::to_string(r.first);
      if (r.last != r.first) line += "-" + std::to_string(r.last);
    }
    if (line.empty()) line = "-";
    line += " " + describe(s.master, health);
    for (const auto& r : s.replicas) line += " / " + describe(r, health);
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The value of one reply, parsed from `bytes` in one go.
resp::value parse(std::string_view bytes) {
  resp::generic_response r;
  REQUIRE(reply_harness::feed(bytes, {}, r) == 1);
  return r.values().at(0);
}

// `bytes` decode, at every split point, to shards described as `want`; returns them.
std::vector<shard> expect_decoded(std::string_view bytes, decode_fn decode, std::string_view want,
                                  const cluster::reply_origin& from = origin, bool health = true) {
  resp::generic_response reply;
  std::vector<shard> out;
  reply_harness::for_every_split(bytes, reply, [&] {
    out.assign(2, shard{});  // stale output: must be replaced
    const auto result = decode(reply.values().at(0), from, out);
    CHECK_MESSAGE(!result.ec, result.diagnostic);
    CHECK(describe(out, health) == want);
  });
  return out;
}

// `bytes` (hand-written, RESP2) are refused with malformed_topology and a diagnostic that
// contains `what`; the output is left empty.
void expect_malformed(std::string_view bytes, decode_fn decode, std::string_view what) {
  INFO("reply: " << parser_harness::escape(bytes));
  std::vector<shard> out(1);
  const auto result = decode(parse(bytes), origin, out);
  CHECK(result.ec == cluster_errc::malformed_topology);
  CHECK_MESSAGE(result.diagnostic.find(what) != std::string::npos, result.diagnostic);
  CHECK(out.empty());
}

constexpr std::string_view healthy =
    "0-5460 M 127.0.0.1:31101 d99b8d2c online / R 127.0.0.1:31104 99468a27 online\n"
    "10923-16383 M 127.0.0.1:31103 634e38e8 online / R 127.0.0.1:31106 92e7985b online\n"
    "5461-10922 M 127.0.0.1:31102 c3edaa2f online / R 127.0.0.1:31105 5c398ffa online\n";
constexpr std::string_view healthy_slots =
    "0-5460 M 127.0.0.1:31101 d99b8d2c / R 127.0.0.1:31104 99468a27\n"
    "10923-16383 M 127.0.0.1:31103 634e38e8 / R 127.0.0.1:31106 92e7985b\n"
    "5461-10922 M 127.0.0.1:31102 c3edaa2f / R 127.0.0.1:31105 5c398ffa\n";

}  // namespace

TEST_CASE("CLUSTER SHARDS: RESP3 maps and RESP2 flat arrays decode to the same shards") {
  const auto v3 = expect_decoded(replies::shards_resp3, shards_decoder, healthy);
  expect_decoded(replies::shards_resp2, shards_decoder, healthy);
  CHECK(v3.at(0).master.id == "634e38e87fd98b974836b51e0cdcee10b28ce693");
  CHECK(v3.at(0).master.replication_offset > 0);
  CHECK(v3.at(0).replicas.at(0).role == cluster::node_role::replica);
  resp::request req;
  cluster::build_cluster_shards(req);
  cluster::build_cluster_slots(req);
  CHECK(req.payload() ==
        "*2\r\n$7\r\nCLUSTER\r\n$6\r\nSHARDS\r\n*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n");
  CHECK(req.reply_count() == 2);
}

TEST_CASE("CLUSTER SHARDS: a fresh cluster's replicas report loading, offsets 0") {
  const auto shards = expect_decoded(
      replies::shards_resp2_fresh, shards_decoder,
      "0-5460 M 127.0.0.1:31101 d99b8d2c online / R 127.0.0.1:31104 99468a27 loading\n"
      "10923-16383 M 127.0.0.1:31103 634e38e8 online / R 127.0.0.1:31106 92e7985b loading\n"
      "5461-10922 M 127.0.0.1:31102 c3edaa2f online / R 127.0.0.1:31105 5c398ffa loading\n");
  for (const auto& s : shards) CHECK(s.master.replication_offset == 0);
}

TEST_CASE("CLUSTER SLOTS: RESP2 and RESP3 agree with CLUSTER SHARDS, health unknown") {
  const auto v3 = expect_decoded(replies::slots_resp3, slots_decoder, healthy_slots, origin, false);
  expect_decoded(replies::slots_resp2, slots_decoder, healthy_slots, origin, false);
  for (const auto& s : v3) {
    CHECK(s.master.health == cluster::node_health::unknown);
    CHECK(s.master.replication_offset == -1);
  }
}

TEST_CASE("endpoints: NULL or empty means the host asked, '?' the hostname or IP") {
  // unknown-endpoint: "" in CLUSTER SHARDS, NULL in CLUSTER SLOTS: the origin's host, whatever
  // IP the node reports.
  const cluster::reply_origin lb{"lb.example", false};
  const std::string via_lb =
      "0-5460 M lb.example:31101 d99b8d2c / R lb.example:31104 99468a27\n"
      "10923-16383 M lb.example:31103 634e38e8 / R lb.example:31106 92e7985b\n"
      "5461-10922 M lb.example:31102 c3edaa2f / R lb.example:31105 5c398ffa\n";
  expect_decoded(replies::shards_resp3_unknown_endpoint, shards_decoder, via_lb, lb, false);
  expect_decoded(replies::slots_resp2_unknown_endpoint, slots_decoder, via_lb, lb, false);
  // "?" (hostname preferred, none announced): never the origin; the node's IP instead.
  expect_decoded(replies::shards_resp2_hostname_missing, shards_decoder, healthy_slots, lb, false);
  expect_decoded(replies::slots_resp3_hostname_missing, slots_decoder, healthy_slots, lb, false);
  // One node announces a hostname: it is the preferred endpoint there; the others say "?".
  const std::string one_named =
      "0-5460 M 127.0.0.1:31101 d99b8d2c / R 127.0.0.1:31104 99468a27\n"
      "10923-16383 M localhost:31103 634e38e8 / R 127.0.0.1:31106 92e7985b\n"
      "5461-10922 M 127.0.0.1:31102 c3edaa2f / R 127.0.0.1:31105 5c398ffa\n";
  expect_decoded(replies::slots_resp2_hostname, slots_decoder, one_named, lb, false);
  // Preferred type ip: the hostname travels as an extra field and is not used.
  expect_decoded(replies::shards_resp3_announced_hostname, shards_decoder, healthy_slots, lb,
                 false);
  expect_decoded(replies::slots_resp3_announced_hostname, slots_decoder, healthy_slots, lb, false);
  // "?" with neither hostname nor IP (a CLUSTER SLOTS node without metadata): unknown.
  std::vector<shard> out;
  const auto result = cluster::decode_cluster_slots(
      parse("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$1\r\n?\r\n:7000\r\n"), lb, out);
  REQUIRE(result);
  CHECK_FALSE(out.at(0).master.known);
  CHECK(out.at(0).master.address.port == 7000);
  CHECK(out.at(0).master.id.empty());  // servers before 4.0 send no id
}

TEST_CASE("CLUSTER SHARDS: tls-port is chosen over port for TLS connections") {
  const std::string node =
      "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*12\r\n"
      "$2\r\nid\r\n$1\r\na\r\n$4\r\nport\r\n:7000\r\n$8\r\ntls-port\r\n:7443\r\n"
      "$8\r\nendpoint\r\n$4\r\nhost\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
      "$6\r\nhealth\r\n$6\r\nonline\r\n";
  std::vector<shard> out;
  REQUIRE(cluster::decode_cluster_shards(parse(node), {"seed", true}, out));
  CHECK(out.at(0).master.address == node_address{"host", 7443});
  REQUIRE(cluster::decode_cluster_shards(parse(node), {"seed", false}, out));
  CHECK(out.at(0).master.address == node_address{"host", 7000});
}

TEST_CASE("a migrated slot: two shards with two ranges, in both commands") {
  const std::string split =
      "0-5460,12706 M 127.0.0.1:31101 d99b8d2c / R 127.0.0.1:31104 99468a27\n"
      "10923-12705,12707-16383 M 127.0.0.1:31103 634e38e8 / R 127.0.0.1:31106 92e7985b\n"
      "5461-10922 M 127.0.0.1:31102 c3edaa2f / R 127.0.0.1:31105 5c398ffa\n";
  auto shards = expect_decoded(replies::shards_resp2_split, shards_decoder, split, origin, false);
  const auto slots =
      expect_decoded(replies::slots_resp3_split, slots_decoder, split, origin, false);
  cluster::slot_map map;
  CHECK(map.version() == 0);
  CHECK(map.owner(0) == nullptr);
  REQUIRE_FALSE(map.assign(slots));
  CHECK(map.version() == 1);
  CHECK(map.covered_slots() == cluster::slot_count);
  CHECK(map.owner(12706)->master.address.port == 31101);
  CHECK(map.owner(12705)->master.address.port == 31103);
  CHECK(map.owner(12707)->master.address.port == 31103);
  CHECK(map.owner(12706)->slots == std::vector<cluster::slot_range>{{0, 5460}, {12706, 12706}});
  // Another node lists the same shards in another order: the same map, no new version.
  REQUIRE_FALSE(map.assign({slots.rbegin(), slots.rend()}));
  CHECK(map.version() == 1);
  // CLUSTER SHARDS tells health, CLUSTER SLOTS does not: that is a change...
  REQUIRE_FALSE(map.assign(shards));
  CHECK(map.version() == 2);
  // ... but replication offsets move all the time and route nothing.
  for (auto& s : shards) s.master.replication_offset += 100;
  REQUIRE_FALSE(map.assign(shards));
  CHECK(map.version() == 2);
  CHECK(map.owner(0)->master.replication_offset > 100);
}

TEST_CASE("failover: the promoted replica serves, the failed master is a shard without slots") {
  const auto shards = expect_decoded(
      replies::shards_resp3_failover, shards_decoder,
      "- M 127.0.0.1:31102 c3edaa2f failed\n"
      "0-5460,12706 M 127.0.0.1:31101 d99b8d2c online / R 127.0.0.1:31104 99468a27 online\n"
      "10923-12705,12707-16383 M 127.0.0.1:31103 634e38e8 online / R 127.0.0.1:31106 92e7985b "
      "online\n"
      "5461-10922 M 127.0.0.1:31105 5c398ffa online\n");
  expect_decoded(replies::slots_resp2_failover, slots_decoder,
                 "0-5460,12706 M 127.0.0.1:31101 d99b8d2c / R 127.0.0.1:31104 99468a27\n"
                 "10923-12705,12707-16383 M 127.0.0.1:31103 634e38e8 / R 127.0.0.1:31106 "
                 "92e7985b\n"
                 "5461-10922 M 127.0.0.1:31105 5c398ffa\n",
                 origin, false);
  cluster::slot_map map;
  REQUIRE_FALSE(map.assign(shards));
  CHECK(map.owner(6000)->master.address.port == 31105);
  CHECK(map.find_master({"127.0.0.1", 31102})->slots.empty());
  // A failed replica stays listed, with its health.
  expect_decoded(
      replies::shards_resp2_replica_failed, shards_decoder,
      "- M 127.0.0.1:31102 c3edaa2f failed\n"
      "0-5460,12706 M 127.0.0.1:31101 d99b8d2c online / R 127.0.0.1:31104 99468a27 failed\n"
      "10923-12705,12707-16383 M 127.0.0.1:31103 634e38e8 online / R 127.0.0.1:31106 92e7985b "
      "online\n"
      "5461-10922 M 127.0.0.1:31105 5c398ffa online\n");
  // Master and replica failed (the cluster is down): the failed master still owns its slots.
  const auto down = expect_decoded(
      replies::shards_resp3_down, shards_decoder,
      "0-5460,12706 M 127.0.0.1:31001 aa050ca4 online / R 127.0.0.1:31005 f481f32e online\n"
      "10923-12705,12707-16383 M 127.0.0.1:31003 a8c61215 failed / R 127.0.0.1:31004 1dd89458 "
      "failed\n"
      "5461-10922 M 127.0.0.1:31006 6955fa24 online / R 127.0.0.1:31002 391cf607 online\n");
  REQUIRE_FALSE(map.assign(down));
  CHECK(map.owner(16383)->master.health == cluster::node_health::failed);
}

TEST_CASE("CLUSTER SHARDS: the online master of a shard is chosen, a shard without one dropped") {
  // Redis 7.2+ keeps a failed master in its shard after the replica took over.
  auto node = [](const char* id, int port, const char* role, const char* health) {
    return std::string("*10\r\n$2\r\nid\r\n$1\r\n") + id +
           "\r\n$4\r\nport\r\n:" + std::to_string(port) +
           "\r\n$8\r\nendpoint\r\n$1\r\nh\r\n$4\r\nrole\r\n$" + std::to_string(std::strlen(role)) +
           "\r\n" + role + "\r\n$6\r\nhealth\r\n$" + std::to_string(std::strlen(health)) + "\r\n" +
           health + "\r\n";
  };
  const std::string reply = "*2\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:100\r\n$5\r\nnodes\r\n*3\r\n" +
                            node("a", 1, "master", "fail") + node("b", 2, "master", "online") +
                            node("c", 3, "replica", "online") +
                            "*4\r\n$5\r\nslots\r\n*2\r\n:101\r\n:200\r\n$5\r\nnodes\r\n*1\r\n" +
                            node("d", 4, "slave", "online");
  expect_decoded(reply, shards_decoder, "0-100 M h:2 b online / R h:3 c online\n");
}

TEST_CASE("topology decoders: server errors are classified, the text kept") {
  for (const decode_fn decode : {shards_decoder, slots_decoder}) {
    std::vector<shard> out(1);
    const auto result =
        decode(parse("-ERR This instance has cluster support disabled\r\n"), origin, out);
    CHECK(result.ec == resp::server_errc::generic);
    CHECK(result.diagnostic == "ERR This instance has cluster support disabled");
    CHECK(out.empty());
  }
}

TEST_CASE("CLUSTER SHARDS: other shapes are malformed_topology, naming what and where") {
  const auto d = shards_decoder;
  auto one_node = [](std::string fields, int count) {
    return "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:1\r\n$5\r\nnodes\r\n*1\r\n*" +
           std::to_string(count) + "\r\n" + fields;
  };
  const std::string id = "$2\r\nid\r\n$1\r\nx\r\n", master = "$4\r\nrole\r\n$6\r\nmaster\r\n";
  const std::string port = "$4\r\nport\r\n:7000\r\n";
  expect_malformed("%1\r\n$1\r\na\r\n:1\r\n", d, "reply is not an array");
  expect_malformed(":3\r\n", d, "reply is not an array");
  expect_malformed("*1\r\n:1\r\n", d, "shard 0: shard is not a map");
  expect_malformed("*1\r\n*3\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n", d, "shard is not a map");
  expect_malformed("*1\r\n*2\r\n$5\r\nslots\r\n*0\r\n", d, "shard without slots or nodes");
  expect_malformed("*1\r\n*4\r\n$5\r\nslots\r\n*1\r\n:0\r\n$5\r\nnodes\r\n*0\r\n", d,
                   "start/end pairs");
  expect_malformed("*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16384\r\n$5\r\nnodes\r\n*0\r\n", d,
                   "0..16383");
  expect_malformed("*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:-1\r\n:5\r\n$5\r\nnodes\r\n*0\r\n", d,
                   "0..16383");
  expect_malformed("*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:9\r\n:5\r\n$5\r\nnodes\r\n*0\r\n", d,
                   "ends before it starts");
  expect_malformed("*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n$1\r\nx\r\n", d,
                   "nodes is not an array");
  expect_malformed("*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n:1\r\n", d,
                   "shard 0 node 0: node is not a map");
  expect_malformed(one_node(master + port, 4), d, "shard 0 node 0: node without id");
  expect_malformed(one_node("$2\r\nid\r\n$0\r\n\r\n" + master + port, 6), d, "node without id");
  expect_malformed(one_node(id + port, 4), d, "node without a known role");
  expect_malformed(one_node(id + "$4\r\nrole\r\n$7\r\narbiter\r\n" + port, 6), d, "known role");
  expect_malformed(one_node(id + master, 4), d, "node without port or tls-port");
  expect_malformed(one_node(id + master + "$4\r\nport\r\n:0\r\n", 6), d, "1..65535");
  expect_malformed(one_node(id + master + "$4\r\nport\r\n:65536\r\n", 6), d, "1..65535");
  expect_malformed(one_node(id + master + "$4\r\nport\r\n$3\r\n7ab\r\n", 6), d, "1..65535");
  expect_malformed(one_node(id + master + port + "$8\r\nendpoint\r\n:1\r\n", 8), d,
                   "endpoint is not text");
  expect_malformed(one_node(id + master + port + "$18\r\nreplication-offset\r\n$1\r\nx\r\n", 8), d,
                   "replication-offset");
}

TEST_CASE("CLUSTER SLOTS: other shapes are malformed_topology, naming what and where") {
  const auto d = slots_decoder;
  const std::string range = "*3\r\n:0\r\n:5\r\n";
  expect_malformed("$2\r\nok\r\n", d, "reply is not an array");
  expect_malformed("*1\r\n*2\r\n:0\r\n:5\r\n", d, "range 0: range is not");
  expect_malformed("*1\r\n:0\r\n", d, "range is not");
  expect_malformed("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n", d, "0..16383");
  expect_malformed("*1\r\n*3\r\n:6\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n", d, "ends before");
  expect_malformed("*1\r\n" + range + "*1\r\n$1\r\nh\r\n", d, "master: node is not");
  expect_malformed("*1\r\n" + range + "*2\r\n:1\r\n:1\r\n", d, "endpoint is not text");
  expect_malformed("*1\r\n" + range + "*2\r\n$1\r\nh\r\n$1\r\np\r\n", d, "1..65535");
  expect_malformed("*1\r\n" + range + "*3\r\n$1\r\nh\r\n:1\r\n:5\r\n", d, "node id is not text");
  expect_malformed("*1\r\n" + range + "*4\r\n$1\r\nh\r\n:1\r\n$1\r\ni\r\n:5\r\n", d, "metadata");
  expect_malformed("*1\r\n" + range + "*4\r\n$1\r\nh\r\n:1\r\n$1\r\ni\r\n*1\r\n$2\r\nip\r\n", d,
                   "metadata");
  expect_malformed("*1\r\n*4\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n", d,
                   "range 0 replica 0: port");
}

namespace {

// Visits every node of `v`, pre-order.
void for_each_node(resp::value& v, const std::function<void(resp::value&)>& visit) {
  visit(v);
  for (auto& child : v.elements) for_each_node(child, visit);
}

// For every node of `reply`, decodes copies with that node replaced by another type or value,
// or (an aggregate) one element short: each either still decodes, or is malformed_topology
// with an empty output.
void mutate_and_decode(const resp::value& reply, decode_fn decode) {
  std::size_t count = 0;
  resp::value counting = reply;
  for_each_node(counting, [&](resp::value&) { ++count; });
  const resp::value replacements[] = {
      {resp::type::integer, "7", {}},     {resp::type::null, "", {}},
      {resp::type::array, "", {}},        {resp::type::map, "", {}},
      {resp::type::blob_string, "?", {}}, {resp::type::blob_string, "-1", {}},
  };
  std::size_t decoded = 0, refused = 0;
  for (std::size_t target = 0; target < count; ++target) {
    for (std::size_t variant = 0; variant <= std::size(replacements); ++variant) {
      resp::value copy = reply;
      std::size_t at = 0;
      for_each_node(copy, [&](resp::value& n) {
        if (at++ != target) return;
        if (variant < std::size(replacements)) {
          n = replacements[variant];
        } else if (!n.elements.empty()) {
          n.elements.pop_back();  // an aggregate one element short
        }
      });
      std::vector<shard> out(1);
      const auto result = decode(copy, origin, out);
      INFO("node " << target << " variant " << variant << ": " << result.diagnostic);
      if (result) {
        ++decoded;
        // Whatever a decoder lets through, the map takes or refuses as a whole.
        cluster::slot_map map;
        const auto ec = map.assign(out);
        CHECK((!ec || ec == cluster_errc::malformed_topology));
        continue;
      }
      ++refused;
      CHECK(result.ec == cluster_errc::malformed_topology);
      CHECK(out.empty());
    }
  }
  // Both happen: optional fields (health, offsets, hostnames) may change without failing.
  CHECK(decoded > 0);
  CHECK(refused > 0);
}

}  // namespace

TEST_CASE("topology decoders: any node of a real reply replaced or cut short never crashes") {
  mutate_and_decode(parse(replies::shards_resp3_failover), shards_decoder);
  mutate_and_decode(parse(replies::shards_resp2_split), shards_decoder);
  mutate_and_decode(parse(replies::slots_resp3_split), slots_decoder);
  mutate_and_decode(parse(replies::slots_resp2_unknown_endpoint), slots_decoder);
}

TEST_CASE("slot_map: assign refuses contradictions whole, MOVED moves one slot") {
  cluster::slot_map map;
  REQUIRE_FALSE(map.assign(expect_decoded(replies::shards_resp3, shards_decoder, healthy)));
  const auto version = map.version();
  auto with_ranges = [&](std::vector<cluster::slot_range> a, std::vector<cluster::slot_range> b) {
    std::vector<shard> s(2);
    s[0].master.address = {"a", 1};
    s[1].master.address = {"b", 2};
    s[0].slots = std::move(a);
    s[1].slots = std::move(b);
    return s;
  };
  CHECK(map.assign(with_ranges({{0, 10}}, {{10, 20}})) == cluster_errc::malformed_topology);
  CHECK(map.assign(with_ranges({{0, 10}, {5, 6}}, {})) == cluster_errc::malformed_topology);
  CHECK(map.assign(with_ranges({{0, 16384}}, {})) == cluster_errc::malformed_topology);
  CHECK(map.assign(with_ranges({{9, 8}}, {})) == cluster_errc::malformed_topology);
  CHECK(map.version() == version);  // unchanged by every refusal
  CHECK(map.covered_slots() == cluster::slot_count);
  CHECK(map.owner(0)->master.address.port == 31101);

  // MOVED to a known master: the slot joins its shard; ranges follow.
  const node_address m3{"127.0.0.1", 31103};
  CHECK(map.apply_moved(100, m3));
  CHECK(map.version() == version + 1);
  CHECK(map.owner(100)->master.address == m3);
  CHECK(map.owner(99)->master.address.port == 31101);
  CHECK(map.find_master(m3)->slots == std::vector<cluster::slot_range>{{100, 100}, {10923, 16383}});
  CHECK(map.owner(99)->slots == std::vector<cluster::slot_range>{{0, 99}, {101, 5460}});
  CHECK_FALSE(map.apply_moved(100, m3));  // already there
  CHECK_FALSE(map.apply_moved(16384, m3));
  CHECK(map.version() == version + 1);
  // MOVED to an address no shard has: a new shard of that master alone, id unknown.
  const node_address fresh{"10.0.0.9", 7000};
  CHECK(map.apply_moved(5000, fresh));
  REQUIRE(map.owner(5000) == map.find_master(fresh));
  CHECK(map.owner(5000)->master.id.empty());
  CHECK(map.owner(5000)->replicas.empty());
  CHECK(map.shards().size() == 4);
  CHECK(map.covered_slots() == cluster::slot_count);
  // An empty topology (a node that lost every slot) uncovers everything.
  REQUIRE_FALSE(map.assign({}));
  CHECK(map.covered_slots() == 0);
  CHECK(map.owner(5000) == nullptr);
  CHECK(map.apply_moved(5000, fresh));
  CHECK(map.covered_slots() == 1);
}

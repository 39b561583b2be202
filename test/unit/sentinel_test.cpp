// Tests of lib/redis/sentinel/sentinel_rules.* and of the sentinel part of lib/redis/config.cpp,
// with no server: replies captured byte for byte from Redis 7.0.15 sentinels and data nodes
// (RESP2 and RESP3), fed through resp::parser as a connection does, whole and at every split;
// every other shape refused; the URL form, its redaction and validation.
#include "redis/sentinel/sentinel_rules.hpp"
#include "reply_harness.hpp"

#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <ostream>  // doctest prints error codes with it
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace redis = streamq::redis;
namespace sentinel = streamq::redis::sentinel;
using redis::client_errc;
using redis::seed_address;
using sentinel::addr_status;
using sentinel::master_address;
using sentinel::node_role;

namespace {

// Captured from `redis-server --sentinel` 7.0.15 and its master and replica.
constexpr std::string_view addr_resp2 = "*2\r\n$9\r\n127.0.0.1\r\n$5\r\n36401\r\n";
constexpr std::string_view unknown_resp2 = "*-1\r\n";
constexpr std::string_view unknown_resp3 = "_\r\n";
constexpr std::string_view role_master =
    "*3\r\n$6\r\nmaster\r\n:425\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$5\r\n36402\r\n$3\r\n291\r\n";
constexpr std::string_view role_replica =
    "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:36401\r\n$9\r\nconnected\r\n:425\r\n";
constexpr std::string_view role_sentinel = "*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n";
constexpr std::string_view readonly_reply =
    "-READONLY You can't write against a read only replica.\r\n";
// HELLO 3, SUBSCRIBE +switch-master, then SENTINEL FAILOVER elsewhere: the subscription's
// confirmation and the switch, as pushes.
constexpr std::string_view subscribed_push =
    ">3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n";
constexpr std::string_view switch_push =
    ">3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$40\r\n"
    "mymaster 127.0.0.1 36401 127.0.0.1 36402\r\n";

// The one value `bytes` holds, fed whole (for_every_split checks the splits where it matters).
resp::value value_of(std::string_view bytes) {
  resp::generic_response r;
  REQUIRE(reply_harness::feed(bytes, {}, r) == 1);
  return r.values().at(0);
}

resp::value text(std::string s, resp::type t = resp::type::blob_string) {
  resp::value v;
  v.data_type = t;
  v.text = std::move(s);
  return v;
}

resp::value array(std::vector<resp::value> elements, resp::type t = resp::type::array) {
  resp::value v;
  v.data_type = t;
  v.elements = std::move(elements);
  return v;
}

addr_status decode(const resp::value& v, master_address& out) {
  return sentinel::decode_master_addr(v, out);
}

// is_demotion() of every node of `bytes`, in order.
std::vector<bool> demotions(std::string_view bytes) {
  resp::parser p;
  std::vector<bool> out;
  std::string_view rest = bytes;
  while (!rest.empty()) {
    std::error_code ec;
    const auto n = p.consume(rest, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(n.has_value());
    out.push_back(sentinel::is_demotion(*n));
    rest.remove_prefix(p.consumed());
  }
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

// ---- GET-MASTER-ADDR-BY-NAME -----------------------------------------------------------------

TEST_CASE("sentinel replies: GET-MASTER-ADDR-BY-NAME as sentinels send it, at every split") {
  resp::request req;
  sentinel::build_get_master_addr(req, "mymaster");
  CHECK(req.payload() ==
        "*3\r\n$8\r\nSENTINEL\r\n$23\r\nGET-MASTER-ADDR-BY-NAME\r\n$8\r\nmymaster\r\n");
  CHECK(req.reply_count() == 1);

  resp::generic_response r;
  reply_harness::for_every_split(addr_resp2, r, [&] {
    master_address out;
    REQUIRE(decode(r.values().at(0), out) == addr_status::ok);
    CHECK(out == master_address{"127.0.0.1", 36401});
    CHECK(sentinel::to_string(out) == "127.0.0.1:36401");
  });
  // RESP3 sends the same bytes; a name the sentinel does not monitor is null in both.
  master_address untouched{"keep", 1};
  CHECK(decode(value_of(unknown_resp2), untouched) == addr_status::unknown_master);
  CHECK(decode(value_of(unknown_resp3), untouched) == addr_status::unknown_master);
  CHECK(decode(value_of("-NOAUTH Authentication required.\r\n"), untouched) ==
        addr_status::error_reply);
  CHECK(decode(value_of("-ERR unknown command 'SENTINEL'\r\n"), untouched) ==
        addr_status::error_reply);
  CHECK(untouched == master_address{"keep", 1});
  // An integer port and an IPv6 address (no brackets, as sentinels write them).
  master_address v6;
  CHECK(decode(array({text("::1"), text("6380", resp::type::integer)}), v6) == addr_status::ok);
  CHECK(v6 == master_address{"::1", 6380});
  CHECK(sentinel::to_string(v6) == "[::1]:6380");
}

TEST_CASE("sentinel replies: any other GET-MASTER-ADDR-BY-NAME shape is malformed") {
  const std::vector<resp::value> bad = {
      array({text("127.0.0.1")}),
      array({text("127.0.0.1"), text("6379"), text("extra")}),
      array({text("127.0.0.1"), text("0")}),
      array({text("127.0.0.1"), text("65536")}),
      array({text("127.0.0.1"), text("63a9")}),
      array({text("127.0.0.1"), text("-1")}),
      array({text("127.0.0.1"), text("")}),
      array({text(""), text("6379")}),
      array({text("127.0.0.1 x"), text("6379")}),
      array({text("[::1]"), text("6379")}),
      array({array({}), text("6379")}),
      array({text("127.0.0.1"), text("6379")}, resp::type::map),
      array({text("127.0.0.1"), text("6379")}, resp::type::set),
      text("127.0.0.1:6379"),
      text("6379", resp::type::integer),
  };
  for (const auto& v : bad) {
    INFO(resp::to_string(v));
    master_address out{"keep", 1};
    CHECK(decode(v, out) == addr_status::malformed);
    CHECK(out == master_address{"keep", 1});
  }
}

// ---- ROLE ------------------------------------------------------------------------------------

TEST_CASE("sentinel replies: ROLE of a master, a replica and a sentinel, at every split") {
  resp::request req;
  sentinel::build_role(req);
  CHECK(req.payload() == "*1\r\n$4\r\nROLE\r\n");
  struct role_case {
    std::string_view bytes;
    node_role role;
    redis::error_code verdict;
  };
  for (const auto& c : {role_case{role_master, node_role::master, {}},
                        role_case{role_replica, node_role::replica, client_errc::not_master},
                        role_case{role_sentinel, node_role::sentinel, client_errc::not_master}}) {
    resp::generic_response r;
    reply_harness::for_every_split(c.bytes, r, [&] {
      CHECK(sentinel::decode_role(r.values().at(0)) == c.role);
      CHECK(sentinel::role_verdict(r.values().at(0)) == c.verdict);
    });
  }
}

TEST_CASE("sentinel replies: ROLE errors and unknown shapes") {
  // An ACL user without @admin: let through (READONLY still guards the session).
  const auto noperm =
      value_of("-NOPERM this user has no permissions to run the 'role' command\r\n");
  CHECK(sentinel::decode_role(noperm) == node_role::unknown);
  CHECK_FALSE(sentinel::role_verdict(noperm));
  // Other refusals are the server's error: the connect fails and is retried.
  const auto loading = value_of("-LOADING Redis is loading the dataset in memory\r\n");
  CHECK(sentinel::role_verdict(loading) == resp::server_errc::loading);
  CHECK(redis::is_retryable(sentinel::role_verdict(loading)));
  // A shape nobody documented is not taken for a master.
  for (const auto& v :
       {array({}), array({text("primary")}), array({text("master")}, resp::type::set),
        text("master"), array({text("1", resp::type::integer)})}) {
    INFO(resp::to_string(v));
    CHECK(sentinel::decode_role(v) == node_role::unknown);
    CHECK(sentinel::role_verdict(v) == client_errc::not_master);
  }
  CHECK(sentinel::decode_role(array({text("replica", resp::type::simple_string)})) ==
        node_role::replica);
}

// ---- +switch-master ----------------------------------------------------------------------------

TEST_CASE("sentinel replies: the +switch-master push, at every split") {
  resp::request req;
  sentinel::build_subscribe_switch_master(req);
  CHECK(req.payload() == "*2\r\n$9\r\nSUBSCRIBE\r\n$14\r\n+switch-master\r\n");
  CHECK(req.reply_count() == 0);  // RESP3: answered by pushes only

  resp::generic_response r;
  reply_harness::for_every_split(switch_push, r, [&] {
    const auto s = sentinel::switch_master_of(r.values().at(0));
    REQUIRE(s.has_value());
    CHECK(s->master_name == "mymaster");
    CHECK(s->from == master_address{"127.0.0.1", 36401});
    CHECK(s->to == master_address{"127.0.0.1", 36402});
  });
  CHECK_FALSE(sentinel::switch_master_of(value_of(subscribed_push)).has_value());
  // Another channel, a pattern message, a RESP2-style array, a malformed text.
  auto message = [](std::string kind, std::string channel, std::string payload,
                    resp::type t = resp::type::push) {
    return array({text(std::move(kind)), text(std::move(channel)), text(std::move(payload))}, t);
  };
  const std::string good = "mymaster 127.0.0.1 36401 127.0.0.1 36402";
  CHECK(sentinel::switch_master_of(message("message", "+switch-master", good)).has_value());
  CHECK_FALSE(sentinel::switch_master_of(message("message", "+sdown", good)).has_value());
  CHECK_FALSE(sentinel::switch_master_of(message("pmessage", "+switch-master", good)).has_value());
  CHECK_FALSE(
      sentinel::switch_master_of(message("message", "+switch-master", good, resp::type::array))
          .has_value());
  CHECK_FALSE(sentinel::switch_master_of(message("message", "+switch-master", "mymaster 1 2 3"))
                  .has_value());
}

TEST_CASE("sentinel replies: +switch-master text, exactly five words") {
  const auto s = sentinel::parse_switch_master("orders-db ::1 6379 10.0.0.7 6380");
  REQUIRE(s.has_value());
  CHECK(*s == sentinel::switch_master{"orders-db", {"::1", 6379}, {"10.0.0.7", 6380}});
  for (const std::string_view bad :
       {"", "mymaster", "mymaster 127.0.0.1 36401 127.0.0.1",
        "mymaster 127.0.0.1 36401 127.0.0.1 36402 x", "mymaster 127.0.0.1 36401 127.0.0.1 36402 ",
        " mymaster 127.0.0.1 36401 127.0.0.1 36402", "mymaster  127.0.0.1 36401 127.0.0.1 36402",
        "mymaster 127.0.0.1 0 127.0.0.1 36402", "mymaster 127.0.0.1 36401 127.0.0.1 99999",
        "mymaster 127.0.0.1 port 127.0.0.1 36402", "mymaster [::1] 36401 127.0.0.1 36402",
        "mymaster 127.0.0.1 36401 127.0.0.1 36402\r\n"}) {
    INFO(bad);
    CHECK_FALSE(sentinel::parse_switch_master(bad).has_value());
  }
}

TEST_CASE("sentinel rules: a switch moves a connection only away from another address") {
  const master_address a{"127.0.0.1", 6379};
  const master_address b{"127.0.0.1", 6380};
  CHECK(sentinel::must_move(a, b));
  CHECK_FALSE(sentinel::must_move(a, a));
  CHECK_FALSE(sentinel::must_move(std::nullopt, b));  // still resolving: it asks anyway
  CHECK(sentinel::must_move(a, master_address{"localhost", 6379}));  // compared as text
}

// ---- READONLY ----------------------------------------------------------------------------------

TEST_CASE("sentinel rules: only a top-level READONLY error is a demotion") {
  CHECK(demotions(readonly_reply) == std::vector<bool>{true});
  CHECK(demotions("!8\r\nREADONLY\r\n") == std::vector<bool>{true});  // RESP3 blob error
  CHECK(demotions("-ERR nope\r\n") == std::vector<bool>{false});
  CHECK(demotions("-LOADING busy\r\n") == std::vector<bool>{false});
  CHECK(demotions("+READONLY\r\n") == std::vector<bool>{false});
  CHECK(demotions("$8\r\nREADONLY\r\n") == std::vector<bool>{false});
  // Inside an aggregate (an EXEC reply, a script's table): not the session's verdict.
  CHECK(demotions("*2\r\n:1\r\n-READONLY You can't write\r\n") ==
        std::vector<bool>{false, false, false});
}

// ---- the order of sentinels ------------------------------------------------------------------

TEST_CASE("sentinel rules: the sentinel that answered is asked first next time") {
  const seed_address s1{"a", 1}, s2{"b", 2}, s3{"c", 3};
  std::vector<seed_address> order{s1, s2, s3};
  sentinel::prefer(order, 0);
  CHECK(order == std::vector<seed_address>{s1, s2, s3});
  sentinel::prefer(order, 2);
  CHECK(order == std::vector<seed_address>{s3, s1, s2});
  sentinel::prefer(order, 2);
  CHECK(order == std::vector<seed_address>{s2, s3, s1});
  sentinel::prefer(order, 1);
  CHECK(order == std::vector<seed_address>{s3, s2, s1});
  sentinel::prefer(order, 3);  // out of range: no change
  CHECK(order == std::vector<seed_address>{s3, s2, s1});
  std::vector<seed_address> empty;
  sentinel::prefer(empty, 0);
  CHECK(empty.empty());
}

// ---- the configuration of a link to a sentinel -------------------------------------------------

TEST_CASE("sentinel rules: a link to a sentinel takes the sentinel's credentials and TLS") {
  auto data = redis::parse_url(
      "rediss+sentinel://app:data-pw@s1:5000,s2/orders/3?sentinel_username=watcher&"
      "sentinel_password=sentinel-pw&sentinel_tls=0&sni=redis.internal&ca=/ca.pem&"
      "health_check_ms=0&sentinel_timeout_ms=700&client_name=svc");
  const auto link = sentinel::link_config(data, data.sentinel.addresses.at(1), false);
  CHECK_NOTHROW(link.validate());
  CHECK(link.host == "s2");
  CHECK(link.port == 26379);
  CHECK(link.username == "watcher");
  CHECK(link.password == "sentinel-pw");
  CHECK(link.database == 0);
  CHECK_FALSE(link.tls.enabled);
  CHECK(link.tls.ca_file == "/ca.pem");
  CHECK(link.tls.server_name.empty());  // the data nodes' name is not the sentinels'
  CHECK(link.resp3);
  CHECK(link.client_name == "svc-sentinel");
  CHECK(link.connect_timeout == std::chrono::milliseconds(700));
  CHECK_FALSE(link.reconnect.enabled);
  CHECK(link.health_check_interval.count() == 0);
  CHECK(link.sentinel.addresses.empty());  // never recurses into sentinel mode
  CHECK(link.cluster.mode == redis::cluster_mode::off);
  // The subscriber link checks its sentinel's health even when the data connection does not.
  const auto sub = sentinel::link_config(data, data.sentinel.addresses.at(0), true);
  CHECK(sub.port == 5000);
  CHECK(sub.health_check_interval == std::chrono::milliseconds(2000));
  data.sentinel.tls = true;
  data.resp3 = false;
  data.health_check_interval = std::chrono::milliseconds(300);
  const auto tls = sentinel::link_config(data, data.sentinel.addresses.at(0), true);
  CHECK(tls.tls.enabled);
  CHECK(tls.resp3);  // pushes need RESP3 whatever the data connection speaks
  CHECK(tls.health_check_interval == std::chrono::milliseconds(300));
}

// ---- the URL form, redaction, validation ------------------------------------------------------

TEST_CASE("parse_url: redis+sentinel:// names the sentinels and the master") {
  const auto cfg = redis::parse_url("redis+sentinel://s1:26380,[::1],10.0.0.3:5000/mymaster");
  CHECK(cfg.sentinel.addresses ==
        std::vector<seed_address>{{"s1", 26380}, {"::1", 26379}, {"10.0.0.3", 5000}});
  CHECK(cfg.sentinel.master_name == "mymaster");
  CHECK(cfg.database == 0);
  CHECK_FALSE(cfg.tls.enabled);
  CHECK_FALSE(cfg.sentinel.tls);
  CHECK(cfg.cluster.mode == redis::cluster_mode::off);  // several addresses: sentinels, not seeds
  CHECK(cfg.cluster.seeds.empty());
  CHECK(cfg.username.empty());
  CHECK(cfg.sentinel.password.empty());
  CHECK(cfg.sentinel.timeout == std::chrono::milliseconds(1000));
  CHECK(cfg.redacted_url() == "redis+sentinel://s1:26380,[::1]:26379,10.0.0.3:5000/mymaster");

  const auto full = redis::parse_url(
      "rediss+sentinel://app:p%40ss@s1/my%2Fmaster/2?sentinel_password=s3cr%40t&"
      "sentinel_username=mon&sentinel_timeout_ms=250&resp=2");
  CHECK(full.username == "app");
  CHECK(full.password == "p@ss");
  CHECK(full.sentinel.master_name == "my/master");
  CHECK(full.database == 2);
  CHECK(full.tls.enabled);
  CHECK(full.sentinel.tls);  // rediss+sentinel: TLS to both
  CHECK(full.sentinel.username == "mon");
  CHECK(full.sentinel.password == "s3cr@t");
  CHECK(full.sentinel.timeout == std::chrono::milliseconds(250));
  CHECK_FALSE(full.resp3);
  const auto ok = redis::parse_url(
      "rediss+sentinel://app:p%40ss@s1/orders.db/2?sentinel_password=s3cr%40t&sentinel_tls=0");
  CHECK_FALSE(ok.sentinel.tls);
  CHECK(ok.tls.enabled);
  const std::string printed = ok.redacted_url();
  CHECK(printed ==
        "rediss+sentinel://app:***@s1:26379/orders.db/2?sentinel_password=***&sentinel_tls=0");
  CHECK_FALSE(contains(printed, "p@ss"));
  CHECK_FALSE(contains(printed, "s3cr"));
  // What redacted_url prints parses back to the same addresses (passwords aside).
  const auto again = redis::parse_url(
      redis::parse_url("redis+sentinel://h:1,h:2/a%2Fb/4?sentinel_username=u").redacted_url());
  CHECK(again.sentinel.addresses == std::vector<seed_address>{{"h", 1}, {"h", 2}});
  CHECK(again.sentinel.master_name == "a/b");
  CHECK(again.sentinel.username == "u");
  CHECK(again.database == 4);
}

TEST_CASE("parse_url: malformed sentinel URLs throw without echoing a password") {
  for (const std::string_view url :
       {"redis+sentinel://s1,s2", "redis+sentinel://s1/", "redis+sentinel://s1//3",
        "redis+sentinel://s1:0/m", "redis+sentinel://s1:x/m", "redis+sentinel://,s2/m",
        "redis+sentinel://s1/m/notadb", "redis+sentinel://s1/m?sentinel_tls=yes",
        "redis+sentinel://s1/m?sentinel_timeout_ms=soon", "redis+sentinel://s1/m?sentinel_bogus=1",
        "redis+sentinel://s1/m?sentinel_timeout_ms=0", "redis+sentinel://s1/m?cluster=on",
        "redis://127.0.0.1?sentinel_password=hunter2", "unix:///tmp/s.sock?sentinel_tls=1",
        "redis+sentinel://u:hunter2@s1/two%20words", "redis+sentinel://s1/m?sentinel_password"}) {
    INFO(url);
    try {
      (void)redis::parse_url(url);
      FAIL("parse_url accepted a malformed URL");
    } catch (const std::invalid_argument& e) {
      CHECK_FALSE(contains(e.what(), "hunter2"));
    }
  }
}

TEST_CASE("sentinel errors: typed, retryable, never fatal") {
  for (const auto e : {client_errc::not_master, client_errc::sentinel_unavailable}) {
    const redis::error_code ec = e;
    CHECK(ec.category() == redis::client_category());
    CHECK_FALSE(ec.message().empty());
    CHECK(ec.message() != "unknown streamq client error");
    CHECK(redis::is_retryable(ec));
    CHECK_FALSE(redis::is_fatal(ec));
  }
}

// Tests of the cluster router's pure parts, with no server: lib/redis/cluster/cluster_commands.*
// (INFO cluster probe, ASKING prefix, transaction check), redirect_adapter.* (replies held back
// from the first cluster fault and handed over in order), retry_rules.* (what to do after each
// send), and the cluster fields of parse_url / connection_config::validate.
#include "redis/cluster/cluster_commands.hpp"
#include "redis/cluster/redirect_adapter.hpp"
#include "redis/cluster/retry_rules.hpp"
#include "reply_harness.hpp"

#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace redis = streamq::redis;
namespace cluster = streamq::redis::cluster;
using namespace std::chrono_literals;
using cluster::retry_reason;
using cluster::retry_step;

namespace {

// A request's payload as its commands, for comparisons.
std::string payload_of(const resp::request& r) {
  return std::string(r.payload());
}

}  // namespace

TEST_CASE("decode_cluster_enabled reads INFO cluster") {
  CHECK(cluster::decode_cluster_enabled("# Cluster\r\ncluster_enabled:1\r\n") == true);
  CHECK(cluster::decode_cluster_enabled("# Cluster\r\ncluster_enabled:0\r\n") == false);
  CHECK(cluster::decode_cluster_enabled("# Cluster\ncluster_enabled:1") == true);  // bare LF
  CHECK_FALSE(cluster::decode_cluster_enabled("# Cluster\r\n").has_value());
  CHECK_FALSE(cluster::decode_cluster_enabled("").has_value());
  CHECK_FALSE(cluster::decode_cluster_enabled("cluster_enabled:yes\r\n").has_value());
  // A field that only ends with the name is not it.
  CHECK_FALSE(cluster::decode_cluster_enabled("xcluster_enabled:1\r\n").has_value());
  resp::request req;
  cluster::build_info_cluster(req);
  CHECK(req.payload() == "*2\r\n$4\r\nINFO\r\n$7\r\ncluster\r\n");
}

TEST_CASE("prefix_asking puts ASKING before every command, unchanged") {
  resp::request req;
  req.push("MULTI");
  req.push("SET", resp::key{"k{t}"}, "a\r\nb");  // CRLF inside a value
  req.push("EXEC");
  resp::request out;
  REQUIRE(cluster::prefix_asking(req, out));
  resp::request expected;
  expected.push("ASKING");
  expected.push("MULTI");
  expected.push("SET", "k{t}", "a\r\nb");
  expected.push("EXEC");
  CHECK(payload_of(out) == payload_of(expected));
  CHECK(out.command_count() == 4);
  CHECK(out.reply_count() == 4);

  resp::request empty_args;
  empty_args.push("SET", "k", "");
  REQUIRE(cluster::prefix_asking(empty_args, out));
  CHECK(out.reply_count() == 2);
}

TEST_CASE("is_single_transaction: MULTI first, EXEC last, nothing else of the kind") {
  const auto tx = [](std::vector<std::string> names) {
    resp::request r;
    for (const auto& n : names) r.push(n, "x");
    return cluster::is_single_transaction(r);
  };
  CHECK(tx({"MULTI", "SET", "EXEC"}));
  CHECK(tx({"multi", "set", "exec"}));
  CHECK(tx({"MULTI", "EXEC"}));
  CHECK_FALSE(tx({"SET", "MULTI", "SET", "EXEC"}));       // SET before ran on its own
  CHECK_FALSE(tx({"MULTI", "SET", "EXEC", "GET"}));       // GET after ran on its own
  CHECK_FALSE(tx({"MULTI", "SET", "EXEC", "MULTI", "SET", "EXEC"}));  // two transactions
  CHECK_FALSE(tx({"MULTI", "DISCARD", "SET", "EXEC"}));
  CHECK_FALSE(tx({"MULTI", "SET"}));
  CHECK_FALSE(tx({"EXECX", "SET", "EXEC"}));
  resp::request none;
  CHECK_FALSE(cluster::is_single_transaction(none));
}

TEST_CASE("redirect_adapter forwards replies until the first cluster fault") {
  resp::response<std::string, std::string, std::string> inner;
  cluster::redirect_adapter wrap(inner);
  wrap.prepare(0);
  CHECK(wrap.expected_replies() == 3);

  SUBCASE("no fault: everything forwarded, nothing held") {
    reply_harness::for_every_split("+OK\r\n$3\r\nabc\r\n-ERR no\r\n", wrap, [&] {
      CHECK(wrap.outcome().faults == 0);
      CHECK(wrap.outcome().replies == 3);
      CHECK(inner.get<0>().value() == "OK");
      CHECK(inner.get<1>().value() == "abc");
      CHECK(inner.get<2>().error() == resp::server_errc::generic);
    }, 3);
  }
  SUBCASE("a fault holds it and every later reply; deliver() hands them over in order") {
    reply_harness::for_every_split(
        "+OK\r\n-MOVED 12 127.0.0.1:7001\r\n$3\r\nabc\r\n", wrap,
        [&] {
          const auto& o = wrap.outcome();
          CHECK(o.faults == 1);
          CHECK(o.replies == 3);
          CHECK(o.first_fault == resp::server_errc::moved);
          CHECK(o.first_fault_text == "MOVED 12 127.0.0.1:7001");
          CHECK(inner.get<0>().value() == "OK");
          CHECK(inner.get<1>().has_value());  // not delivered yet: still empty
          CHECK(inner.get<1>().value().empty());
          CHECK(inner.get<2>().value().empty());
          wrap.deliver();
          CHECK(inner.get<1>().error() == resp::server_errc::moved);
          CHECK(inner.get<1>().diagnostic() == "MOVED 12 127.0.0.1:7001");
          CHECK(inner.get<2>().value() == "abc");
        },
        3);
  }
  SUBCASE("EXECABORT as the last reply is noted") {
    reply_harness::feed("+OK\r\n-ASK 5 127.0.0.1:7002\r\n-EXECABORT Transaction discarded\r\n",
                        {}, wrap);
    const auto& o = wrap.outcome();
    CHECK(o.faults == 1);
    CHECK(o.first_fault == resp::server_errc::ask);
    CHECK(o.last_reply_execabort);
  }
  SUBCASE("on_start forgets the last send") {
    reply_harness::feed("-TRYAGAIN Multiple keys\r\n-TRYAGAIN x\r\n-TRYAGAIN y\r\n", {}, wrap);
    CHECK(wrap.outcome().faults == 3);
    reply_harness::feed("+a\r\n+b\r\n+c\r\n", {}, wrap);
    CHECK(wrap.outcome().faults == 0);
    CHECK(inner.get<2>().value() == "c");
  }
}

TEST_CASE("redirect_adapter skips the replies of a prepended ASKING") {
  resp::response<std::string> inner;
  cluster::redirect_adapter wrap(inner);
  wrap.prepare(1);
  CHECK(wrap.expected_replies() == 2);
  reply_harness::feed("+OK\r\n$1\r\nv\r\n", {}, wrap);
  CHECK(wrap.outcome().replies == 1);
  CHECK(inner.get<0>().value() == "v");

  resp::generic_response any;
  cluster::redirect_adapter wrap_any(any);
  wrap_any.prepare(1);
  CHECK(wrap_any.expected_replies() == resp::response_adapter::any_count);
}

TEST_CASE("redirect_adapter keeps aggregates after a fault intact") {
  resp::generic_response inner;
  cluster::redirect_adapter wrap(inner);
  wrap.prepare(0);
  reply_harness::for_every_split(
      "*2\r\n$1\r\na\r\n:1\r\n-CLUSTERDOWN The cluster is down\r\n*2\r\n$1\r\nb\r\n%1\r\n+k\r\n+v\r\n",
      wrap,
      [&] {
        CHECK(wrap.outcome().faults == 1);
        CHECK(wrap.outcome().first_fault == resp::server_errc::clusterdown);
        REQUIRE(inner.values().size() == 1);
        wrap.deliver();
        REQUIRE(inner.values().size() == 3);
        CHECK(inner.values()[1].text == "CLUSTERDOWN The cluster is down");
        REQUIRE(inner.values()[2].elements.size() == 2);
        CHECK(inner.values()[2].elements[1].elements.size() == 2);
      },
      3);
}

namespace {

cluster::attempt_outcome all_faults(std::size_t n, resp::server_errc code, std::string_view text) {
  cluster::attempt_outcome o;
  o.replies = n;
  o.faults = n;
  o.first_fault = code;
  o.first_fault_text = text;
  return o;
}

cluster::retry_state first_send() {
  return {1, 0ms};
}

}  // namespace

TEST_CASE("decide_retry: no fault delivers") {
  cluster::attempt_outcome o;
  o.replies = 2;
  const auto d = cluster::decide_retry(o, false, "h", first_send(), {});
  CHECK(d.step == retry_step::deliver);
  CHECK(d.reason == retry_reason::no_fault);
  CHECK_FALSE(d.refresh_topology);
}

TEST_CASE("decide_retry: MOVED resends to the target and updates the map") {
  const auto d = cluster::decide_retry(
      all_faults(1, resp::server_errc::moved, "MOVED 3999 127.0.0.1:7002"), false, "127.0.0.1",
      first_send(), {});
  CHECK(d.step == retry_step::resend);
  CHECK(d.reason == retry_reason::moved);
  CHECK(d.update_slot_map);
  CHECK(d.refresh_topology);
  CHECK(d.redirect.slot == 3999);
  CHECK(d.redirect.target == cluster::node_address{"127.0.0.1", 7002});
  // ":7002": the node that answered.
  const auto local = cluster::decide_retry(all_faults(1, resp::server_errc::moved, "MOVED 1 :7002"),
                                           false, "10.0.0.5", first_send(), {});
  CHECK(local.redirect.target == cluster::node_address{"10.0.0.5", 7002});
}

TEST_CASE("decide_retry: ASK resends once behind ASKING, the map unchanged") {
  const auto d = cluster::decide_retry(
      all_faults(2, resp::server_errc::ask, "ASK 17 127.0.0.1:7003"), false, "h", first_send(), {});
  CHECK(d.step == retry_step::resend_asking);
  CHECK(d.reason == retry_reason::ask);
  CHECK_FALSE(d.update_slot_map);
  CHECK_FALSE(d.refresh_topology);
  CHECK(d.redirect.target.port == 7003);
}

TEST_CASE("decide_retry: only a request that ran nothing is resent") {
  SUBCASE("a pipeline whose first command ran") {
    auto o = all_faults(1, resp::server_errc::moved, "MOVED 1 h:1");
    o.replies = 2;
    const auto d = cluster::decide_retry(o, false, "h", first_send(), {});
    CHECK(d.step == retry_step::deliver);
    CHECK(d.reason == retry_reason::partly_ran);
    CHECK(d.refresh_topology);  // the map is still wrong for the next request
  }
  SUBCASE("a transaction discarded by EXECABORT ran nothing") {
    // MULTI +OK, SET -ASK, EXEC -EXECABORT
    auto o = all_faults(1, resp::server_errc::ask, "ASK 1 h:2");
    o.replies = 3;
    o.last_reply_execabort = true;
    const auto d = cluster::decide_retry(o, true, "h", first_send(), {});
    CHECK(d.step == retry_step::resend_asking);
    // The same replies without the transaction shape: something may have run.
    CHECK(cluster::decide_retry(o, false, "h", first_send(), {}).reason == retry_reason::partly_ran);
    // A transaction whose EXEC ran (no EXECABORT last) is never resent.
    o.last_reply_execabort = false;
    CHECK(cluster::decide_retry(o, true, "h", first_send(), {}).reason == retry_reason::partly_ran);
  }
}

TEST_CASE("decide_retry: TRYAGAIN and CLUSTERDOWN back off within the deadline") {
  cluster::retry_limits limits;
  limits.initial_backoff = 10ms;
  limits.max_backoff = 40ms;
  limits.deadline = 100ms;
  const auto tryagain = all_faults(1, resp::server_errc::tryagain, "TRYAGAIN Multiple keys");
  auto d = cluster::decide_retry(tryagain, false, "h", {1, 0ms}, limits);
  CHECK(d.step == retry_step::backoff);
  CHECK(d.reason == retry_reason::tryagain);
  CHECK(d.delay == 10ms);
  CHECK_FALSE(d.refresh_topology);
  d = cluster::decide_retry(tryagain, false, "h", {3, 20ms}, limits);
  CHECK(d.delay == 40ms);
  d = cluster::decide_retry(tryagain, false, "h", {9, 20ms}, limits);
  CHECK(d.delay == 40ms);  // capped
  d = cluster::decide_retry(tryagain, false, "h", {2, 85ms}, limits);
  CHECK(d.step == retry_step::deliver);
  CHECK(d.reason == retry_reason::out_of_time);

  const auto down = all_faults(1, resp::server_errc::clusterdown, "CLUSTERDOWN The cluster is down");
  d = cluster::decide_retry(down, false, "h", {1, 0ms}, limits);
  CHECK(d.step == retry_step::backoff);
  CHECK(d.reason == retry_reason::clusterdown);
  CHECK(d.refresh_topology);
}

TEST_CASE("decide_retry: limits and unusable redirections deliver or wait for a topology") {
  cluster::retry_limits limits;
  limits.max_attempts = 3;
  const auto moved = all_faults(1, resp::server_errc::moved, "MOVED 1 h:1");
  CHECK(cluster::decide_retry(moved, false, "h", {2, 0ms}, limits).step == retry_step::resend);
  const auto d = cluster::decide_retry(moved, false, "h", {3, 0ms}, limits);
  CHECK(d.step == retry_step::deliver);
  CHECK(d.reason == retry_reason::out_of_attempts);

  const auto bad = all_faults(1, resp::server_errc::moved, "MOVED x h:1");
  CHECK(cluster::decide_retry(bad, false, "h", first_send(), {}).reason == retry_reason::malformed);

  const auto unknown = all_faults(1, resp::server_errc::ask, "ASK 1 ?:7000");
  const auto u = cluster::decide_retry(unknown, false, "h", first_send(), {});
  CHECK(u.step == retry_step::backoff);
  CHECK(u.reason == retry_reason::unknown_endpoint);
  CHECK(u.refresh_topology);
}

TEST_CASE("backoff_delay doubles up to the cap") {
  cluster::retry_limits limits;
  limits.initial_backoff = 5ms;
  limits.max_backoff = 30ms;
  CHECK(cluster::backoff_delay(0, limits) == 5ms);
  CHECK(cluster::backoff_delay(1, limits) == 5ms);
  CHECK(cluster::backoff_delay(2, limits) == 10ms);
  CHECK(cluster::backoff_delay(3, limits) == 20ms);
  CHECK(cluster::backoff_delay(4, limits) == 30ms);
  CHECK(cluster::backoff_delay(1000, limits) == 30ms);
}

TEST_CASE("parse_url: several addresses are cluster seeds") {
  const auto one = redis::parse_url("redis://h:7000");
  CHECK(one.cluster.mode == redis::cluster_mode::off);
  CHECK(one.cluster.seeds.empty());

  const auto many = redis::parse_url("redis://u:pw@h1:7000,h2,[::1]:7002/0?cluster_refresh_ms=250");
  CHECK(many.host == "h1");
  CHECK(many.port == 7000);
  CHECK(many.cluster.mode == redis::cluster_mode::auto_detect);
  REQUIRE(many.cluster.seeds.size() == 2);
  CHECK(many.cluster.seeds[0] == redis::seed_address{"h2", 6379});
  CHECK(many.cluster.seeds[1] == redis::seed_address{"::1", 7002});
  CHECK(many.cluster.refresh_interval == 250ms);
  CHECK(many.redacted_url() == "redis://u:***@h1:7000,h2:6379,[::1]:7002");

  CHECK(redis::parse_url("redis://h?cluster=on").cluster.mode == redis::cluster_mode::on);
  CHECK(redis::parse_url("redis://h?cluster=auto").cluster.mode ==
        redis::cluster_mode::auto_detect);
  CHECK(redis::parse_url("redis://a,b?cluster=off").cluster.mode == redis::cluster_mode::off);
  CHECK_THROWS_AS((void)redis::parse_url("redis://h?cluster=maybe"), std::invalid_argument);
  CHECK_THROWS_AS((void)redis::parse_url("redis://h1,,h2"), std::invalid_argument);
  CHECK_THROWS_AS((void)redis::parse_url("redis://h1,h2:0"), std::invalid_argument);
  CHECK_THROWS_AS((void)redis::parse_url("unix:///tmp/s?cluster=on"), std::invalid_argument);
}

TEST_CASE("connection_config::validate checks the cluster fields") {
  const auto refused = [](auto change, std::string_view field) {
    redis::connection_config cfg;
    change(cfg.cluster);
    try {
      cfg.validate();
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find(field) != std::string::npos);
    }
  };
  refused([](redis::cluster_config& c) { c.seeds.push_back({"", 1}); }, "cluster.seeds");
  refused([](redis::cluster_config& c) { c.seeds.push_back({"h", 0}); }, "cluster.seeds");
  refused([](redis::cluster_config& c) { c.retry_deadline = 0ms; }, "cluster.retry_deadline");
  refused([](redis::cluster_config& c) { c.max_attempts = 0; }, "cluster.max_attempts");
  refused([](redis::cluster_config& c) { c.initial_backoff = 0ms; }, "cluster.initial_backoff");
  refused([](redis::cluster_config& c) { c.max_backoff = 1ms; }, "cluster.max_backoff");
  refused([](redis::cluster_config& c) { c.refresh_interval = -1ms; }, "cluster.refresh_interval");
  redis::connection_config ok;
  ok.cluster.mode = redis::cluster_mode::on;
  ok.cluster.seeds.push_back({"h", 1});
  CHECK_NOTHROW(ok.validate());
}

TEST_CASE("client_errc cluster codes") {
  CHECK(redis::is_retryable(redis::client_errc::cluster_unavailable));
  CHECK_FALSE(redis::is_retryable(redis::client_errc::cross_slot));
  CHECK_FALSE(redis::is_fatal(redis::client_errc::cross_slot));
  const redis::error_code ec = redis::client_errc::cross_slot;
  CHECK(ec.message().find("slot") != std::string::npos);
}

TEST_CASE("decide_retry: READONLY (a write on a demoted master) backs off and refreshes") {
  const auto ro = all_faults(1, resp::server_errc::readonly, "READONLY You can't write against a read only replica.");
  const auto d = cluster::decide_retry(ro, false, "h", first_send(), {});
  CHECK(d.step == retry_step::backoff);
  CHECK(d.reason == retry_reason::readonly);
  CHECK(d.refresh_topology);
}

TEST_CASE("decide_after_failure: only what was never written goes again") {
  cluster::retry_limits limits;
  limits.initial_backoff = 10ms;
  limits.max_backoff = 20ms;
  limits.deadline = 50ms;
  auto d = cluster::decide_after_failure(cluster::send_failure::not_sent, {1, 0ms}, limits);
  CHECK(d.step == retry_step::backoff);
  CHECK(d.reason == retry_reason::node_unreachable);
  CHECK(d.refresh_topology);
  CHECK(d.delay == 10ms);
  d = cluster::decide_after_failure(cluster::send_failure::not_sent, {4, 35ms}, limits);
  CHECK(d.step == retry_step::deliver);
  CHECK(d.reason == retry_reason::out_of_time);
  d = cluster::decide_after_failure(cluster::send_failure::outcome_unknown, {1, 0ms}, limits);
  CHECK(d.step == retry_step::deliver);
  CHECK(d.reason == retry_reason::outcome_unknown);
  CHECK(d.refresh_topology);
  d = cluster::decide_after_failure(cluster::send_failure::other, {1, 0ms}, limits);
  CHECK(d.step == retry_step::deliver);
  CHECK(d.reason == retry_reason::failed);
  CHECK_FALSE(d.refresh_topology);
}

TEST_CASE("redirect_adapter treats READONLY as a cluster fault") {
  resp::response<std::string> inner;
  cluster::redirect_adapter wrap(inner);
  wrap.prepare(0);
  reply_harness::feed("-READONLY You can't write against a read only replica.\r\n", {}, wrap);
  CHECK(wrap.outcome().faults == 1);
  CHECK(wrap.outcome().first_fault == resp::server_errc::readonly);
}

// streams::durable_publisher on a real local Redis Cluster (test/support/redis_cluster.hpp):
// topics whose hash tags land on every master, each publish confirmed by a WAIT on its own
// master's connection (every entry checked on that master and on its replica), and a topic's
// slot moved to another master while publishing: the publishes the cluster refused (MOVED,
// ASK) are sent again where the slot went, none lost, none failed, with a LEDGER line.
//
// ctest label `cluster` (as well as `integration`): ctest -L cluster.
#include "support/async_test.hpp"
#include "support/ledger.hpp"
#include "support/proxy_scenarios.hpp"
#include "support/cluster_topics.hpp"
#include "support/redis_cluster.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <atomic>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace resp = streamq::resp;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::durability_config;
using streamq::streams::durable_publisher;
using streamq::streams::topic_keys;
using streamq::test::ledger;
using streamq::test::ledger_scope;
using streamq::test::cluster_url;
using streamq::test::master_of;
using streamq::test::redis_cluster;
using streamq::test::topic_per_master;

namespace {

// A RESP2 integer reply as redis_cluster::command returns it.
std::string integer(std::size_t n) {
  return ":" + std::to_string(n) + "\r\n";
}

// INFO errorstats' count of `kind` (MOVED, ASK, TRYAGAIN...) on `node`: how often it refused.
long refusals(const redis_cluster& c, std::size_t node, const std::string& kind) {
  const std::string info = c.command(node, {"INFO", "errorstats"});
  const std::string field = "errorstat_" + kind + ":count=";
  const auto at = info.find(field);
  if (at == std::string::npos) return 0;
  return std::stol(info.substr(at + field.size()));
}

// Every third publish carries an idempotency key (the dedup script, NOSCRIPT on every master
// the first time), the others are plain XADDs.
bool keyed_publish(std::uint64_t seq) {
  return seq % 3 == 0;
}

// One durable publish of the ledger's next sequence number to `topic`; records how it ended,
// and the entry ID under the topic when confirmed.
asio::awaitable<void> publish_one(durable_publisher& pub, std::string topic, ledger& book,
                                  std::map<std::string, std::vector<std::string>>& ids) {
  const auto seq = book.next_sequence();
  const auto message = streamq::test::order_with_id(ledger::label(seq));
  try {
    std::string id;
    if (keyed_publish(seq)) {
      const auto options = streamq::test::keyed("key-" + std::to_string(seq));
      id = co_await pub.publish(topic, message, options);
    } else {
      id = co_await pub.publish(topic, message);
    }
    book.record_publish(seq, ledger::outcome::ok);
    ids[topic].push_back(std::move(id));
  } catch (const boost::system::system_error& e) {
    const bool maybe_written = e.code() == streamq::streams::errc::replication_timeout ||
                               e.code() == streamq::streams::errc::publish_indeterminate;
    book.record_publish(seq,
                        maybe_written ? ledger::outcome::indeterminate : ledger::outcome::failed);
    MESSAGE("durable publish to " << topic << " failed: " << e.code().message());
  }
}

// Publishes round-robin over `topics`, starting at topic `first`, `count` times, then for as
// long as `more` holds (at most `limit` publishes in all).
asio::awaitable<void> publish_round_robin(durable_publisher& pub,
                                          const std::vector<std::string>& topics, std::size_t first,
                                          std::size_t count, ledger& book,
                                          std::map<std::string, std::vector<std::string>>& ids,
                                          const std::function<bool()>& more, std::size_t limit) {
  for (std::size_t i = 0; i < limit && (i < count || more()); ++i)
    co_await publish_one(pub, topics[(first + i) % topics.size()], book, ids);
}

// Runs `scenario` while `pub` runs; rethrows what the scenario threw.
asio::awaitable<void> while_running(durable_publisher& pub, asio::awaitable<void> scenario) {
  using namespace asio::experimental::awaitable_operators;
  std::exception_ptr failure;
  co_await (pub.run() || streamq::test::capture_failure(std::move(scenario), failure));
  if (failure) std::rethrow_exception(failure);
}

// Runs `fault` on a thread of its own (the cluster fixture blocks) while `workers` publishers
// go on round-robin over `topics` (at least 3 each) until it returns; rethrows what either
// threw, the thread joined first.
asio::awaitable<void> publish_during(durable_publisher& pub, const std::vector<std::string>& topics,
                                     std::size_t workers, ledger& book,
                                     std::map<std::string, std::vector<std::string>>& ids,
                                     const std::function<void()>& fault,
                                     std::chrono::milliseconds limit) {
  co_await streamq::test::during_fault(
      fault, [&](const std::function<bool()>& still) -> asio::awaitable<void> {
        const std::function<asio::awaitable<void>(std::size_t)> during = [&](std::size_t w) {
          return publish_round_robin(pub, topics, w, 3, book, ids, still, 100000);
        };
        co_await streamq::test::run_all(workers, during, limit);
      });
}

durability_config one_replica() {
  durability_config config;
  config.replicas = 1;
  config.timeout = 2000ms;  // generous: a loaded machine may take a while to replicate
  return config;
}

// XLEN of `stream` on a replica (READONLY first: a cluster replica redirects reads otherwise).
std::string replica_length(const redis_cluster& c, std::size_t replica, const std::string& stream) {
  const auto replies = c.pipeline(replica, {{"READONLY"}, {"XLEN", stream}});
  REQUIRE(replies.size() == 2);
  return replies[1];
}

}  // namespace

TEST_CASE("cluster durable_publisher: topics on every master are confirmed by their own master") {
  redis_cluster c;
  const auto topics = topic_per_master(c, "durable");
  REQUIRE(topics.size() == 3);
  constexpr std::size_t workers = 30, each = 10;  // 300 publishes, 100 per topic
  ledger book(streamq::test::test_name(), ledger_scope{.handlers = false, .recovery = false});
  std::map<std::string, std::vector<std::string>> ids;
  streamq::streams::durable_publisher_stats stats;
  streamq::test::run_with_client(
      cluster_url(c),
      [&](client& cl) -> asio::awaitable<void> {
        durable_publisher pub(cl, one_replica());
        const std::function<bool()> no_more = [] { return false; };
        // Concurrent publishers: groups hold publishes for every master at once.
        const std::function<asio::awaitable<void>(std::size_t)> worker = [&](std::size_t w) {
          return publish_round_robin(pub, topics, w, each, book, ids, no_more, each);
        };
        co_await while_running(pub, streamq::test::run_all(workers, worker, 60s));
        stats = pub.stats();
        for (const auto& topic : topics)
          co_await streamq::test::drain_into(cl, topic, "none", book);
      },
      120s);
  const auto r = book.report();  // no fault here: no LEDGER line
  CHECK(r.ok == workers * each);
  CHECK(r.failed == 0);
  CHECK(r.indeterminate == 0);
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  CHECK(r.unexpected == 0);
  CHECK(stats.confirmed == workers * each);
  CHECK(stats.failed == 0);
  CHECK(stats.unconfirmed == 0);
  CHECK(stats.duplicates == 0);
  for (const auto& topic : topics) {
    INFO("topic " << topic);
    const std::string stream = topic_keys(topic).stream();
    const std::size_t master = master_of(c, topic);
    REQUIRE(ids[topic].size() == workers * each / topics.size());
    CHECK(c.command(master, {"XLEN", stream}) == integer(ids[topic].size()));
    // Each confirmed ID is an entry of its topic's stream on that master...
    for (const auto& id : ids[topic])
      CHECK(c.command(master, {"XRANGE", stream, id, id}).find(id) != std::string::npos);
    // ...and on its replica, which the WAIT of the master's own connection counted.
    for (const auto replica : c.replicas_of(master))
      CHECK(replica_length(c, replica, stream) == integer(ids[topic].size()));
  }
}

TEST_CASE("cluster durable_publisher: a topic's slot moved to another master while publishing") {
  redis_cluster c;
  const auto topics = topic_per_master(c, "durable-moving");
  REQUIRE(topics.size() == 3);
  const std::string& moving = topics.front();
  const std::string stream = topic_keys(moving).stream();
  const std::uint16_t slot = resp::hash_slot(stream);
  const std::size_t from = master_of(c, moving);
  const std::size_t to = master_of(c, topics.back());
  REQUIRE(from != to);
  ledger book("cluster-durable-slot-moved", ledger_scope{.handlers = false, .recovery = false});
  std::map<std::string, std::vector<std::string>> ids;
  constexpr std::size_t workers = 6, before = 30, after = 30;
  long refused = 0;  // by the old master, for the moving slot
  streamq::test::run_with_client(
      cluster_url(c),
      [&](client& cl) -> asio::awaitable<void> {
        durable_publisher pub(cl, one_replica());
        auto scenario = [&]() -> asio::awaitable<void> {
          const std::function<bool()> no_more = [] { return false; };
          const std::function<asio::awaitable<void>(std::size_t)> first_round = [&](std::size_t w) {
            return publish_round_robin(pub, topics, w, before, book, ids, no_more, before);
          };
          co_await streamq::test::run_all(workers, first_round, 60s);
          // The slot moves while the publishers go on: MIGRATE takes the stream, the old
          // master answers ASK, then MOVED.
          co_await publish_during(pub, topics, workers, book, ids,
                                  [&] { c.move_slot(slot, to); }, 60s);
          // Unless a refusal during the move told it already, the publisher's topology still
          // names the old master: its first sends there are refused with MOVED and go again
          // to the new one.
          const std::function<asio::awaitable<void>(std::size_t)> last_round = [&](std::size_t w) {
            return publish_round_robin(pub, topics, w, after, book, ids, no_more, after);
          };
          co_await streamq::test::run_all(workers, last_round, 60s);
        };
        co_await while_running(pub, scenario());
        const std::array<std::string, 4> kinds = {"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"};
        for (const auto& kind : kinds) refused += refusals(c, from, kind);
        for (const auto& topic : topics)
          co_await streamq::test::drain_into(cl, topic, "none", book);
      },
      120s);
  const auto r = book.print();
  MESSAGE("published " << r.ok + r.failed + r.indeterminate << ", to the moving topic "
                       << ids[moving].size() << "; the old master refused " << refused
                       << " sends (MOVED, ASK, TRYAGAIN)");
  CHECK(r.ok > workers * (before + after));
  CHECK(r.failed == 0);
  CHECK(r.indeterminate == 0);
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  CHECK(r.unexpected == 0);
  // The publisher learns of the move only from a refusal (MOVED, ASK, or TRYAGAIN for a
  // keyed publish whose keys the migration had split): those sends were made again.
  CHECK(refused >= 1);
  CHECK(c.owner(slot) == to);
  // Every entry of the moving topic, before the move and after, is on the new master (and
  // its replica), and none is left on the old one.
  CHECK(c.command(to, {"XLEN", stream}) == integer(ids[moving].size()));
  for (const auto replica : c.replicas_of(to))
    CHECK(replica_length(c, replica, stream) == integer(ids[moving].size()));
  CHECK(c.command(from, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == integer(0));
}

namespace {

// Connections named `name` on `node` now (CLIENT LIST).
std::size_t clients_named(const redis_cluster& c, std::size_t node, const std::string& name) {
  const std::string list = c.command(node, {"CLIENT", "LIST"});
  const std::string field = "name=" + name + " ";
  std::size_t n = 0;
  for (auto at = list.find(field); at != std::string::npos; at = list.find(field, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("cluster durable_publisher: after a failover publishes follow the promoted replica") {
  redis_cluster c;
  const auto topics = topic_per_master(c, "durable-failover");
  REQUIRE(topics.size() == 3);
  const std::string& topic = topics.front();
  const std::string stream = topic_keys(topic).stream();
  const std::size_t old_master = master_of(c, topic);
  const std::size_t promoted = c.replicas_of(old_master).at(0);
  constexpr std::size_t rounds = 30;  // per topic, before and after
  ledger book(streamq::test::test_name(), ledger_scope{.handlers = false, .recovery = false});
  std::map<std::string, std::vector<std::string>> ids;
  streamq::streams::durable_publisher_stats stats;
  long moved = 0;
  std::size_t old_connections_before = 0;
  streamq::test::run_with_client(
      cluster_url(c) + "&client_name=dpub",
      [&](client& cl) -> asio::awaitable<void> {
        durable_publisher pub(cl, one_replica());
        auto scenario = [&]() -> asio::awaitable<void> {
          const std::function<bool()> no_more = [] { return false; };
          const std::function<asio::awaitable<void>(std::size_t)> worker = [&](std::size_t w) {
            return publish_round_robin(pub, topics, w, rounds, book, ids, no_more, rounds);
          };
          co_await streamq::test::run_all(topics.size(), worker, 60s);
          old_connections_before = clients_named(c, old_master, "dpub-durable");
          // Blocking: the publisher stands still meanwhile and learns of the failover from
          // the old master's MOVED (a cluster replica redirects writes to its master).
          c.failover(promoted);
          co_await streamq::test::run_all(topics.size(), worker, 60s);
          moved = refusals(c, old_master, "MOVED");
          // The old master is a replica now: its connection was closed.
          co_await streamq::test::wait_until(
              [&] { return clients_named(c, old_master, "dpub-durable") == 0; }, 5000ms);
        };
        co_await while_running(pub, scenario());
        stats = pub.stats();
        for (const auto& t : topics) co_await streamq::test::drain_into(cl, t, "none", book);
      },
      120s);
  const auto r = book.report();  // the failover test of record is cluster_queue_test's
  CHECK(old_connections_before == 1);
  CHECK(moved >= 1);
  CHECK(r.ok == 2 * rounds * topics.size());
  CHECK(r.failed == 0);
  CHECK(r.indeterminate == 0);
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  CHECK(r.unexpected == 0);
  CHECK(stats.confirmed == 2 * rounds * topics.size());
  CHECK(c.role(promoted) == streamq::test::cluster_role::master);
  CHECK(c.command(promoted, {"XLEN", stream}) == integer(ids[topic].size()));
  // The old master, now the promoted one's replica, confirmed the entries after the failover.
  CHECK(replica_length(c, old_master, stream) == integer(ids[topic].size()));
}

TEST_CASE("cluster durable_publisher: a master SIGKILLed while publishing loses no confirmed publish") {
  redis_cluster c;
  const auto topics = topic_per_master(c, "durable-killed");
  REQUIRE(topics.size() == 3);
  const std::size_t killed = master_of(c, topics.front());
  const std::size_t promoted = c.replicas_of(killed).at(0);
  ledger book("cluster-durable-master-killed",
              ledger_scope{.handlers = false, .recovery = false});
  std::map<std::string, std::vector<std::string>> ids;
  constexpr std::size_t workers = 6, before = 15, after = 3;
  streamq::test::run_with_client(
      cluster_url(c),
      [&](client& cl) -> asio::awaitable<void> {
        auto config = one_replica();
        // After the kill the promoted replica has no replica of its own: every WAIT 1 there
        // times out (replication_timeout, counted as indeterminate). Short, to keep it quick.
        config.timeout = 500ms;
        // A send to the killed master gives up after this (then the topology is read again).
        config.request_timeout = 1000ms;
        durable_publisher pub(cl, config);
        auto scenario = [&]() -> asio::awaitable<void> {
          const std::function<bool()> no_more = [] { return false; };
          const std::function<asio::awaitable<void>(std::size_t)> first_round = [&](std::size_t w) {
            return publish_round_robin(pub, topics, w, before, book, ids, no_more, before);
          };
          co_await streamq::test::run_all(workers, first_round, 60s);
          co_await publish_during(
              pub, topics, workers, book, ids,
              [&] {
                c.kill(killed);
                c.wait_until_ok();  // the replica is promoted after node_timeout
              },
              90s);
          const std::function<asio::awaitable<void>(std::size_t)> last_round = [&](std::size_t w) {
            return publish_round_robin(pub, topics, w, after, book, ids, no_more, after);
          };
          co_await streamq::test::run_all(workers, last_round, 60s);
        };
        co_await while_running(pub, scenario());
        for (const auto& topic : topics)
          co_await streamq::test::drain_into(cl, topic, "none", book);
      },
      150s);
  const auto r = book.print();
  MESSAGE("confirmed " << r.ok << ", failed " << r.failed << ", indeterminate " << r.indeterminate);
  // Every confirmed publish had reached a replica: the promoted one has it.
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  CHECK(r.unexpected == 0);
  CHECK(r.ok > 0);
  CHECK(c.role(promoted) == streamq::test::cluster_role::master);
  // The topics on the other masters were confirmed after the kill as before.
  for (std::size_t t = 1; t < topics.size(); ++t)
    CHECK(ids[topics[t]].size() >= workers * (before + after) / topics.size());
}

// Replaying a topic's history (streams/replay.hpp) against a real redis-server: ranges by ID
// and time, filters, dry runs, trimmed history, partitioned topics merged in ID order, into
// another topic (cancelled, resumed, exactly once), into a fresh group, through a connection
// killed mid-replay, and live groups left exactly as they were.
#include "support/async_test.hpp"
#include "support/fault_proxy.hpp"
#include "support/proxy_scenarios.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/replay.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::streams::envelope_options;
using streamq::streams::publisher;
using streamq::streams::replay;
using streamq::streams::replay_options;
using streamq::streams::replay_position;
using streamq::streams::replay_result;
using streamq::streams::replay_stop;
using streamq::streams::replay_target;
using streamq::streams::topic_keys;
using streamq::v1::Envelope;
using streamq::test::order_with_id;
using streamq::test::read_topic;
using streamq::test::redis_server;
using streamq::test::sleep_for;

namespace {

// What a handler target saw: order IDs and positions, in delivery order.
struct seen {
  std::vector<std::string> orders;
  std::vector<replay_position> positions;
  replay_target target() {
    return replay_target::into_handler(
        [this](const Envelope& e, const replay_position& p) -> asio::awaitable<void> {
          streamq::test::Order o;
          REQUIRE(o.ParseFromString(e.payload()));
          orders.push_back(o.id());
          positions.push_back(p);
          co_return;
        });
  }
};

replay_options options_for(const std::string& topic) {
  replay_options o;
  o.topic = topic;
  return o;
}

// Publishes order-<first>..order-<first + n - 1> to `topic`.
asio::awaitable<void> publish_orders(client& c, const std::string& topic, int first, int n) {
  publisher pub(c);
  for (int i = first; i < first + n; ++i) co_await pub.publish(topic, order_with_id("order-" + std::to_string(i)));
}

// Order IDs in `topic`, each once, or a failed check naming the repeated one.
asio::awaitable<std::set<std::string>> distinct_orders(client& c, const std::string& topic) {
  std::set<std::string> ids;
  for (const auto& e : co_await read_topic(c, topic)) {
    CHECK_MESSAGE(ids.insert(e.order.id()).second, "twice in " << topic << ": " << e.order.id());
  }
  co_return ids;
}

std::string stream_of(const std::string& topic) { return topic_keys(topic).stream(); }

// A position's place in a merged replay: (ms, seq, partition).
std::tuple<std::uint64_t, std::uint64_t, std::uint32_t> merge_order(const replay_position& p) {
  const auto dash = p.id.find('-');
  return {std::stoull(p.id.substr(0, dash)), std::stoull(p.id.substr(dash + 1)), p.partition};
}

}  // namespace

TEST_CASE("replay: a range by entry IDs and by time, into a handler in order") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await publish_orders(c, topic, 0, 10);
    const auto all = co_await read_topic(c, topic);
    REQUIRE(all.size() == 10);

    seen by_id;
    auto o = options_for(topic);
    o.from_id = all[2].id;
    o.to_id = all[6].id;
    o.page_size = 2;  // several pages
    auto r = co_await replay(c, o, by_id.target());
    CHECK(r.stop == replay_stop::completed);
    CHECK_FALSE(r.error);
    CHECK(by_id.orders == std::vector<std::string>{"order-2", "order-3", "order-4", "order-5", "order-6"});
    CHECK(r.read == 5);
    CHECK(r.matched == 5);
    CHECK(r.delivered == 5);
    REQUIRE(r.last);
    CHECK(*r.last == replay_position{topic, 0, all[6].id});
    CHECK_FALSE(r.trimmed_before);
    REQUIRE(r.streams.size() == 1);
    CHECK(r.streams[0].first_id == all[0].id);

    // By time: every entry added in [from, to] milliseconds; to "now" when no end is given.
    seen by_time;
    o = options_for(topic);
    o.from_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(all[3].added_ms));
    o.to_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(all[7].added_ms));
    r = co_await replay(c, o, by_time.target());
    std::vector<std::string> want;
    for (const auto& e : all)
      if (e.added_ms >= all[3].added_ms && e.added_ms <= all[7].added_ms) want.push_back(e.order.id());
    CHECK(by_time.orders == want);
    CHECK(r.delivered == want.size());

    // Resuming after the first range's end continues with the next entry, to the end.
    seen resumed;
    o = options_for(topic);
    o.after = replay_position{topic, 0, all[6].id};
    r = co_await replay(c, o, resumed.target());
    CHECK(resumed.orders == std::vector<std::string>{"order-7", "order-8", "order-9"});
  });
}

TEST_CASE("replay: filters by type, header and key - undecodable skipped - dry run counts the same") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    for (int i = 0; i < 12; ++i) {
      envelope_options opts;
      opts.headers["tenant"] = i % 2 == 0 ? "acme" : "globex";
      opts.partition_key = "customer-" + std::to_string(i % 3);
      const auto message = order_with_id("order-" + std::to_string(i));
      co_await pub.publish(topic, message, opts);
    }
    streamq::test::Refund refund;
    co_await pub.publish(topic, refund);
    request req;
    req.push("XADD", key{stream_of(topic)}, "*", "x", "y");  // not a streamq entry
    streamq::resp::generic_response reply;
    co_await c.async_exec(req, reply);

    seen all;
    auto r = co_await replay(c, options_for(topic), all.target());
    CHECK(r.read == 14);
    CHECK(r.undecodable == 1);
    CHECK(r.delivered == 13);
    CHECK(all.orders.size() == 13);

    auto o = options_for(topic);
    o.filter.types = {"streamq.test.Order"};
    o.filter.headers = {{"tenant", "acme"}};
    o.filter.partition_key = "customer-0";
    seen filtered;
    r = co_await replay(c, o, filtered.target());
    CHECK(filtered.orders == std::vector<std::string>{"order-0", "order-6"});
    CHECK(r.matched == 2);
    CHECK(r.filtered == 11);
    CHECK(r.undecodable == 1);

    o.filter = {};
    o.filter.types = {"streamq.test.Refund"};
    seen refunds;
    r = co_await replay(c, o, refunds.target());
    CHECK(refunds.orders.size() == 1);

    // A dry run counts what the real run delivers, and delivers nothing.
    o.filter = {};
    o.filter.headers = {{"tenant", "globex"}};
    seen real;
    const auto delivered = co_await replay(c, o, real.target());
    o.dry_run = true;
    seen dry;
    const auto counted = co_await replay(c, o, dry.target());
    CHECK(dry.orders.empty());
    CHECK(counted.delivered == 0);
    CHECK(counted.matched == delivered.delivered);
    CHECK(counted.matched == 6);
    CHECK(counted.bytes == delivered.bytes);
    CHECK(counted.bytes > 0);
    CHECK(counted.last == delivered.last);
  });
}

TEST_CASE("replay: a trimmed topic starts at its first entry and reports the trim") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await publish_orders(c, topic, 0, 10);
    const auto before = co_await read_topic(c, topic);
    CHECK(server.command({"XTRIM", stream_of(topic), "MAXLEN", "4"}) == ":6\r\n");
    seen got;
    auto o = options_for(topic);
    o.from_id = before[0].id;
    const auto r = co_await replay(c, o, got.target());
    CHECK(r.stop == replay_stop::completed);
    CHECK(got.orders == std::vector<std::string>{"order-6", "order-7", "order-8", "order-9"});
    CHECK(r.trimmed_before);
    REQUIRE(r.streams.size() == 1);
    CHECK(r.streams[0].trimmed_before);
    CHECK(r.streams[0].first_id == before[6].id);
    CHECK(r.streams[0].end_id == before[9].id);
    // From the first entry still there: nothing is missing.
    o.from_id = before[6].id;
    seen again;
    CHECK_FALSE((co_await replay(c, o, again.target())).trimmed_before);
  });
}

TEST_CASE("replay: a partitioned topic merged in ID order, per-key order kept, resumable") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    CHECK(co_await streamq::streams::set_partitions(c, topic, 3) == 3);
    publisher pub(c);
    streamq::streams::partitioned_publisher parts(pub);
    // key-k's orders carry increasing numbers: per-key order is visible in the IDs.
    for (int i = 0; i < 30; ++i) {
      envelope_options opts;
      opts.partition_key = "key-" + std::to_string(i % 5);
      const auto message = order_with_id(std::to_string(i));
      co_await parts.publish(topic, message, opts);
    }
    seen merged;
    auto o = options_for(topic);
    o.page_size = 4;
    const auto r = co_await replay(c, o, merged.target());
    CHECK(r.stop == replay_stop::completed);
    CHECK(r.delivered == 30);
    REQUIRE(r.streams.size() == 3);
    REQUIRE(merged.positions.size() == 30);
    std::set<std::uint32_t> partitions;
    for (std::size_t i = 0; i < merged.positions.size(); ++i) {
      const auto& p = merged.positions[i];
      partitions.insert(p.partition);
      CHECK(p.topic == streamq::streams::partition_topic(topic, p.partition));
      if (i == 0) continue;
      const auto& q = merged.positions[i - 1];
      const auto a = merge_order(q);
      const auto b = merge_order(p);
      CHECK_MESSAGE(a < b, "out of order at " << i);
    }
    CHECK(partitions.size() == 3);
    std::map<int, int> last_of_key;  // key -> the last order number seen
    for (const auto& id : merged.orders) {
      const int n = std::stoi(id);
      auto [it, fresh] = last_of_key.try_emplace(n % 5, n);
      if (!fresh) CHECK(it->second < n);
      it->second = n;
    }

    // One partition alone.
    seen one;
    o.topic = streamq::streams::partition_topic(topic, 1);
    const auto alone = co_await replay(c, o, one.target());
    const auto partition_entries = co_await read_topic(c, o.topic);
    CHECK(alone.delivered == partition_entries.size());
    CHECK_FALSE(partition_entries.empty());
    for (const auto& p : one.positions) CHECK(p.partition == 1);

    // Stopped after 11 and resumed: the same sequence, nothing twice, nothing missing.
    o.topic = topic;
    o.max_messages = 11;
    seen first_part;
    const auto stopped = co_await replay(c, o, first_part.target());
    CHECK(stopped.stop == replay_stop::limit_reached);
    REQUIRE(stopped.last);
    o.max_messages = 0;
    o.after = stopped.last;
    seen second_part;
    co_await replay(c, o, second_part.target());
    auto joined = first_part.orders;
    joined.insert(joined.end(), second_part.orders.begin(), second_part.orders.end());
    CHECK(joined == merged.orders);

    // Into a fresh group: one per partition. A name taken on one partition is refused, and
    // the groups made on the partitions before it are removed again.
    auto everything = options_for(topic);
    const auto grouped = co_await replay(c, everything, replay_target::into_group("audit"));
    CHECK(grouped.groups_created ==
          std::vector<std::string>{streamq::streams::partition_topic(topic, 0),
                                   streamq::streams::partition_topic(topic, 1),
                                   streamq::streams::partition_topic(topic, 2)});
    CHECK(grouped.matched == 30);
    const auto last_partition = stream_of(streamq::streams::partition_topic(topic, 2));
    CHECK(server.command({"XGROUP", "CREATE", last_partition, "taken", "$"}) == "+OK\r\n");
    const auto refused = co_await replay(c, everything, replay_target::into_group("taken"));
    CHECK(refused.error == streamq::streams::make_error_code(streamq::streams::errc::group_exists));
    CHECK(refused.groups_created.empty());
    for (std::uint32_t p = 0; p < 2; ++p) {
      const auto groups =
          server.command({"XINFO", "GROUPS", stream_of(streamq::streams::partition_topic(topic, p))});
      CHECK(groups.find("audit") != std::string::npos);
      CHECK(groups.find("taken") == std::string::npos);
    }
  });
}

namespace {

// XLEN of `topic` asked on a connection of its own (not the one a test is cutting).
std::size_t length_of(const redis_server& server, const std::string& topic) {
  const auto reply = server.command({"XLEN", stream_of(topic)});
  REQUIRE(reply.starts_with(":"));
  return std::stoul(reply.substr(1));
}

}  // namespace

TEST_CASE("replay: into another topic, cancelled then resumed - each entry lands exactly once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto target = topic + "-copy";
  constexpr std::size_t total = 40;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await publish_orders(c, topic, 0, static_cast<int>(total));
    auto o = options_for(topic);
    o.max_per_second = 400;  // 100 ms for the whole range: time to cancel it midway
    asio::cancellation_signal cancel;
    replay_result first;
    auto run = [&]() -> asio::awaitable<void> {
      first = co_await streamq::streams::async_replay(
          c, o, replay_target::into_topic(target),
          asio::bind_cancellation_slot(cancel.slot(), asio::use_awaitable));
    };
    auto stop_midway = [&]() -> asio::awaitable<void> {
      while (length_of(server, target) < 10) co_await sleep_for(1ms);
      cancel.emit(asio::cancellation_type::terminal);
    };
    co_await (run() && stop_midway());
    CHECK(first.stop == replay_stop::cancelled);
    CHECK(first.error == asio::error::operation_aborted);
    REQUIRE(first.last);
    CHECK(first.delivered < total);
    // A publish cancelled after it was written may have landed: one at most.
    const auto landed = length_of(server, target);
    CHECK(landed >= first.delivered);
    CHECK(landed <= first.delivered + 1);

    o.max_per_second = 0;
    o.after = first.last;
    const auto second = co_await replay(c, o, replay_target::into_topic(target));
    CHECK(second.stop == replay_stop::completed);
    CHECK(second.duplicates == landed - first.delivered);
    CHECK(first.delivered + second.delivered + second.duplicates == total);
    CHECK((co_await distinct_orders(c, target)).size() == total);
    CHECK(length_of(server, target) == total);

    // The whole range again: every republish is suppressed by its idempotency key.
    const auto third = co_await replay(c, options_for(topic), replay_target::into_topic(target));
    CHECK(third.duplicates == total);
    CHECK(third.delivered == 0);
    CHECK(length_of(server, target) == total);
    // The original envelopes, in order.
    const auto source = co_await read_topic(c, topic);
    const auto copied = co_await read_topic(c, target);
    REQUIRE(copied.size() == source.size());
    for (std::size_t i = 0; i < source.size(); ++i) {
      CHECK(copied[i].envelope.message_id() == source[i].envelope.message_id());
      CHECK(copied[i].envelope.payload() == source[i].envelope.payload());
      CHECK(copied[i].envelope.idempotency_key() == "replay:" + topic + ":" + source[i].id);
    }
  });
}

TEST_CASE("replay: into a fresh group read by a consumer - existing groups never touched") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto stream = stream_of(topic);
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await publish_orders(c, topic, 0, 10);
    const auto all = co_await read_topic(c, topic);
    // A live group with three entries pending.
    CHECK(server.command({"XGROUP", "CREATE", stream, "live", "0"}) == "+OK\r\n");
    CHECK(server.command({"XREADGROUP", "GROUP", "live", "c1", "COUNT", "3", "STREAMS", stream,
                          ">"}).find(all[2].id) != std::string::npos);
    const auto pending_before = server.command({"XPENDING", stream, "live"});

    auto o = options_for(topic);
    o.from_id = all[4].id;
    auto r = co_await replay(c, o, replay_target::into_group("audit"));
    CHECK(r.stop == replay_stop::completed);
    CHECK(r.groups_created == std::vector<std::string>{topic});
    CHECK(r.matched == 6);
    CHECK(r.delivered == 0);
    const auto audit_read = server.command(
        {"XREADGROUP", "GROUP", "audit", "c9", "COUNT", "100", "STREAMS", stream, ">"});
    for (std::size_t i = 0; i < all.size(); ++i)
      CHECK_MESSAGE((audit_read.find(all[i].id) != std::string::npos) == (i >= 4), "entry " << i);
    CHECK(server.command({"XPENDING", stream, "live"}) == pending_before);

    // Every other replay leaves every group exactly as it was, the new one included.
    const auto groups_before = server.command({"XINFO", "GROUPS", stream});
    r = co_await replay(c, o, replay_target::into_group("live"));
    CHECK(r.stop == replay_stop::failed);
    CHECK(r.error == streamq::streams::make_error_code(streamq::streams::errc::group_exists));
    CHECK(r.groups_created.empty());
    r = co_await replay(c, o, replay_target::into_group("audit"));
    CHECK(r.error == streamq::streams::make_error_code(streamq::streams::errc::group_exists));
    seen handled;
    co_await replay(c, options_for(topic), handled.target());
    CHECK(handled.orders.size() == all.size());
    co_await replay(c, options_for(topic), replay_target::into_topic(topic + "-copy"));
    auto dry = options_for(topic);
    dry.dry_run = true;
    CHECK((co_await replay(c, dry, replay_target::into_group("dry"))).groups_created.empty());
    CHECK(server.command({"XINFO", "GROUPS", stream}) == groups_before);
    CHECK(server.command({"XPENDING", stream, "live"}) == pending_before);
  });
}

TEST_CASE("replay: connections killed mid-replay - it completes and the target has no duplicates") {
  redis_server server;
  streamq::test::fault_proxy proxy(server.port());
  const auto topic = streamq::test::unique_topic();
  const auto target = topic + "-copy";
  constexpr int total = 300;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await publish_orders(c, topic, 0, total);
  });
  replay_result r;
  std::size_t kills = 0;
  streamq::test::run_with_config(
      streamq::test::proxied_config(proxy), [&](client& c) -> asio::awaitable<void> {
        auto o = options_for(topic);
        o.page_size = 10;
        o.retry_for = 20s;
        bool finished = false;
        auto run = [&]() -> asio::awaitable<void> {
          r = co_await replay(c, o, replay_target::into_topic(target));
          finished = true;
        };
        auto kill = [&]() -> asio::awaitable<void> {
          for (std::size_t at : {50U, 150U, 250U}) {
            while (!finished && length_of(server, target) < at) co_await sleep_for(1ms);
            if (finished) co_return;
            proxy.disconnect_all(true);
            ++kills;
          }
        };
        co_await (run() && kill());
      });
  MESSAGE("connections killed: " << kills << ", requests retried: " << r.retries);
  CHECK(kills == 3);
  CHECK(r.stop == replay_stop::completed);
  CHECK_FALSE(r.error);
  CHECK(r.retries >= 1);
  CHECK(r.read == total);
  CHECK(r.delivered + r.duplicates == total);
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    CHECK((co_await distinct_orders(c, target)).size() == static_cast<std::size_t>(total));
  });
  CHECK(length_of(server, target) == static_cast<std::size_t>(total));
}

TEST_CASE("replay: max_per_second spaces the deliveries") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await publish_orders(c, topic, 0, 21);
    auto o = options_for(topic);
    o.max_per_second = 100;  // 20 intervals of 10 ms after the first delivery
    seen got;
    const auto started = std::chrono::steady_clock::now();
    const auto r = co_await replay(c, o, got.target());
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(r.delivered == 21);
    // Pacing can only slow a replay down: the lower bound is exact, the upper one generous.
    CHECK(took >= 200ms);
    CHECK(took < 10s);
    // A dry run is not paced.
    o.dry_run = true;
    const auto dry_started = std::chrono::steady_clock::now();
    CHECK((co_await replay(c, o, got.target())).matched == 21);
    CHECK(std::chrono::steady_clock::now() - dry_started < 200ms);
  });
}

TEST_CASE("replay: progress reported while it runs, throttled - a throwing callback fails it") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await publish_orders(c, topic, 0, 21);
    auto o = options_for(topic);
    o.max_per_second = 100;  // about 200 ms in all
    o.progress_interval = 40ms;
    std::vector<replay_result> reports;
    o.on_progress = [&](const replay_result& so_far) { reports.push_back(so_far); };
    seen got;
    const auto r = co_await replay(c, o, got.target());
    CHECK(r.delivered == 21);
    // The first report comes once the streams are planned, before anything was read.
    REQUIRE(reports.size() >= 2);
    CHECK(reports.front().read == 0);
    REQUIRE(reports.front().streams.size() == 1);
    CHECK(reports.front().streams[0].first_id == (co_await read_topic(c, topic)).front().id);
    // Then while deliveries go on: counts only grow, and the interval thins the reports out.
    for (std::size_t i = 1; i < reports.size(); ++i) {
      CHECK(reports[i].delivered >= reports[i - 1].delivered);
      REQUIRE(reports[i].last);
    }
    CHECK(reports.back().delivered > 0);
    CHECK(reports.size() < 21);

    o.max_per_second = 0;
    o.on_progress = [](const replay_result&) { throw std::runtime_error("display gone"); };
    seen none;
    const auto failed = co_await replay(c, o, none.target());
    CHECK(failed.stop == replay_stop::failed);
    CHECK(failed.error == make_error_code(streamq::streams::errc::handler_failed));
    CHECK(failed.diagnostic == "display gone");
    CHECK(none.orders.empty());

    o.progress_interval = 0ms;
    bool refused = false;
    try {
      co_await replay(c, o, none.target());
    } catch (const std::invalid_argument&) {
      refused = true;
    }
    CHECK(refused);
  });
}

// The periodic trimmer (streams/retention.hpp) against a real redis-server: it bounds topics
// while publishers write, never trims what a consumer group still needs, stops promptly
// when cancelled and counts connection failures instead of failing.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/retention.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::publisher;
using streamq::streams::retention_policy;
using streamq::streams::topic_keys;
using streamq::streams::topic_retention;
using streamq::streams::topic_trimmer;
using streamq::streams::trimmer_config;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::wait_until;

namespace {

using entries = std::vector<std::pair<std::string, std::vector<std::string>>>;

// The exception to report: Asio's && wraps the first failure when the other side then fails
// too (being cancelled), which would hide the cause.
std::exception_ptr root_cause(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const asio::multiple_exceptions& multiple) {
    return multiple.first_exception();
  } catch (...) {
    return e;
  }
}

// Runs the trimmer while `body` runs; when the body ends, run() is cancelled and must return.
// run() must neither throw nor return before that.
asio::awaitable<void> with_trimmer(topic_trimmer& trimmer, asio::awaitable<void> body) {
  std::exception_ptr run_failure;
  std::exception_ptr body_failure;
  const auto first = co_await (streamq::test::capture_failure(trimmer.run(), run_failure) ||
                               streamq::test::capture_failure(std::move(body), body_failure));
  if (run_failure) std::rethrow_exception(run_failure);
  REQUIRE_MESSAGE(first.index() == 1,
                  "run() returned before the body ended (a bug, or the client stopped)");
  if (body_failure) std::rethrow_exception(root_cause(body_failure));
}

asio::awaitable<std::int64_t> stream_length(client& c, const topic_keys& keys) {
  request req;
  req.push("XLEN", key{keys.stream()});
  response<std::int64_t> n;
  co_await c.async_exec(req, n);
  co_return n.get<0>().value();
}

asio::awaitable<std::vector<std::string>> stream_ids(client& c, const topic_keys& keys) {
  request req;
  req.push("XRANGE", key{keys.stream()}, "-", "+");
  response<entries> reply;
  co_await c.async_exec(req, reply);
  std::vector<std::string> ids;
  for (const auto& entry : reply.get<0>().value()) ids.push_back(entry.first);
  co_return ids;
}

// XADDs one entry per ID ("*": generated) and returns the IDs the stream gave them.
asio::awaitable<std::vector<std::string>> add_entries(client& c, const topic_keys& keys,
                                                      std::vector<std::string> ids) {
  request req;
  for (std::size_t i = 0; i < ids.size(); ++i) req.push("XADD", key{keys.stream()}, ids[i], "n", i);
  streamq::resp::generic_response replies;
  co_await c.async_exec(req, replies);
  std::vector<std::string> added;
  for (const auto& reply : replies.values()) {
    REQUIRE_FALSE(reply.is_error());
    added.push_back(reply.text);
  }
  co_return added;
}

asio::awaitable<std::vector<std::string>> add_entries(client& c, const topic_keys& keys, int n) {
  return add_entries(c, keys, std::vector<std::string>(static_cast<std::size_t>(n), "*"));
}

asio::awaitable<void> command(client& c, request req) {
  streamq::resp::ignore_response ignored;
  co_await c.async_exec(req, ignored);
  REQUIRE_MESSAGE(!ignored.first_error(), ignored.diagnostic());
}

// XREADGROUP of new entries (">") for consumer "c"; returns their IDs.
asio::awaitable<std::vector<std::string>> read_group(client& c, const topic_keys& keys,
                                                     const std::string& group, int count) {
  request req;
  req.push("XREADGROUP", "GROUP", group, "c", "COUNT", count, "STREAMS", key{keys.stream()}, ">");
  response<streamq::resp::value> reply;
  co_await c.async_exec(req, reply);
  const auto& v = reply.get<0>().value();
  std::vector<std::string> ids;
  if (v.is_null()) co_return ids;
  // RESP3: a map {stream: entries}; RESP2: [[stream, entries]]
  const auto& stream = v.data_type == streamq::resp::type::map ? v : v.elements.at(0);
  for (const auto& e : stream.elements.at(1).elements) ids.push_back(e.elements.at(0).text);
  co_return ids;
}

asio::awaitable<void> ack(client& c, const topic_keys& keys, const std::string& group,
                          std::vector<std::string> ids) {
  request req;
  req.push("XACK", key{keys.stream()}, group, ids);
  response<std::int64_t> acked;
  co_await c.async_exec(req, acked);
  REQUIRE(acked.get<0>().value() == static_cast<std::int64_t>(ids.size()));
}

asio::awaitable<bool> entry_exists(client& c, const topic_keys& keys, const std::string& id) {
  request req;
  req.push("XRANGE", key{keys.stream()}, id, id);
  response<entries> reply;
  co_await c.async_exec(req, reply);
  co_return reply.get<0>().value().size() == 1;
}

// Stream IDs "ms-seq" in stream order.
std::pair<std::uint64_t, std::uint64_t> id_order(const std::string& id) {
  const auto dash = id.find('-');
  return {std::stoull(id.substr(0, dash)), std::stoull(id.substr(dash + 1))};
}

std::vector<std::string> slice(const std::vector<std::string>& v, std::size_t from,
                               std::size_t to) {
  return std::vector<std::string>(v.begin() + static_cast<std::ptrdiff_t>(from),
                                  v.begin() + static_cast<std::ptrdiff_t>(to));
}

trimmer_config config_for(std::string topic, retention_policy policy,
                          std::chrono::milliseconds interval) {
  trimmer_config config;
  config.topics.push_back(topic_retention{std::move(topic), policy});
  config.interval = interval;
  return config;
}

}  // namespace

TEST_SUITE_BEGIN("retention");

TEST_CASE("trimmer_config is validated at construction, naming the field") {
  asio::io_context io;
  client c(io.get_executor(), "redis://127.0.0.1:1");  // never run: no server needed
  const auto good = config_for("orders", retention_policy{.max_length = 10}, 1s);
  CHECK_NOTHROW(topic_trimmer(c, good));
  CHECK(trimmer_config{}.interval == 30s);  // the documented default

  auto check = [&](trimmer_config config, const char* field) {
    CHECK_THROWS_WITH_AS(topic_trimmer(c, std::move(config)), doctest::Contains(field),
                         std::invalid_argument);
  };
  check(trimmer_config{}, "trimmer_config.topics:");
  check(config_for("a b", retention_policy{.max_length = 10}, 1s),
        "trimmer_config.topics[0].topic");
  check(config_for("orders", retention_policy{}, 1s), "trimmer_config.topics[0].policy");
  check(config_for("orders", retention_policy{.max_age = -1ms}, 1s),
        "trimmer_config.topics[0].policy.max_age");
  check(config_for("orders", retention_policy{.max_length = 10}, 0ms), "trimmer_config.interval");
  check(config_for("orders", retention_policy{.max_length = 10}, -5ms), "trimmer_config.interval");
  auto twice = good;
  twice.topics.push_back(topic_retention{"orders", retention_policy{.max_age = 1s}});
  check(twice, "trimmer_config.topics[1].topic");
  auto no_timeout = good;
  no_timeout.trim_timeout = 0ms;
  check(no_timeout, "trimmer_config.trim_timeout");
  // Durations near milliseconds::max() would overflow deadlines: bounded by max_duration.
  const auto huge = std::chrono::milliseconds::max();
  const auto longest = trimmer_config::max_duration;
  CHECK_NOTHROW(
      topic_trimmer(c, config_for("orders", retention_policy{.max_age = longest}, longest)));
  check(config_for("orders", retention_policy{.max_age = huge}, 1s),
        "trimmer_config.topics[0].policy.max_age");
  check(config_for("orders", retention_policy{.max_length = 10}, huge), "trimmer_config.interval");
  check(config_for("orders", retention_policy{.max_length = 10}, longest + 1ms),
        "trimmer_config.interval");
  auto huge_timeout = good;
  huge_timeout.trim_timeout = huge;
  check(huge_timeout, "trimmer_config.trim_timeout");
  auto huge_reports = good;
  huge_reports.error_report_interval = huge;
  check(huge_reports, "trimmer_config.error_report_interval");
}

TEST_CASE("the trimmer keeps a topic at max_length while publishers write to it") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto config = config_for(topic, retention_policy{.max_length = 100}, 20ms);
  constexpr int writers = 4;
  constexpr int bursts = 25;
  constexpr int burst_size = 20;
  constexpr std::size_t total = writers * bursts * burst_size;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    topic_trimmer trimmer(c, config);
    publisher pub(c);
    const topic_keys keys(topic);
    std::vector<std::string> published;  // entry IDs; one thread, no lock needed
    auto write = [&](int writer) -> asio::awaitable<void> {
      for (int burst = 0; burst < bursts; ++burst) {
        for (int i = 0; i < burst_size; ++i) {
          streamq::test::Order order;
          order.set_id(std::to_string(writer) + "-" + std::to_string(burst) + "-" +
                       std::to_string(i));
          published.push_back(co_await pub.publish(topic, order));
        }
        co_await sleep_for(5ms);
      }
    };
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await (write(0) && write(1) && write(2) && write(3));
      const auto during = trimmer.stats();
      CHECK(during.rounds >= 2);
      CHECK(during.entries_trimmed > 0);  // trimmed while publishing, not only afterwards
      // a round that starts after the last publish leaves exactly max_length entries
      co_await wait_until([&] { return trimmer.stats().rounds >= during.rounds + 2; });
    };
    co_await with_trimmer(trimmer, scenario());

    REQUIRE(published.size() == total);
    CHECK(pub.stats().published == total);
    const auto stats = trimmer.stats();
    CHECK(stats.errors == 0);
    CHECK(stats.entries_trimmed == total - 100);
    REQUIRE(stats.topics.size() == 1);
    CHECK(stats.topics[0].topic == topic);
    CHECK(stats.topics[0].entries_trimmed == total - 100);
    // the survivors are exactly the 100 newest entries
    std::sort(published.begin(), published.end(),
              [](const std::string& a, const std::string& b) { return id_order(a) < id_order(b); });
    const auto newest = slice(published, total - 100, total);
    CHECK(co_await stream_ids(c, keys) == newest);
  });
}

TEST_CASE("the trimmer never trims entries a consumer group has not acknowledged") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto config = config_for(topic, retention_policy{.max_length = 5}, 20ms);
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    const topic_keys keys(topic);
    request create;
    create.push("XGROUP", "CREATE", key{keys.stream()}, "g", "0", "MKSTREAM");
    co_await command(c, create);
    const auto ids = co_await add_entries(c, keys, 50);
    // the group reads 20 and acknowledges the first 10: entries 11..50 are still needed
    const auto delivered = co_await read_group(c, keys, "g", 20);
    REQUIRE(delivered == slice(ids, 0, 20));
    co_await ack(c, keys, "g", slice(ids, 0, 10));

    topic_trimmer trimmer(c, config);
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return trimmer.stats().rounds >= 3; });
      CHECK(trimmer.stats().entries_trimmed == 10);
      CHECK(co_await stream_length(c, keys) == 40);
      for (std::size_t i = 10; i < 20; ++i) {  // pending, unacknowledged: all still there
        const bool kept = co_await entry_exists(c, keys, ids[i]);
        CHECK_MESSAGE(kept, "pending entry " << ids[i] << " was trimmed");
      }
      // the rest is read and everything acknowledged: a later round trims down to 5
      const auto rest = co_await read_group(c, keys, "g", 100);
      REQUIRE(rest == slice(ids, 20, 50));
      co_await ack(c, keys, "g", slice(ids, 10, 50));
      co_await wait_until([&] { return trimmer.stats().entries_trimmed == 45; });
    };
    co_await with_trimmer(trimmer, scenario());
    CHECK(co_await stream_ids(c, keys) == slice(ids, 45, 50));
    CHECK(trimmer.stats().errors == 0);
  });
}

TEST_CASE("the trimmer applies max_age, and each topic's own policy") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto by_length = topic + "-len";
  auto config = config_for(topic, retention_policy{.max_age = 30s}, 20ms);
  config.topics.push_back(topic_retention{by_length, retention_policy{.max_length = 3}});
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    const topic_keys keys(topic);
    const topic_keys length_keys(by_length);
    // ten entries a minute old (explicit IDs), then five new ones
    const auto minute_ago = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch() - 60s)
                                .count();
    std::vector<std::string> old_ids;
    for (int i = 1; i <= 10; ++i)
      old_ids.push_back(std::to_string(minute_ago) + "-" + std::to_string(i));
    co_await add_entries(c, keys, old_ids);
    const auto young = co_await add_entries(c, keys, 5);
    const auto others = co_await add_entries(c, length_keys, 10);

    topic_trimmer trimmer(c, config);
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return trimmer.stats().entries_trimmed == 17; });
      const auto rounds = trimmer.stats().rounds;
      co_await wait_until([&] { return trimmer.stats().rounds >= rounds + 2; });
    };
    co_await with_trimmer(trimmer, scenario());
    const auto stats = trimmer.stats();
    CHECK(stats.entries_trimmed == 17);  // nothing more on later rounds
    REQUIRE(stats.topics.size() == 2);
    CHECK(stats.topics[0].entries_trimmed == 10);
    CHECK(stats.topics[1].entries_trimmed == 7);
    CHECK(co_await stream_ids(c, keys) == young);
    CHECK(co_await stream_ids(c, length_keys) == slice(others, 7, 10));
  });
}

// (Two test cases rather than SUBCASEs: doctest's subcase guards do not belong in coroutines.)
TEST_CASE("cancelling run() between rounds stops the trimmer at once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto config = config_for(topic, retention_policy{.max_length = 10}, std::chrono::hours(1));
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    const topic_keys keys(topic);
    co_await add_entries(c, keys, 20);
    topic_trimmer trimmer(c, config);
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return trimmer.stats().rounds == 1; });
    };
    const auto start = std::chrono::steady_clock::now();
    co_await with_trimmer(trimmer, scenario());
    CHECK(std::chrono::steady_clock::now() - start < 2s);  // not the hour of the interval
    CHECK(trimmer.stats().entries_trimmed == 10);
    // it can run again, and starts with a round
    auto again = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return trimmer.stats().rounds == 2; });
    };
    co_await with_trimmer(trimmer, again());
    CHECK(trimmer.stats().errors == 0);
  });
}

TEST_CASE("cancelling run() while a trim waits on a hung server stops the trimmer at once") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  auto config = config_for(topic, retention_policy{.max_length = 10}, std::chrono::hours(1));
  config.trim_timeout = 30s;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    const topic_keys keys(topic);
    co_await add_entries(c, keys, 20);  // the client is connected: the trim will be written
    topic_trimmer trimmer(c, config);
    server.pause();
    auto scenario = [&]() -> asio::awaitable<void> { co_await sleep_for(200ms); };
    const auto start = std::chrono::steady_clock::now();
    co_await with_trimmer(trimmer, scenario());
    const auto took = std::chrono::steady_clock::now() - start;
    server.resume();
    CHECK(took < 2s);  // not the 30 s trim_timeout
    const auto stats = trimmer.stats();
    CHECK(stats.rounds == 0);
    CHECK(stats.errors == 0);  // being cancelled is not a failure
  });
}

TEST_CASE("run() returns normally whenever its cancellation arrives") {
  // Cancellations land at random moments: while a trim is in flight, while waiting for the
  // next round, and while a completion is queued but the coroutine has not resumed yet (then
  // the cancellation is only recorded, and run() must notice before its next wait).
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto config = config_for(topic, retention_policy{.max_length = 1000}, 1ms);
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    const topic_keys keys(topic);
    co_await add_entries(c, keys, 10);
    topic_trimmer trimmer(c, config);
    const auto ex = co_await asio::this_coro::executor;
    struct attempt {
      asio::cancellation_signal signal;
      bool done = false;
      std::exception_ptr failure;
    };
    std::deque<attempt> attempts;  // outlive their operations, whatever happens
    std::minstd_rand random(42);
    for (int i = 0; i < 300; ++i) {
      attempt& a = attempts.emplace_back();
      asio::co_spawn(ex, trimmer.run(),
                     asio::bind_cancellation_slot(a.signal.slot(), [&a](std::exception_ptr e) {
                       a.failure = e;
                       a.done = true;
                     }));
      co_await sleep_for(std::chrono::microseconds(random() % 3000));
      a.signal.emit(asio::cancellation_type::terminal);
      co_await wait_until([&a] { return a.done; }, 2s);
      if (a.failure) std::rethrow_exception(a.failure);
    }
    const auto stats = trimmer.stats();
    CHECK(stats.errors == 0);
    CHECK(stats.rounds > 0);
  });
}

TEST_CASE("an unreachable server is counted as errors and trimming resumes when it is back") {
  redis_server server;
  const std::string url = server.url();
  server.stop();  // nothing listens on its port now
  const auto topic = streamq::test::unique_topic();
  auto config = config_for(topic, retention_policy{.max_length = 3}, 50ms);
  config.topics.push_back(topic_retention{topic + "-2", retention_policy{.max_length = 3}});
  config.trim_timeout = 100ms;
  streamq::test::run_with_client(url, [&](client& c) -> asio::awaitable<void> {
    topic_trimmer trimmer(c, config);
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return trimmer.stats().errors >= 3; });
      const auto down = trimmer.stats();
      CHECK(down.rounds >= 2);
      CHECK(down.entries_trimmed == 0);
      REQUIRE(down.topics.size() == 2);
      // a connection failure ends the round: the second topic is not even tried
      CHECK(down.topics[0].errors == down.errors);
      CHECK(down.topics[1].errors == 0);
      CHECK(down.last_error);
      // why the connection failed, rather than the timeout of the trim
      CHECK_MESSAGE(down.last_error != streamq::redis::client_errc::timeout,
                    down.last_error.message());

      server.restart();  // same port; the client reconnects by itself
      const topic_keys keys(topic);
      co_await add_entries(c, keys, 10);
      co_await wait_until([&] { return trimmer.stats().entries_trimmed == 7; }, 20s);
      CHECK(co_await stream_length(c, keys) == 3);
    };
    co_await with_trimmer(trimmer, scenario());
  });
}

TEST_SUITE_END();

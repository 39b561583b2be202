// The delivery model (issue 9): each group sees each message once, retries stay inside the
// failing group under the entry's own ID, attempts are Redis's delivery count on every path.
// Real redis-server; several groups on one topic, failures, requeues, restarts, reconnects.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::run_until;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::dead_letters;
using streamq::streams::message_context;
using streamq::streams::outcome;
using streamq::streams::publisher;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::pending_count;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::topic_length;
using streamq::test::wait_until;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

Order order(int i) {
  Order o;
  o.set_id("order-" + std::to_string(i));
  o.set_amount_cents(100 + i);
  return o;
}

consumer_config fast(std::string group) {
  consumer_config cfg{.group = std::move(group), .concurrency = 16};
  cfg.retry.base = 5ms;
  cfg.retry.cap = 20ms;
  cfg.retry_poll_interval = 200ms;
  cfg.claim_interval = 200ms;
  cfg.log = streamq::logger([](const streamq::log_record&) {});  // quiet
  return cfg;
}

asio::awaitable<std::int64_t> zcard(client& c, const std::string& k) {
  request req;
  req.push("ZCARD", key{k});
  response<std::int64_t> n;
  co_await c.async_exec(req, n);
  co_return n.get<0>().value();
}

asio::awaitable<void> publish_orders(publisher& pub, const std::string& topic, int n,
                                     int first = 0) {
  for (int i = first; i < first + n; ++i) co_await pub.publish(topic, order(i));
}
}  // namespace

TEST_CASE("three groups on one topic: retries and requeues stay in their group") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr int n = 2000;
  streamq::test::run_with_client(
      server.url(),
      [&](client& c) -> asio::awaitable<void> {
        publisher pub(c);
        consumer a(c, fast("a")), b(c, fast("b")), cc(c, fast("c"));
        std::map<std::string, int> runs_a, ok_a, runs_b, runs_c;
        std::set<std::string> seen_entry_ids;
        bool fixed = false;
        a.subscribe<Order>(topic, [&](const Order& o, message_context& ctx)
                                      -> asio::awaitable<outcome> {
          const int run = ++runs_a[o.id()];
          CHECK(ctx.attempt == static_cast<std::uint32_t>(run - 1));  // one honest count
          CHECK(ctx.deliveries == static_cast<std::uint64_t>(run));
          CHECK(ctx.group == "a");
          if (run <= 2) throw std::runtime_error("fails twice");
          ++ok_a[o.id()];
          co_return outcome::ack();
        });
        b.subscribe<Order>(topic, [&](const Order& o, message_context& ctx)
                                      -> asio::awaitable<outcome> {
          ++runs_b[o.id()];
          seen_entry_ids.insert(std::string(ctx.entry_id));
          if (!fixed && o.amount_cents() % 100 == 0)
            co_return outcome::dead_letter("one in a hundred");
          co_return outcome::ack();
        });
        cc.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
          ++runs_c[o.id()];
          co_return;
        });
        auto scenario = [&]() -> asio::awaitable<void> {
          co_await publish_orders(pub, topic, n);
          co_await wait_until([&] { return ok_a.size() == n && runs_c.size() == n &&
                                           runs_b.size() == n; },
                              60s);
          co_await wait_until([&] { return b.stats().dead_lettered == n / 100; }, 30s);
          dead_letters dl(c, topic, "b");
          fixed = true;
          // Two operators requeue the same letters at once: each letter is requeued once.
          std::size_t first = 0, second = 0;
          co_await (
              [&]() -> asio::awaitable<void> { first = co_await dl.requeue_all(); }() &&
              [&]() -> asio::awaitable<void> { second = co_await dl.requeue_all(); }());
          CHECK(first + second == n / 100);
          co_await wait_until(
              [&] {
                int total = 0;
                for (const auto& [id, r] : runs_b) total += r;
                return total == n + n / 100;
              },
              30s);
          co_await wait_until([&] { return a.stats().acked == n && b.stats().acked == n &&
                                           cc.stats().acked == n; },
                              30s);
        };
        co_await run_until(a.run(), run_until(b.run(), run_until(cc.run(), scenario())));
        CHECK(co_await topic_length(c, topic) == n);  // nothing was re-added to the stream
        for (const auto& [id, r] : runs_c) CHECK_MESSAGE(r == 1, id);
        for (const auto& [id, r] : runs_a) CHECK_MESSAGE(r == 3, id);
        for (const auto& [id, r] : ok_a) CHECK_MESSAGE(r == 1, id);
        int twice = 0;
        for (const auto& [id, r] : runs_b) {
          CHECK(r <= 2);
          twice += r == 2;
        }
        CHECK(twice == n / 100);
        CHECK(seen_entry_ids.size() == n);  // requeued letters came back under their own IDs
        CHECK(runs_c.size() == n);
        for (const char* g : {"a", "b", "c"}) {
          CAPTURE(g);
          CHECK(co_await pending_count(c, topic, g) == 0);
          CHECK(co_await zcard(c, topic_keys(topic).retries(g)) == 0);
        }
        CHECK(co_await dead_letters(c, topic, "b").count() == 0);
        CHECK(a.stats().retried == 2 * n);
        CHECK(cc.stats().retried == 0);
      },
      120s);
}

TEST_CASE("a retry keeps its entry and waits without taking a handler slot") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    auto cfg = fast("g");
    cfg.concurrency = 1;
    consumer cons(c, cfg);
    std::vector<std::string> order_ids;
    std::map<std::string, std::string> entry_of;
    std::chrono::steady_clock::time_point failed_at, retried_at;
    cons.subscribe<Order>(topic, [&](const Order& o, message_context& ctx)
                                     -> asio::awaitable<outcome> {
      order_ids.push_back(o.id());
      if (o.id() == "order-0") {
        if (ctx.attempt == 0) {
          entry_of["first"] = ctx.entry_id;
          failed_at = std::chrono::steady_clock::now();
          co_return outcome::retry_after(2s, "not yet");
        }
        entry_of["retry"] = ctx.entry_id;
        retried_at = std::chrono::steady_clock::now();
      }
      co_return outcome::ack();
    });
    co_await run_until(cons.run(), [&]() -> asio::awaitable<void> {
      co_await publish_orders(pub, topic, 1);
      co_await wait_until([&] { return !order_ids.empty(); });
      // While order-0 waits for its retry, the only handler slot keeps working.
      co_await publish_orders(pub, topic, 20, 1);
      co_await wait_until([&] { return cons.stats().acked == 20; }, 1500ms);
      CHECK(std::chrono::steady_clock::now() - failed_at < 2s);
      co_await wait_until([&] { return cons.stats().acked == 21; }, 10s);
    }());
    CHECK(entry_of["first"] == entry_of["retry"]);
    CHECK(retried_at - failed_at >= 1900ms);
    CHECK(co_await topic_length(c, topic) == 21);
    CHECK(cons.stats().retried == 1);
    CHECK(cons.stats().retries_taken == 1);
  });
}

TEST_CASE("stop does not wait for a backoff and another consumer of the group runs the retry") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    auto cfg = fast("g");
    cfg.name = "first";
    consumer first(c, cfg);
    cfg.name = "second";
    consumer second(c, cfg);
    std::vector<std::string> ran_on;
    auto handler = [&](const Order&, message_context& ctx) -> asio::awaitable<outcome> {
      ran_on.emplace_back(ctx.consumer);
      if (ctx.attempt == 0) co_return outcome::retry_after(1500ms);
      co_return outcome::ack();
    };
    first.subscribe<Order>(topic, handler);
    second.subscribe<Order>(topic, handler);
    co_await publish_orders(pub, topic, 1);
    const auto started = std::chrono::steady_clock::now();
    co_await run_until(first.run(), wait_until([&] { return first.stats().retried == 1; }));
    CHECK(std::chrono::steady_clock::now() - started < 1500ms);  // stop did not wait
    CHECK(co_await pending_count(c, topic, "g") == 1);  // the retry lives in Redis
    co_await run_until(second.run(), wait_until([&] { return second.stats().acked == 1; }, 10s));
    REQUIRE(ran_on.size() == 2);
    CHECK(ran_on[0] == "first");
    CHECK(ran_on[1] == "second");
    CHECK(co_await pending_count(c, topic, "g") == 0);
  });
}

TEST_CASE("a message that kills its consumer is dead-lettered after max_deliveries restarts") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(
      server.url(),
      [&](client& c) -> asio::awaitable<void> {
        publisher pub(c);
        co_await publish_orders(pub, topic, 1);
        std::vector<std::uint64_t> deliveries;
        std::uint64_t dead = 0;
        // Each run "crashes" while handling: stopped with no grace, the handler never ends, so
        // the entry stays in this consumer's pending list with no outcome recorded.
        for (int restart = 0; restart < 6 && dead == 0; ++restart) {
          auto cfg = fast("g");
          cfg.name = "stable-name";
          cfg.max_deliveries = 3;
          cfg.shutdown_grace = 0ms;
          consumer cons(c, cfg);
          const auto before = deliveries.size();
          cons.subscribe<Order>(topic, [&](const Order&, message_context& ctx)
                                           -> asio::awaitable<void> {
            deliveries.push_back(ctx.deliveries);
            co_await sleep_for(1h);
          });
          co_await run_until(cons.run(), wait_until([&] {
                               return deliveries.size() > before || cons.stats().dead_lettered > 0;
                             }));
          dead = cons.stats().dead_lettered;
        }
        CHECK(deliveries == std::vector<std::uint64_t>{1, 2, 3});
        CHECK(dead == 1);
        const auto letters = co_await streamq::test::read_dead_letters(c, topic, "g");
        REQUIRE(letters.size() == 1);
        CHECK(letters[0].error_code() == "streamq.streams:14");
        CHECK(co_await pending_count(c, topic, "g") == 0);
      },
      60s);
}

TEST_CASE("one read over many topics takes no more than the free handler slots") {
  redis_server server;
  std::vector<std::string> topics;
  for (int t = 0; t < 4; ++t) topics.push_back(streamq::test::unique_topic() + "-" + std::to_string(t));
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    for (const auto& t : topics) co_await publish_orders(pub, t, 50);
    auto cfg = fast("g");
    cfg.concurrency = 2;
    consumer cons(c, cfg);
    int running = 0;
    for (const auto& t : topics)
      cons.subscribe<Order>(t, [&](const Order&, message_context&) -> asio::awaitable<void> {
        ++running;
        co_await sleep_for(300ms);
        --running;
      });
    co_await run_until(cons.run(), [&]() -> asio::awaitable<void> {
      for (int round = 0; round < 10; ++round) {
        co_await sleep_for(50ms);
        std::size_t pending = 0;
        for (const auto& t : topics) pending += co_await pending_count(c, t, "g");
        // Pending here = running + queued + acks not yet flushed: never T × slots.
        CHECK(pending <= 2 + 2);
      }
    }());
  });
}

TEST_CASE("a handler's outcome: drop, dead letter with a reason, zero-code errors retried") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    auto cfg = fast("g");
    cfg.retry.max_attempts = 2;
    std::vector<std::string> events;
    cfg.log = streamq::logger([&](const streamq::log_record& r) { events.emplace_back(r.event); },
                              streamq::log_level::debug);
    consumer cons(c, cfg);
    std::map<std::string, int> runs;
    cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<outcome> {
      ++runs[o.id()];
      if (o.id() == "order-0") co_return outcome::drop("obsolete");
      if (o.id() == "order-1") co_return outcome::dead_letter("bad customer");
      // A system_error whose code is zero is a failure, never a success.
      throw boost::system::system_error(boost::system::error_code{}, "zero code");
    });
    co_await run_until(cons.run(), [&]() -> asio::awaitable<void> {
      co_await publish_orders(pub, topic, 3);
      co_await wait_until([&] { return cons.stats().dead_lettered == 2; }, 10s);
      co_await wait_until([&] { return cons.stats().dropped == 1; });
    }());
    CHECK(runs["order-0"] == 1);
    CHECK(runs["order-1"] == 1);
    CHECK(runs["order-2"] == 2);  // retried once, then out of attempts
    CHECK(cons.stats().acked == 1);  // the drop
    const auto letters = co_await streamq::test::read_dead_letters(c, topic, "g");
    REQUIRE(letters.size() == 2);
    CHECK(letters[0].last_error() == "bad customer");
    CHECK(letters[0].error_code() == "streamq.streams:17");
    CHECK(letters[1].error_code() == "streamq.streams:9");
    CHECK(letters[1].attempts() == 2);
    CHECK(std::count(events.begin(), events.end(), "dropped") == 1);
    CHECK(std::count(events.begin(), events.end(), "dead_lettered") == 2);
    CHECK(co_await pending_count(c, topic, "g") == 0);
  });
}

TEST_CASE("a refused XACK is not counted as an ack: it is reported and its entry stays pending") {
  streamq::test::redis_server_options opts;
  opts.acl_users = {"user default on nopass ~* &* +@all -xack"};
  redis_server server(opts);
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    auto cfg = fast("g");
    std::vector<streamq::streams::consumer_event> failures;
    cfg.on_event = [&](const streamq::streams::consumer_event& e) {
      if (e.what == streamq::streams::consumer_event::kind::ack_failed) failures.push_back(e);
    };
    consumer cons(c, cfg);
    cons.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      co_return;
    });
    co_await run_until(cons.run(), [&]() -> asio::awaitable<void> {
      co_await publish_orders(pub, topic, 5);
      co_await wait_until([&] { return cons.stats().ack_failures == 5; }, 10s);
      const auto health = cons.health();
      CHECK(health.last_error == streamq::resp::server_errc::noperm);
      CHECK(health.errors >= 1);
    }());
    CHECK(cons.stats().acked == 0);
    REQUIRE(!failures.empty());
    CHECK(failures[0].code == streamq::resp::server_errc::noperm);
    CHECK(co_await pending_count(c, topic, "g") == 5);
  });
}

TEST_CASE("connections killed under load: lost read replies are re-read at once, acks resent") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr int n = 10000;
  streamq::test::run_with_client(
      server.url(),
      [&](client& c) -> asio::awaitable<void> {
        {
          publisher pub(c);
          co_await publish_orders(pub, topic, n);
        }
        auto cfg = fast("g");
        cfg.claim_idle = 120s;  // the claim path cannot be what brings entries back here
        cfg.concurrency = 64;
        consumer cons(c, cfg);
        std::set<std::string> handled;
        cons.subscribe<Order>(topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
          co_await sleep_for(5ms);  // long enough for many kills during the run
          handled.insert(o.id());
        });
        client killer(co_await asio::this_coro::executor, server.url());
        int kills = 0;
        auto kill_loop = [&]() -> asio::awaitable<void> {
          while (handled.size() < n) {
            co_await sleep_for(25ms);
            request req;
            req.push("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
            response<std::int64_t> killed;
            auto [ec] = co_await killer.async_exec(req, killed, use_tuple);
            if (!ec && killed.get<0>().has_value()) kills += static_cast<int>(killed.get<0>().value());
          }
        };
        auto run_killer = [&]() -> asio::awaitable<void> { co_await killer.async_run(use_tuple); };
        co_await run_until(run_killer(), [&]() -> asio::awaitable<void> {
          co_await run_until(cons.run(), [&]() -> asio::awaitable<void> {
            co_await kill_loop();
            co_await wait_until(
                [&] { return cons.stats().in_flight == 0; }, 20s);
            // Nothing left pending, well before claim_idle could have brought anything back.
            for (int i = 0; i < 200; ++i) {
              if (co_await pending_count(c, topic, "g") == 0) break;
              co_await sleep_for(50ms);
            }
          }());
        }());
        MESSAGE("connections killed: " << kills);
        CHECK(kills > 10);
        CHECK(handled.size() == n);
        CHECK(co_await pending_count(c, topic, "g") == 0);
      },
      120s);
}

TEST_CASE("run() cancelled during start-up returns and stop() works from another thread") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    consumer cons(c, fast("g"));
    cons.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      co_return;
    });
    // Cancelled before its first request completes: returns, does not throw.
    co_await run_until(cons.run(), sleep_for(0ms));
    // Stopped from another thread while running.
    publisher pub(c);
    co_await publish_orders(pub, topic, 50);
    std::atomic<bool> started{false};
    std::uint64_t seen = 0;
    std::thread stopper([&] {
      while (!started) std::this_thread::sleep_for(1ms);
      // stats() and health() from another thread while run() works (checked under TSan).
      const auto until = std::chrono::steady_clock::now() + 200ms;
      while (std::chrono::steady_clock::now() < until) {
        seen = std::max(seen, cons.stats().delivered);
        (void)cons.health();
      }
      cons.stop();
    });
    const auto t0 = std::chrono::steady_clock::now();
    started = true;
    co_await cons.run();
    stopper.join();
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    CHECK(!cons.health().running);
    CHECK(seen <= cons.stats().delivered);
  });
}

TEST_CASE("a read refused for a reason that passes (NOREPLICAS) is reported and the consumer goes on") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    auto cfg = fast("g");
    cfg.block = 100ms;
    std::atomic<int> refused{0};
    cfg.on_event = [&](const streamq::streams::consumer_event& e) {
      if (e.what == streamq::streams::consumer_event::kind::read_failed &&
          e.code == streamq::resp::server_errc::noreplicas)
        ++refused;
    };
    consumer con(c, cfg);
    int handled = 0;
    con.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      ++handled;
      co_return;
    });
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await publish_orders(pub, topic, 5);
      co_await wait_until([&] { return handled == 5; }, 10s);
      // A master that must have a replica for every write (XREADGROUP is one) and has none.
      CHECK(server.command({"CONFIG", "SET", "min-replicas-to-write", "1"}) == "+OK\r\n");
      co_await wait_until([&] { return refused.load() >= 2; }, 10s);  // told, and read again
      CHECK(server.command({"CONFIG", "SET", "min-replicas-to-write", "0"}) == "+OK\r\n");
      co_await publish_orders(pub, topic, 5, 5);
      co_await wait_until([&] { return handled == 10; }, 10s);
    };
    co_await run_until(con.run(), scenario());
    CHECK(handled == 10);
  });
}

// Per-key ordering (subscription_options::per_key_concurrency) against redis-server: messages
// of one key run one at a time in publish order, also across retries, while other keys keep
// flowing; a dead letter releases its key or holds it until requeued; a per-key limit above
// one caps a key's concurrency without order; a partition taken over from a member that
// stopped keeps its keys' order.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::run_until;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::consumer_event;
using streamq::streams::envelope_options;
using streamq::streams::errc;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::streams::subscription_options;
using streamq::test::order_with_id;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::wait_until;

namespace {

consumer_config fast_config(std::vector<consumer_event>* events = nullptr) {
  consumer_config cfg;
  cfg.group = "g";
  cfg.name = "only";
  cfg.concurrency = 8;
  cfg.block = 100ms;
  cfg.retry.base = 300ms;
  cfg.retry.cap = 300ms;
  cfg.retry.jitter = 0;
  cfg.retry_poll_interval = 50ms;
  cfg.shutdown_grace = 1000ms;
  cfg.log = streamq::logger([](const streamq::log_record&) {});
  if (events) cfg.on_event = [events](const consumer_event& e) { events->push_back(e); };
  return cfg;
}

// Message "<key>/<n>": its key and its place among the key's messages.
std::pair<std::string, int> parse(const std::string& id) {
  const auto slash = id.find('/');
  return {id.substr(0, slash), std::stoi(id.substr(slash + 1))};
}

asio::awaitable<void> publish_keyed(publisher& pub, const std::string& topic,
                                    const std::string& key, int n) {
  envelope_options o;
  o.partition_key = key;
  co_await pub.publish(topic, order_with_id(key + "/" + std::to_string(n)), o);
}

// What handlers saw: runs started per key in order, overlaps, and the order of successes.
struct ledger {
  std::map<std::string, int> running;    // per key, handlers running now
  std::map<std::string, int> most;       // per key, most running at once
  std::map<std::string, int> last_done;  // per key, the last message that succeeded
  int order_violations = 0;  // a message started before an earlier one of its key succeeded
  std::set<std::string> done;
  std::vector<std::string> done_order;
};

}  // namespace

TEST_CASE("key ordering: one at a time in publish order across retries, other keys flow") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, fast_config());
    ledger book;
    std::map<std::string, int> failures_left{{"a/3", 2}, {"b/0", 1}};
    subscription_options opts;
    opts.per_key_concurrency = 1;
    cons.subscribe<streamq::test::Order>(
        topic,
        [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
          const auto [key, n] = parse(o.id());
          if (n != book.last_done[key] + 1) ++book.order_violations;
          book.most[key] = std::max(book.most[key], ++book.running[key]);
          co_await sleep_for(2ms);
          --book.running[key];
          if (auto it = failures_left.find(o.id()); it != failures_left.end() && it->second > 0) {
            --it->second;
            throw std::runtime_error("transient failure of " + o.id());
          }
          book.last_done[key] = n;
          book.done.insert(o.id());
          book.done_order.push_back(o.id());
        },
        opts);
    // Keys start at message 0; last_done starts "before 0".
    for (const char* k : {"a", "b", "c", "d"}) book.last_done[k] = -1;
    constexpr int per_key = 12;
    for (int n = 0; n < per_key; ++n)
      for (const char* k : {"a", "b", "c", "d"}) co_await publish_keyed(pub, topic, k, n);
    co_await run_until(cons.run(), [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return book.done.size() == 4 * per_key; }, 20s);
    }());
    CHECK(book.order_violations == 0);
    for (const char* k : {"a", "b", "c", "d"}) {
      CAPTURE(k);
      CHECK(book.most[k] == 1);
      CHECK(book.last_done[k] == per_key - 1);
    }
    // While a/3 waited 2 x 300 ms for its retries, c and d finished: they were not held back.
    const auto pos = [&](const std::string& id) {
      return std::find(book.done_order.begin(), book.done_order.end(), id) - book.done_order.begin();
    };
    CHECK(pos("c/" + std::to_string(per_key - 1)) < pos("a/3"));
    CHECK(pos("d/" + std::to_string(per_key - 1)) < pos("a/3"));
    CHECK(cons.stats().retried == 3);
    CHECK(cons.stats().acked == 4 * per_key);
  });
}

TEST_CASE("key ordering: a dead letter releases its key by default, or holds it until requeued") {
  redis_server server;
  for (const bool releases : {true, false}) {
    CAPTURE(releases);
    const auto topic = streamq::test::unique_topic() + (releases ? "r" : "h");
    streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
      publisher pub(c);
      std::vector<consumer_event> events;
      consumer cons(c, fast_config(&events));
      std::vector<std::string> done;
      bool poison = true;  // k/0 fails permanently until the "fix"
      subscription_options opts;
      opts.per_key_concurrency = 1;
      opts.dead_letter_releases_key = releases;
      cons.subscribe<streamq::test::Order>(
          topic,
          [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
            if (o.id() == "k/0" && poison)
              throw boost::system::system_error(errc::permanent_failure, "bad order");
            done.push_back(o.id());
            co_return;
          },
          opts);
      for (int n = 0; n < 3; ++n) co_await publish_keyed(pub, topic, "k", n);
      co_await publish_keyed(pub, topic, "other", 0);
      streamq::streams::dead_letters letters(c, topic, "g");
      co_await run_until(cons.run(), [&]() -> asio::awaitable<void> {
        if (releases) {
          co_await wait_until([&] { return done.size() == 3; }, 10s);
          std::vector<std::string> of_k;
          for (const auto& id : done)
            if (id.starts_with("k/")) of_k.push_back(id);
          CHECK(of_k == std::vector<std::string>{"k/1", "k/2"});
        } else {
          co_await wait_until([&] { return !done.empty(); }, 10s);
          co_await sleep_for(500ms);  // k/1 and k/2 wait behind the dead letter
          CHECK(done == std::vector<std::string>{"other/0"});
          CHECK(cons.stats().dead_lettered == 1);
          poison = false;
          CHECK(co_await letters.requeue_all() == 1);
          co_await wait_until([&] { return done.size() == 4; }, 10s);
          CHECK(done == std::vector<std::string>{"other/0", "k/0", "k/1", "k/2"});
        }
      }());
      const auto said = [&](consumer_event::kind k) {
        return std::count_if(events.begin(), events.end(), [&](auto& e) { return e.what == k; });
      };
      CHECK(said(consumer_event::kind::key_released) == (releases ? 1 : 0));
      CHECK(said(consumer_event::kind::key_held) == (releases ? 0 : 1));
    });
  }
}

TEST_CASE("key ordering: per_key_concurrency 2 runs at most two of a key at once, others free") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    consumer cons(c, fast_config());
    std::map<std::string, int> running, most;
    int handled = 0;
    subscription_options opts;
    opts.per_key_concurrency = 2;
    cons.subscribe<streamq::test::Order>(
        topic,
        [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
          const auto key = parse(o.id()).first;
          most[key] = std::max(most[key], ++running[key]);
          co_await sleep_for(20ms);
          --running[key];
          ++handled;
        },
        opts);
    for (int n = 0; n < 10; ++n) co_await publish_keyed(pub, topic, "customer", n);
    for (int n = 0; n < 4; ++n) {
      // Messages without a key are never held back.
      co_await pub.publish(topic, order_with_id("free/" + std::to_string(n)));
    }
    co_await run_until(cons.run(), [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return handled == 14; }, 10s);
    }());
    CHECK(most["customer"] == 2);
    CHECK(most["free"] == 4);
  });
}

TEST_CASE("key ordering: max_held_back pauses reading, retries still bring the blocked key back") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    auto cfg = fast_config();
    cfg.max_batch = 4;
    consumer cons(c, cfg);
    std::vector<int> done;
    int failures_left = 3;
    subscription_options opts;
    opts.per_key_concurrency = 1;
    opts.max_held_back = 3;
    cons.subscribe<streamq::test::Order>(
        topic,
        [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
          const int n = parse(o.id()).second;
          if (n == 0 && failures_left > 0) {
            --failures_left;
            throw std::runtime_error("not yet");
          }
          done.push_back(n);
          co_return;
        },
        opts);
    for (int n = 0; n < 30; ++n) co_await publish_keyed(pub, topic, "one", n);
    co_await run_until(cons.run(), [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return done.size() == 30; }, 15s);
    }());
    std::vector<int> expected(30);
    for (int n = 0; n < 30; ++n) expected[n] = n;
    CHECK(done == expected);
  });
}

TEST_CASE("key ordering: partitions moving between members (join, leave) keep every key's order") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr std::uint32_t parts = 4;
  constexpr int keys = 16;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::streams::set_partitions(c, topic, parts);
    publisher plain(c);
    streamq::streams::partitioned_publisher pub(plain);
    std::map<std::string, int> last_done;  // per key
    int violations = 0, duplicates = 0, handled = 0;
    auto handler = [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
      const auto [key, n] = parse(o.id());
      co_await sleep_for(3ms);  // handlers in flight when partitions move
      const int last = last_done.contains(key) ? last_done[key] : -1;
      if (n <= last) {
        ++duplicates;
      } else {
        if (n != last + 1) ++violations;
        last_done[key] = n;
        ++handled;
      }
    };
    auto member = [](const std::string& name) {
      streamq::streams::partitioned_consumer_config cfg;
      cfg.consumer = fast_config();
      cfg.consumer.name = name;
      cfg.heartbeat = 100ms;
      cfg.lease_ttl = 1000ms;
      cfg.lease_margin = 300ms;
      return cfg;
    };
    subscription_options opts;
    opts.per_key_concurrency = 1;
    streamq::streams::partitioned_consumer a(c, member("a")), b(c, member("b"));
    for (auto* m : {&a, &b}) m->subscribe<streamq::test::Order>(topic, handler, opts);
    std::map<std::string, int> next_seq;
    int published = 0;
    bool publishing = true, publish_done = false;
    std::exception_ptr publish_failure;
    auto publish = [&]() -> asio::awaitable<void> {
      while (publishing) {
        const std::string key = "k" + std::to_string(published % keys);
        envelope_options o;
        o.partition_key = key;
        const std::string id = key + "/" + std::to_string(next_seq[key]++);
        co_await pub.publish(topic, order_with_id(id), o);
        ++published;
        co_await sleep_for(1ms);
      }
    };
    asio::co_spawn(c.get_executor(), publish(), [&](std::exception_ptr e) {
      publish_failure = e;
      publish_done = true;
    });
    bool a_done = false, b_done = false;
    std::exception_ptr a_failure, b_failure;
    // Both members run beside the scenario (run_until would end when a stops).
    asio::co_spawn(c.get_executor(), a.run(), [&](std::exception_ptr e) {
      a_failure = e;
      a_done = true;
    });
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return a.owned().size() == parts && handled > 100; }, 20s);
      asio::co_spawn(c.get_executor(), b.run(), [&](std::exception_ptr e) {
        b_failure = e;
        b_done = true;
      });
      co_await wait_until([&] { return a.owned().size() == 2 && b.owned().size() == 2; }, 20s);
      co_await sleep_for(300ms);
      a.stop();  // a leaves: b takes everything
      co_await wait_until([&] { return b.owned().size() == parts && a_done; }, 20s);
      publishing = false;
      co_await wait_until([&] { return publish_done; }, 10s);
      co_await wait_until([&] { return handled == published; }, 20s);
      b.stop();
      co_await wait_until([&] { return b_done; }, 10s);
    };
    co_await scenario();
    if (publish_failure) std::rethrow_exception(publish_failure);
    if (a_failure) std::rethrow_exception(a_failure);
    if (b_failure) std::rethrow_exception(b_failure);
    MESSAGE("published " << published << ", duplicates " << duplicates);
    CHECK(published > 200);
    CHECK(handled == published);
    CHECK(violations == 0);
  });
}

TEST_CASE("key ordering: a partition's next holder keeps a key waiting for a retry taken over with it") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::streams::set_partitions(c, topic, 1);
    publisher plain(c);
    streamq::streams::partitioned_publisher pub(plain);
    std::vector<std::string> done;
    int runs_of_first = 0;
    auto handler = [&](const streamq::test::Order& o, message_context&) -> asio::awaitable<void> {
      if (o.id() == "k/0" && ++runs_of_first == 1) throw std::runtime_error("first run fails");
      done.push_back(o.id());
      co_return;
    };
    auto member = [](const std::string& name) {
      streamq::streams::partitioned_consumer_config cfg;
      cfg.consumer = fast_config();
      cfg.consumer.name = name;
      cfg.consumer.retry.base = 1500ms;  // still waiting when the partition moves
      cfg.consumer.retry.cap = 1500ms;
      cfg.heartbeat = 100ms;
      cfg.lease_ttl = 1000ms;
      cfg.lease_margin = 300ms;
      return cfg;
    };
    subscription_options opts;
    opts.per_key_concurrency = 1;
    for (int n = 0; n < 3; ++n) {
      envelope_options o;
      o.partition_key = "k";
      co_await pub.publish(topic, order_with_id("k/" + std::to_string(n)), o);
    }
    {
      streamq::streams::partitioned_consumer first(c, member("first"));
      first.subscribe<streamq::test::Order>(topic, handler, opts);
      co_await run_until(first.run(), [&]() -> asio::awaitable<void> {
        co_await wait_until([&] { return runs_of_first == 1; }, 10s);
        co_await sleep_for(200ms);  // k/1 and k/2 are read and wait behind k/0
      }());
    }
    CHECK(done.empty());
    // The next holder recovers k/1 and k/2 at once, but runs them only after k/0's retry.
    streamq::streams::partitioned_consumer next(c, member("next"));
    next.subscribe<streamq::test::Order>(topic, handler, opts);
    co_await run_until(next.run(), [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return done.size() == 3; }, 10s);
    }());
    CHECK(done == std::vector<std::string>{"k/0", "k/1", "k/2"});
    CHECK(runs_of_first == 2);
  });
}

#pragma once
// Growing a partitioned topic under load (docs/partitions.md, "Growing a topic"), as one
// scenario for a single server (partition_growth_test.cpp) and a cluster
// (cluster_partition_growth_test.cpp): four loops publish keyed messages, each key's one after
// another, alternately through a publisher that re-reads the count every 100 ms and one that
// never does by itself; two partitioned_consumer members with per_key_concurrency 1 handle
// them, every 23rd message failing its first run (its retry stays pending on its partition);
// midway the topic grows. What the handlers saw comes back for the test to check.
#include "support/async_test.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
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
#include <cstdint>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace streamq::test::growth {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streams::envelope_options;
using streams::message_context;
using streams::partition_event;
using streams::partitioned_consumer;
using streams::partitioned_consumer_config;
using streams::partitioned_publisher;
using streams::partitioned_publisher_config;
using streams::publisher;
using streams::subscription_options;

inline partitioned_consumer_config member(const std::string& name,
                                   std::vector<partition_event>* events = nullptr) {
  partitioned_consumer_config cfg;
  cfg.consumer.group = "g";
  cfg.consumer.name = name;
  cfg.consumer.concurrency = 8;
  cfg.consumer.block = 100ms;
  cfg.consumer.retry.base = 300ms;
  cfg.consumer.retry.cap = 300ms;
  cfg.consumer.retry.jitter = 0;
  cfg.consumer.retry_poll_interval = 50ms;
  cfg.consumer.shutdown_grace = 1000ms;
  cfg.consumer.log = streamq::logger([](const streamq::log_record&) {});
  cfg.heartbeat = 100ms;
  cfg.lease_ttl = 1000ms;
  cfg.lease_margin = 300ms;
  if (events) cfg.on_event = [events](const partition_event& e) { events->push_back(e); };
  return cfg;
}

inline partitioned_publisher_config refreshing_every(std::chrono::milliseconds interval) {
  partitioned_publisher_config cfg;
  cfg.refresh_interval = interval;
  return cfg;
}

inline envelope_options with_key(const std::string& key) {
  envelope_options o;
  o.partition_key = key;
  return o;
}

// Message "<key>/<n>": its key and its place among the key's messages.
inline std::pair<std::string, int> parse(const std::string& id) {
  const auto slash = id.find('/');
  return {id.substr(0, slash), std::stoi(id.substr(slash + 1))};
}

// The error code a call threw; clear if it returned.
template <class Call>
asio::awaitable<boost::system::error_code> code_of(Call call) {
  try {
    co_await call();
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
  co_return boost::system::error_code{};
}

// What handlers saw: a message handled for the first time that is not its key's next is an
// order violation; one handled before (redelivered after a takeover) a duplicate.
struct ledger {
  std::map<std::string, int> last_done;  // per key, the highest message handled
  std::set<std::string> seen;
  int violations = 0;
  int duplicates = 0;
  [[nodiscard]] std::size_t handled() const { return seen.size(); }
  void saw(const std::string& id) {
    if (!seen.insert(id).second) {
      ++duplicates;
      return;
    }
    const auto [key, n] = parse(id);
    const auto it = last_done.find(key);
    const int last = it == last_done.end() ? -1 : it->second;
    if (n != last + 1) ++violations;
    last_done[key] = std::max(last, n);
  }
};

// What grow_under_load saw.
struct growth_run {
  int published = 0;
  int after_growth = 0;         // published after the growth began
  std::size_t in_new = 0;       // entries in the partitions the growth made
  std::size_t handled = 0;      // distinct messages handled
  int violations = 0;
  int duplicates = 0;
  std::size_t drain_waits = 0;  // waiting_for_drain events
  std::size_t consumer_failures = 0;
  std::uint32_t stale_count = 0;  // the count the never-refreshing publisher uses at the end
};

// The scenario on `topic` (not partitioned yet): `from` partitions, grown to `to` once 300
// messages were handled, then 600 more published.
inline asio::awaitable<growth_run> grow_under_load(client& c, std::string topic,
                                                   std::uint32_t from, std::uint32_t to) {
  growth_run run;
  co_await streams::set_partitions(c, topic, from);
  publisher plain(c);
  partitioned_publisher fresh(plain, refreshing_every(100ms));
  partitioned_publisher stale(plain, refreshing_every(1h));  // never re-reads by itself
  ledger book;
  std::map<std::string, int> failures_left;  // first runs that fail: their retries stay pending
  std::vector<partition_event> events;
  auto handler = [&](const Order& o, message_context&) -> asio::awaitable<void> {
    co_await sleep_for(1ms);
    if (auto it = failures_left.find(o.id()); it != failures_left.end() && it->second > 0) {
      --it->second;
      throw std::runtime_error("first run of " + o.id() + " fails");
    }
    book.saw(o.id());
  };
  subscription_options opts;
  opts.per_key_concurrency = 1;
  partitioned_consumer a(c, member("a", &events)), b(c, member("b", &events));
  for (auto* m : {&a, &b}) m->subscribe<Order>(topic, handler, opts);

  constexpr int loops = 4, keys_per_loop = 8;
  int loops_done = 0;
  bool publishing = true;
  std::exception_ptr publish_failure;
  auto publish = [&](int loop) -> asio::awaitable<void> {
    std::map<std::string, int> next;
    for (int n = 0; publishing; ++n) {
      const std::string key = "k" + std::to_string(loop) + "-" + std::to_string(n % keys_per_loop);
      const int nth = next[key]++;
      const std::string id = key + "/" + std::to_string(nth);
      if (n % 23 == 7) failures_left[id] = 1;
      // Each key's messages alternate between the two publishers.
      auto& through = nth % 2 == 0 ? fresh : stale;
      co_await through.publish(topic, order_with_id(id), with_key(key));
      ++run.published;
      co_await sleep_for(1ms);
    }
  };
  for (int loop = 0; loop < loops; ++loop)
    asio::co_spawn(c.get_executor(), publish(loop), [&](std::exception_ptr e) {
      if (e) publish_failure = e;
      ++loops_done;
    });
  std::exception_ptr a_failure, b_failure;
  bool a_done = false, b_done = false;
  asio::co_spawn(c.get_executor(), a.run(), [&](std::exception_ptr e) {
    a_failure = e;
    a_done = true;
  });
  asio::co_spawn(c.get_executor(), b.run(), [&](std::exception_ptr e) {
    b_failure = e;
    b_done = true;
  });
  co_await wait_until([&] { return book.handled() > 300 && a.owned().size() == from / 2; }, 30s);
  const int before_growth = run.published;
  CHECK(co_await streams::set_partitions(c, topic, to) == to);
  co_await wait_until([&] { return a.owned().size() + b.owned().size() == to; }, 30s);
  co_await wait_until([&] { return run.published > before_growth + 600; }, 30s);
  publishing = false;
  co_await wait_until([&] { return loops_done == loops; }, 10s);
  co_await wait_until([&] { return book.handled() == static_cast<std::size_t>(run.published); },
                      30s);
  a.stop();
  b.stop();
  co_await wait_until([&] { return a_done && b_done; }, 10s);
  if (publish_failure) std::rethrow_exception(publish_failure);
  if (a_failure) std::rethrow_exception(a_failure);
  if (b_failure) std::rethrow_exception(b_failure);

  run.after_growth = run.published - before_growth;
  for (std::uint32_t q = from; q < to; ++q)
    run.in_new += co_await topic_length(c, streams::partition_topic(topic, q));
  run.handled = book.handled();
  run.violations = book.violations;
  run.duplicates = book.duplicates;
  for (const auto& e : events) {
    if (e.what == partition_event::kind::waiting_for_drain) ++run.drain_waits;
    if (e.what == partition_event::kind::consumer_failed) ++run.consumer_failures;
  }
  run.stale_count = co_await stale.partitions_of(topic);
  co_return run;
}

}  // namespace streamq::test::growth

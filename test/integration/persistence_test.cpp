// redis-server killed with SIGKILL while publishes stream in, restarted on the same data
// directory with AOF (appendfsync always, everysec): every acknowledged publish is still
// there. BGREWRITEAOF then a restart: the consumer group state is unchanged.
#include "support/async_test.hpp"
#include "support/ledger.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::streams::publisher;
using streamq::streams::topic_keys;
using streamq::test::ledger;
using streamq::test::ledger_scope;
using streamq::test::Order;
using streamq::test::redis_server;

namespace {

Order order(std::uint64_t seq) {
  Order o;
  o.set_id(ledger::label(seq));
  return o;
}

// These tests read the topic back with no consumer group: no group has dead letters.
constexpr const char* no_group = "none";

redis_server::options aof(const std::string& fsync) {
  redis_server::options o;
  o.extra_args = {"--appendonly", "yes", "--appendfsync", fsync};
  return o;
}

// IDs of every entry in `stream`, read with the fixture's own RESP2 client.
std::set<std::string> entry_ids(const redis_server& server, const std::string& stream) {
  const std::string raw = server.command({"XRANGE", stream, "-", "+"});
  std::set<std::string> ids;
  // Entry IDs are the only bulk strings shaped <digits>-<digits>; field values never are here.
  for (std::size_t at = raw.find("$"); at != std::string::npos; at = raw.find("$", at + 1)) {
    const auto start = raw.find("\r\n", at) + 2;
    const auto end = raw.find("\r\n", start);
    const std::string text = raw.substr(start, end - start);
    const auto dash = text.find('-');
    if (dash != std::string::npos && dash > 0 &&
        text.find_first_not_of("0123456789-") == std::string::npos)
      ids.insert(text);
  }
  return ids;
}

void kill_and_restart(const std::string& fsync) {
  redis_server server(aof(fsync));
  const auto topic = streamq::test::unique_topic();
  // Publishing alone: nothing runs a handler, and nothing is attempted after the kill.
  ledger book("kill9_restart_aof_" + fsync, ledger_scope{.handlers = false, .recovery = false});
  std::size_t acknowledged = 0;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    std::size_t finished = 0;
    constexpr int publishers = 8;
    for (int w = 0; w < publishers; ++w)
      asio::co_spawn(
          c.get_executor(),
          [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 100'000; ++i) {
              const auto seq = book.next_sequence();
              try {
                co_await pub.publish(topic, order(seq));
                book.record_publish(seq, ledger::outcome::ok);
                ++acknowledged;
              } catch (const boost::system::system_error& e) {
                book.record_publish(seq, e.code() == streamq::streams::errc::publish_indeterminate
                                             ? ledger::outcome::indeterminate
                                             : ledger::outcome::failed);
                co_return;  // the server is gone: this publisher stops
              }
            }
          },
          [&](std::exception_ptr) { ++finished; });
    co_await streamq::test::wait_until([&] { return acknowledged >= 2000; });
    server.kill();  // SIGKILL mid-stream
    co_await streamq::test::wait_until([&] { return finished == publishers; }, 30s);
  });
  server.restart();  // same dir: replays the AOF
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    co_await streamq::test::drain_into(c, topic, no_group, book);
  });
  const auto r = book.print();
  CHECK(r.ok >= 2000);
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  // Nothing whose publish failed outright is there: only what was in flight may be.
  CHECK(r.unexpected == 0);
}

}  // namespace

TEST_CASE("SIGKILL of redis-server with appendfsync always loses no acknowledged publish") {
  kill_and_restart("always");
}

TEST_CASE("SIGKILL of redis-server with appendfsync everysec loses no acknowledged publish") {
  kill_and_restart("everysec");
}

TEST_CASE("BGREWRITEAOF then a restart keeps the consumer group state identical") {
  redis_server server(aof("everysec"));
  const auto topic = streamq::test::unique_topic();
  const topic_keys keys(topic);
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    for (int i = 0; i < 50; ++i) co_await pub.publish(topic, order(i));
  });
  const auto& stream = keys.stream();
  server.command({"XGROUP", "CREATE", stream, "g", "0"});
  server.command({"XREADGROUP", "GROUP", "g", "alice", "COUNT", "20", "STREAMS", stream, ">"});
  server.command({"XREADGROUP", "GROUP", "g", "bob", "COUNT", "10", "STREAMS", stream, ">"});
  const std::string pending = server.command({"XPENDING", stream, "g", "-", "+", "5"});
  // Acknowledge the oldest pending entries of alice, so that the PEL has a gap.
  const std::set<std::string> ids = entry_ids(server, stream);
  server.command({"XACK", stream, "g", *ids.begin(), *std::next(ids.begin())});
  auto state = [&] {
    // Idle times change with the clock: compare what must not change.
    return server.command({"XINFO", "GROUPS", stream}) + "|" +
           server.command({"XPENDING", stream, "g"}) + "|" + server.command({"XLEN", stream});
  };
  const auto consumers = [&] {  // each consumer's pending count (idle times change)
    const std::string raw = server.command({"XINFO", "CONSUMERS", stream, "g"});
    std::string out;
    for (const std::string name : {"alice", "bob"}) {
      const auto at = raw.find("\r\n" + name + "\r\n");
      const auto count = raw.find("pending\r\n:", at);
      if (at == std::string::npos || count == std::string::npos) return std::string("missing");
      const auto start = count + 10;
      out += name + "=" + raw.substr(start, raw.find("\r\n", start) - start) + " ";
    }
    return out;
  };
  const auto before = state();
  const auto consumers_before = consumers();
  CHECK(server.command({"BGREWRITEAOF"}).rfind("+", 0) == 0);
  for (int i = 0; i < 500; ++i) {  // wait for the rewrite to finish
    if (server.command({"INFO", "persistence"}).find("aof_rewrite_in_progress:0") !=
        std::string::npos)
      break;
    std::this_thread::sleep_for(10ms);
  }
  server.restart();
  CHECK(state() == before);
  CHECK(consumers() == consumers_before);
  CHECK(pending.find("alice") != std::string::npos);
}

TEST_CASE("redis-server restarted empty: the loss is reported once and consuming goes on") {
  redis_server server;  // no persistence: a restart comes back empty
  const auto topic = streamq::test::unique_topic();
  ledger book("redis_restarted_empty");
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    streamq::streams::consumer_config config;
    config.group = "g";
    config.block = 100ms;
    std::vector<streamq::streams::consumer_event> events;
    config.on_event = [&](const streamq::streams::consumer_event& e) { events.push_back(e); };
    streamq::streams::consumer cons(c, config);
    cons.subscribe<Order>(
        topic, [&](const Order& o, streamq::streams::message_context&) -> asio::awaitable<void> {
          if (const auto seq = ledger::parse_label(o.id()))
            book.record_handled(*seq);
          else
            book.record_foreign_entry();
          co_return;
        });
    std::exception_ptr failure;
    auto publish = [&](std::uint64_t seq) -> asio::awaitable<void> {
      for (int attempt = 0;; ++attempt) {  // the shared connection may still be reconnecting
        try {
          co_await pub.publish(topic, order(seq));
          book.record_publish(seq, ledger::outcome::ok);
          co_return;
        } catch (const boost::system::system_error&) {
          if (attempt == 100) throw;
        }
        co_await streamq::test::sleep_for(20ms);
      }
    };
    auto scenario = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 100; ++i) co_await publish(book.next_sequence());
      co_await streamq::test::wait_until([&] { return book.handled_count() == 100; });
      book.fault_injected();
      server.restart();  // everything is gone: stream, group, pending entries
      co_await streamq::test::wait_until([&] { return cons.stats().data_loss_events >= 1; }, 20s);
      for (int i = 100; i < 200; ++i) co_await publish(book.next_sequence());
      co_await streamq::test::wait_until([&] { return book.handled_count() == 200; }, 20s);
    };
    co_await (cons.run() || streamq::test::capture_failure(scenario(), failure));
    if (failure) std::rethrow_exception(failure);
    std::size_t loss_reports = 0;
    for (const auto& e : events)
      loss_reports += e.what == streamq::streams::consumer_event::kind::data_loss_detected ? 1 : 0;
    CHECK(loss_reports == 1);
    CHECK(cons.stats().data_loss_events == 1);
    // The stream now holds what was published after the restart; the rest went with it.
    co_await streamq::test::drain_into(c, topic, config.group, book);
  });
  const auto r = book.print();
  CHECK(r.ok == 200);
  CHECK(r.lost == 0);
  CHECK(r.unexpected == 0);
}

TEST_CASE("idempotent publishes retried across a SIGKILL and restart add each message once") {
  redis_server server(aof("always"));
  const auto topic = streamq::test::unique_topic();
  constexpr std::uint64_t messages = 2000;
  // Publishing alone: nothing runs a handler. Recovery: from the kill to the next confirmed
  // publish.
  ledger book("idempotent_retries_across_kill9", ledger_scope{.handlers = false});
  std::size_t retries = 0;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    std::size_t done = 0, finished = 0;
    constexpr int publishers = 8;
    for (int w = 0; w < publishers; ++w)
      asio::co_spawn(
          c.get_executor(),
          [&]() -> asio::awaitable<void> {
            for (auto seq = book.next_sequence(); seq <= messages; seq = book.next_sequence()) {
              streamq::streams::envelope_options options;
              options.idempotency_key = "msg-" + std::to_string(seq);
              // A producer that retries until it hears back: safe only with the key.
              for (int attempt = 0;; ++attempt) {
                try {
                  co_await pub.publish(topic, order(seq), options);
                  book.record_publish(seq, ledger::outcome::ok);
                  break;
                } catch (const boost::system::system_error&) {
                  ++retries;
                  if (attempt == 500) throw;
                }
                co_await streamq::test::sleep_for(20ms);
              }
              ++done;
            }
          },
          [&](std::exception_ptr) { ++finished; });
    co_await streamq::test::wait_until([&] { return done >= messages / 3; });
    book.fault_injected();
    server.kill();  // mid-stream, with publishes in flight
    co_await streamq::test::sleep_for(300ms);
    server.restart();  // replays the AOF: entries and dedup keys come back together
    co_await streamq::test::wait_until([&] { return finished == publishers; }, 60s);
    CHECK(done == messages);
    co_await streamq::test::drain_into(c, topic, no_group, book);
  });
  const auto r = book.print();
  MESSAGE("retries: " << retries);
  CHECK(r.ok == messages);
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  CHECK(r.unexpected == 0);
  CHECK(retries > 0);
}

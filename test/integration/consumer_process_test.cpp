// Consumer processes (streamq-test-worker) under process faults: SIGKILLed again and again,
// stopped with SIGTERM under load, paused with SIGSTOP past the claim idle time and resumed.
// Each test prints a LEDGER line; nothing published may be lost.
#include "support/async_test.hpp"
#include "support/ledger.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::topic_keys;
using streamq::test::ledger;
using streamq::test::redis_server;

namespace {

pid_t spawn_worker(const std::string& url, const std::string& topic, const std::string& name,
                   int handle_ms) {
  const std::string handle = std::to_string(handle_ms);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl(STREAMQ_TEST_WORKER, STREAMQ_TEST_WORKER, url.c_str(), topic.c_str(), "g", name.c_str(),
            handle.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int reap(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

asio::awaitable<void> publish_all(client& c, const std::string& topic, ledger& book, int n) {
  streamq::streams::publisher pub(c);
  for (int i = 0; i < n; ++i) {
    const auto seq = book.next_sequence();
    streamq::test::Order order;
    order.set_id(ledger::label(seq));
    co_await pub.publish(topic, order);
    book.record_publish(seq, ledger::outcome::ok);
  }
}

// Handler runs per order ID, as the workers (and the rescuer) count them in Redis.
asio::awaitable<std::map<std::string, long>> handled_counts(client& c, const std::string& topic) {
  request req;
  req.push("HGETALL", key{topic + ":handled"});
  response<std::map<std::string, long>> counts;
  co_await c.async_exec(req, counts);
  co_return counts.get<0>().value();
}

asio::awaitable<long> pending_of(client& c, const std::string& topic) {
  request req;
  req.push("XPENDING", key{topic_keys(topic).stream()}, "g");
  response<streamq::resp::value> summary;
  co_await c.async_exec(req, summary);
  co_return std::stol(summary.get<0>().value().elements.at(0).text);
}

// An in-process consumer that takes over whatever was left pending, until every published
// message was handled and nothing is pending.
asio::awaitable<void> rescue(client& c, const std::string& topic, int n) {
  streamq::streams::consumer_config config;
  config.group = "g";
  config.name = "rescuer";
  config.claim_idle = 500ms;
  config.claim_interval = 100ms;
  streamq::streams::consumer rescuer(c, config);
  rescuer.subscribe<streamq::test::Order>(
      topic,
      [&](const streamq::test::Order& o,
          streamq::streams::message_context&) -> asio::awaitable<void> {
        request req;
        req.push("HINCRBY", key{topic + ":handled"}, o.id(), 1);
        streamq::resp::ignore_response ignored;
        co_await c.async_exec(req, ignored);
      });
  auto all_done = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3000; ++i) {
      if ((co_await handled_counts(c, topic)).size() == static_cast<std::size_t>(n) &&
          co_await pending_of(c, topic) == 0)
        co_return;
      co_await streamq::test::sleep_for(10ms);
    }
  };
  co_await (rescuer.run() || all_done());
}

// The handler runs and the stream's entries into the ledger, then its LEDGER line.
asio::awaitable<streamq::test::ledger_report> settle(client& c, const std::string& topic,
                                                     ledger& book) {
  for (const auto& [id, runs] : co_await handled_counts(c, topic))
    if (const auto seq = ledger::parse_label(id))
      for (long r = 0; r < runs; ++r) book.record_handled(*seq);
  request req;
  req.push("XRANGE", key{topic_keys(topic).stream()}, "-", "+");
  response<std::vector<std::pair<std::string, std::vector<std::string>>>> entries;
  co_await c.async_exec(req, entries);
  for (const auto& [id, fields] : entries.get<0>().value()) {
    streamq::v1::Envelope envelope;
    streamq::test::Order order;
    const auto seq =
        streamq::streams::decode_entry(fields, envelope)
            ? std::nullopt
            : (order.ParseFromString(envelope.payload()) ? ledger::parse_label(order.id())
                                                         : std::nullopt);
    if (seq)
      book.record_stream_entry(*seq);
    else
      book.record_foreign_entry();
  }
  co_return book.print();
}

}  // namespace

TEST_CASE("consumer processes SIGKILLed again and again lose nothing") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  ledger book("consumers_sigkill_repeatedly");
  constexpr int n = 600;
  streamq::test::run_with_client(
      server.url(),
      [&](client& c) -> asio::awaitable<void> {
        co_await publish_all(c, topic, book, n);
        for (int round = 0; round < 4; ++round) {
          const pid_t worker =
              spawn_worker(server.url(), topic, "victim-" + std::to_string(round), 20);
          co_await streamq::test::sleep_for(400ms);
          book.fault_injected();
          ::kill(worker, SIGKILL);
          CHECK(WIFSIGNALED(reap(worker)));
        }
        co_await rescue(c, topic, n);
        const auto r = co_await settle(c, topic, book);
        CHECK(r.lost == 0);
        CHECK(r.unexpected == 0);
        CHECK(r.handled == n);
      },
      std::chrono::seconds(60));
}

TEST_CASE("SIGTERM stops a consumer process under load gracefully: in-flight work is acked") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  ledger book("consumer_sigterm_under_load");
  constexpr int n = 400;
  streamq::test::run_with_client(
      server.url(),
      [&](client& c) -> asio::awaitable<void> {
        co_await publish_all(c, topic, book, n);
        const pid_t worker = spawn_worker(server.url(), topic, "graceful", 50);
        for (int i = 0; i < 1000 && (co_await handled_counts(c, topic)).size() < 50; ++i)
          co_await streamq::test::sleep_for(5ms);
        const auto asked = std::chrono::steady_clock::now();
        ::kill(worker, SIGTERM);
        const int status = reap(worker);
        const auto took = std::chrono::steady_clock::now() - asked;
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        // Its handlers take 50 ms and shutdown_grace is 10 s: well within it.
        CHECK(took < 10s);
        MESSAGE("graceful stop took "
                << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
        // Everything it had taken was finished and acknowledged: nothing of it is pending.
        request req;
        req.push("XPENDING", key{topic_keys(topic).stream()}, "g", "-", "+", 10, "graceful");
        response<streamq::resp::value> mine;
        co_await c.async_exec(req, mine);
        CHECK(mine.get<0>().value().elements.empty());
        co_await rescue(c, topic, n);
        const auto r = co_await settle(c, topic, book);
        CHECK(r.lost == 0);
        CHECK(r.reexecuted == 0);  // a graceful stop re-runs nothing
      },
      std::chrono::seconds(60));
}

TEST_CASE("a consumer process paused past claim_idle loses its work to another, and nothing") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  ledger book("consumer_sigstop_past_claim_idle");
  constexpr int n = 200;
  streamq::test::run_with_client(
      server.url(),
      [&](client& c) -> asio::awaitable<void> {
        co_await publish_all(c, topic, book, n);
        const pid_t worker = spawn_worker(server.url(), topic, "zombie", 200);
        for (int i = 0; i < 1000 && (co_await handled_counts(c, topic)).size() < 10; ++i)
          co_await streamq::test::sleep_for(5ms);
        book.fault_injected();
        ::kill(worker, SIGSTOP);  // hangs mid-handling, its entries pending
        co_await rescue(c, topic, n);
        ::kill(worker, SIGCONT);  // wakes up: its claims are gone
        co_await streamq::test::sleep_for(500ms);
        ::kill(worker, SIGTERM);
        CHECK(WIFEXITED(reap(worker)));
        const auto r = co_await settle(c, topic, book);
        CHECK(r.lost == 0);
        CHECK(r.unexpected == 0);
        CHECK(co_await pending_of(c, topic) == 0);
      },
      std::chrono::seconds(60));
}

// Server-side faults while publishing and consuming: CLIENT KILL storms, CLIENT PAUSE WRITE,
// and a server hung by DEBUG SLEEP. Each prints a LEDGER line; nothing confirmed is lost.
#include "support/async_test.hpp"
#include "support/ledger.hpp"
#include "support/proxy_scenarios.hpp"
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

#include <functional>
#include <string>
#include <thread>

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

// Publishes `n` messages while `fault` runs alongside, consumes them in group "g", drains the
// topic and its dead letters into `book` and prints its LEDGER line.
void run_scenario(streamq::redis::connection_config config, ledger& book, int n,
                  std::function<asio::awaitable<void>()> fault) {
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_coroutine(
      [&]() -> asio::awaitable<void> {
        client c(co_await asio::this_coro::executor, config);
        std::exception_ptr failure;
        auto scenario = [&]() -> asio::awaitable<void> {
          streamq::streams::publisher pub(c);
          streamq::streams::consumer_config cc;
          cc.group = "g";
          cc.block = 200ms;
          cc.claim_idle = 1s;
          cc.claim_interval = 200ms;
          streamq::streams::consumer cons(c, cc);
          streamq::test::subscribe_ledger(cons, topic, book);
          auto publishing = [&]() -> asio::awaitable<void> {
            for (int i = 0; i < n; ++i) {
              co_await streamq::test::publish_one(pub, topic, book);
              co_await streamq::test::sleep_for(2ms);
            }
          };
          std::exception_ptr inner;
          auto work = [&]() -> asio::awaitable<void> {
            co_await (publishing() && fault());
            co_await streamq::test::wait_until([&] { return book.outstanding() == 0; }, 30s);
          };
          co_await (cons.run() || streamq::test::capture_failure(work(), inner));
          if (inner) std::rethrow_exception(inner);
          co_await streamq::test::drain_into(c, topic, "g", book);
        };
        co_await (c.async_run(asio::as_tuple(asio::use_awaitable)) ||
                  streamq::test::capture_failure(scenario(), failure));
        if (failure) std::rethrow_exception(failure);
      },
      std::chrono::seconds(90));
  const auto r = book.print();
  CHECK(r.lost == 0);
  CHECK(r.unexpected == 0);
}

}  // namespace

TEST_CASE("a CLIENT KILL storm loses nothing confirmed") {
  redis_server server;
  ledger book("client_kill_storm");
  run_scenario(streamq::redis::parse_url(server.url()), book, 500, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 10; ++i) {
      co_await streamq::test::sleep_for(100ms);
      book.fault_injected();
      server.command({"CLIENT", "KILL", "TYPE", "normal"});
    }
  });
}

TEST_CASE("CLIENT PAUSE WRITE stalls publishing, then everything goes through") {
  redis_server server;
  ledger book("client_pause_write");
  run_scenario(streamq::redis::parse_url(server.url()), book, 300, [&]() -> asio::awaitable<void> {
    co_await streamq::test::sleep_for(200ms);
    book.fault_injected();
    server.command({"CLIENT", "PAUSE", "700", "WRITE"});
  });
}

TEST_CASE("a server hung by DEBUG SLEEP is detected by the health check, and work resumes") {
  redis_server server;
  ledger book("debug_sleep_hung_server");
  auto config = streamq::redis::parse_url(server.url());
  config.health_check_interval = 100ms;
  config.health_check_timeout = 300ms;
  run_scenario(config, book, 300, [&]() -> asio::awaitable<void> {
    co_await streamq::test::sleep_for(200ms);
    book.fault_injected();
    // DEBUG SLEEP blocks the whole server for 1.5 s; sent from a thread of its own, since the
    // fixture's command() waits for the reply.
    std::thread sleeper([&] { server.command({"DEBUG", "SLEEP", "1.5"}); });
    co_await streamq::test::sleep_for(2s);
    sleeper.join();
  });
}

TEST_CASE("oversized messages in a busy pipeline are refused alone, the other publishes succeed") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  ledger book("oversized_in_busy_pipeline");
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    streamq::streams::publisher pub(c);  // default limit: 1 MiB payload
    std::size_t finished = 0, refused = 0;
    constexpr int publishers = 16, each = 200;
    for (int w = 0; w <= publishers; ++w)
      asio::co_spawn(
          c.get_executor(),
          [&, w]() -> asio::awaitable<void> {
            for (int i = 0; i < (w == publishers ? 5 : each); ++i) {
              streamq::test::Order order;
              if (w == publishers) {  // the troublemaker: 2 MiB, over Redis' 1 MB bulk limit too
                order.set_id("oversized");
                order.add_items(std::string(2 * 1024 * 1024, 'x'));
                try {
                  co_await pub.publish(topic, order);
                } catch (const boost::system::system_error& e) {
                  if (e.code() == streamq::streams::errc::message_too_large) ++refused;
                }
                continue;
              }
              const auto seq = book.next_sequence();
              order.set_id(ledger::label(seq));
              co_await pub.publish(topic, order);
              book.record_publish(seq, ledger::outcome::ok);
            }
          },
          [&](std::exception_ptr e) {
            if (!e) ++finished;
          });
    co_await streamq::test::wait_until([&] { return finished == publishers + 1; }, 30s);
    CHECK(refused == 5);
    CHECK(c.shared_connection().stats().connection_losses == 0);
    request req;
    req.push("XRANGE", key{topic_keys(topic).stream()}, "-", "+");
    response<std::vector<std::pair<std::string, std::vector<std::string>>>> entries;
    co_await c.async_exec(req, entries);
    for (const auto& [id, fields] : entries.get<0>().value()) {
      streamq::v1::Envelope envelope;
      streamq::test::Order order;
      if (!streamq::streams::decode_entry(fields, envelope) &&
          order.ParseFromString(envelope.payload()))
        if (const auto seq = ledger::parse_label(order.id())) {
          book.record_stream_entry(*seq);
          book.record_handled(*seq);  // present is what counts here: nothing consumes
          continue;
        }
      book.record_foreign_entry();
    }
  });
  const auto r = book.print();
  CHECK(r.ok == 3200);
  CHECK(r.lost == 0);
  CHECK(r.unexpected == 0);
}

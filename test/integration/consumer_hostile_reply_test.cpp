// A consumer whose XREADGROUP replies are made hostile on the way, by the fault proxy's rewrite
// toxic (test/support/fault_proxy.hpp), against a real redis-server: replies of another shape
// and bytes that are not RESP are reported, do not end run(), and lose nothing once the replies
// are sound again. The toxic itself is checked first, through two chained proxies.
#include "support/async_test.hpp"
#include "support/fault_proxy.hpp"
#include "support/ledger.hpp"
#include "support/proxy_scenarios.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/config.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::streams::consumer_event;
using streamq::test::capture_failure;
using streamq::test::fault_proxy;
using streamq::test::ledger;
using streamq::test::poll_until;
using streamq::test::proxy_toxics;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::test_name;
using direction = fault_proxy::direction;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// GET `key` with hiredis (RESP2) through port `port`: the fixture is checked without streamq.
std::string get_through(std::uint16_t port, const std::string& key) {
  std::unique_ptr<redisContext, void (*)(redisContext*)> ctx(redisConnect("127.0.0.1", port),
                                                             redisFree);
  REQUIRE(ctx != nullptr);
  REQUIRE(ctx->err == 0);
  std::unique_ptr<redisReply, void (*)(void*)> reply(
      static_cast<redisReply*>(redisCommand(ctx.get(), "GET %s", key.c_str())), freeReplyObject);
  REQUIRE(reply != nullptr);
  REQUIRE(reply->type == REDIS_REPLY_STRING);
  return std::string(reply->str, reply->len);
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    ++n;
  return n;
}

// One way of making an XREADGROUP reply hostile, and the code the consumer must report. Every
// entry a publisher writes has the fields [v, 1, e, <envelope>]: the rewrite hits the header of
// that field array and its first field name, in XREADGROUP replies and in the claim script's
// replies alike (both carry entries).
struct hostile_rewrite {
  const char* what;
  std::string to;
  streamq::streams::error_code expected;
};
const std::string entry_fields = "*4\r\n$1\r\nv\r\n";

proxy_toxics rewriting(std::string from, std::string to) {
  proxy_toxics t;
  t.rewrite_from = std::move(from);
  t.rewrite_to = std::move(to);
  return t;
}

// A consumer reading through the proxy (its client's shared and blocking connections both),
// a publisher on a direct client. The toxic is set between publishes; run() must survive it,
// report it, and handle every message, then stop on request.
void consume_through_hostile_replies(const hostile_rewrite& rewrite) {
  redis_server server;
  fault_proxy proxy(server.port());
  ledger book(test_name() + " / " + rewrite.what);
  const auto topic = streamq::test::unique_topic();
  constexpr std::size_t per_phase = 5;  // published before, during and after the toxic
  std::vector<consumer_event> events;
  std::exception_ptr consumer_failure;
  bool run_ended = false;
  std::uint64_t rewritten = 0;

  streamq::test::run_with_config(
      streamq::test::proxied_config(proxy), [&](streamq::client& proxied) -> asio::awaitable<void> {
        streamq::client direct(co_await asio::this_coro::executor,
                               streamq::redis::parse_url(server.url()));
        auto config = streamq::test::fast_consumer_config();
        // Every read and claim of an entry while the toxic is on counts a delivery: the default
        // limit could dead-letter a message this test expects handled.
        config.max_deliveries = 1000;
        config.on_event = [&](const consumer_event& e) { events.push_back(e); };
        streamq::streams::consumer consumer(proxied, config);
        streamq::test::subscribe_ledger(consumer, topic, book);
        streamq::streams::publisher pub(direct);

        auto read_failures = [&] {
          std::size_t n = 0;
          for (const auto& e : events)
            if (e.what == consumer_event::kind::read_failed && e.code == rewrite.expected) ++n;
          return n;
        };
        auto run_consumer = [&]() -> asio::awaitable<void> {
          co_await capture_failure(consumer.run(), consumer_failure);
          run_ended = true;
        };
        auto scenario = [&]() -> asio::awaitable<void> {
          for (std::size_t i = 0; i < per_phase; ++i)
            co_await streamq::test::publish_one(pub, topic, book);
          REQUIRE(co_await poll_until([&] { return book.outstanding() == 0; }, 10s));

          proxy.set(direction::downstream, rewriting(entry_fields, rewrite.to));
          book.fault_injected();
          for (std::size_t i = 0; i < per_phase; ++i)
            co_await streamq::test::publish_one(pub, topic, book);
          CHECK(co_await poll_until([&] { return read_failures() > 0; }, 10s));
          // Reading goes on under the toxic: let it fail a few more rounds.
          co_await sleep_for(500ms);
          CHECK_FALSE(run_ended);
          rewritten = proxy.rewritten(direction::downstream);

          proxy.clear();
          for (std::size_t i = 0; i < per_phase; ++i)
            co_await streamq::test::publish_one(pub, topic, book);
          CHECK(co_await poll_until([&] { return book.outstanding() == 0; }, 20s));
          CHECK_FALSE(run_ended);

          consumer.stop();
          CHECK(co_await poll_until([&] { return run_ended; }, 10s));
          const auto after = co_await consumer.inspect();
          REQUIRE(after.size() == 1);
          CHECK(after[0].length == 3 * per_phase);
          CHECK(after[0].pending == 0);
          CHECK(after[0].lag == std::optional<std::uint64_t>(0));
          // The ledger's view of the stream (duplicates, foreign entries), read directly.
          co_await streamq::test::drain_into(direct, topic, "g", book);
        };
        // Before run() the topic's stream does not exist: nothing to report, not an error.
        const auto before = co_await consumer.inspect();
        REQUIRE(before.size() == 1);
        CHECK(before[0].length == 0);
        CHECK(before[0].pending == 0);
        CHECK(before[0].consumers == 0);
        std::exception_ptr failure;
        co_await (direct.async_run(use_tuple) ||
                  capture_failure((run_consumer() && scenario()), failure));
        if (failure) std::rethrow_exception(failure);
      });

  if (consumer_failure) {
    try {
      std::rethrow_exception(consumer_failure);
    } catch (const std::exception& e) {
      FAIL_CHECK("consumer.run() threw: " << std::string(e.what()));
    }
  }
  std::size_t read_failed = 0;
  for (const auto& e : events) {
    if (e.what != consumer_event::kind::read_failed) continue;
    ++read_failed;
    INFO("read_failed: " << e.detail);
    CHECK(e.code == rewrite.expected);  // no other read failure
  }
  MESSAGE(std::string(rewrite.what)
          << ": " << rewritten << " occurrences rewritten, " << read_failed
          << " read_failed events, " << events.size() << " events in all");
  CHECK(rewritten > 0);
  CHECK(read_failed > 0);
  const auto r = book.print();
  streamq::test::check_ledger(r, 3 * per_phase);
  CHECK(r.failed == 0);
  CHECK(r.indeterminate == 0);
  CHECK(r.dead_lettered == 0);
  CHECK(r.handled == 3 * per_phase);  // every message published, counted
  CHECK(r.duplicated == 0);
}

}  // namespace

TEST_CASE("proxy: the rewrite toxic replaces a byte string, also split across reads") {
  redis_server server;
  // server <- sliced <- rewriting <- client: the rewriting proxy reads what the sliced one
  // sends in 1-3 byte pieces, so occurrences arrive split across its reads.
  fault_proxy sliced(server.port());
  fault_proxy rewriter(sliced.port());
  proxy_toxics slices;
  slices.slice = true;
  slices.slice_max = 3;
  slices.slice_delay = 200us;
  sliced.set(direction::downstream, slices);
  rewriter.set(direction::downstream, rewriting("XYZW", "abcd"));
  std::string value, want;
  constexpr std::size_t occurrences = 200;
  for (std::size_t i = 0; i < occurrences; ++i) {
    const std::string gap(i % 7, static_cast<char>('0' + i % 10));  // 0 to 6 bytes apart
    value += gap + "XYZW";
    want += gap + "abcd";
  }
  value += "XYZ";  // the start of an occurrence at the very end: held, then sent unchanged
  want += "XYZ";
  REQUIRE(server.command({"SET", "k", value}) == "+OK\r\n");

  CHECK(get_through(rewriter.port(), "k") == want);
  CHECK(rewriter.rewritten(direction::downstream) == occurrences);
  CHECK(rewriter.rewritten(direction::upstream) == 0);
  CHECK(count_of(value, "XYZW") == occurrences);

  rewriter.clear();
  CHECK(get_through(rewriter.port(), "k") == value);
  CHECK(rewriter.rewritten(direction::downstream) == occurrences);
  // A replacement of another length would shift every reply after it: refused.
  CHECK_THROWS_AS(rewriter.set(direction::downstream, rewriting("ab", "a")), std::invalid_argument);
  CHECK_THROWS_AS(rewriter.set_existing(direction::upstream, rewriting("a", "ab")),
                  std::invalid_argument);
}

TEST_CASE("consumer: an XREADGROUP reply of another shape is reported, run() goes on, none lost") {
  // The field array of each entry turned into a set (~): the reply still parses, in step.
  consume_through_hostile_replies(
      {"field array sent as a set", "~4\r\n$1\r\nv\r\n", streamq::streams::errc::malformed_entry});
}

TEST_CASE("consumer: an XREADGROUP reply with an odd field count, out of step, loses nothing") {
  // Three fields announced where four follow: the reply ends early and what is left of it
  // would be taken for the next reply, unless the connection's session is dropped.
  consume_through_hostile_replies(
      {"odd field count", "*3\r\n$1\r\nv\r\n", streamq::streams::errc::malformed_entry});
}

TEST_CASE("consumer: an XREADGROUP reply that is not RESP is reported, run() goes on") {
  // A type byte RESP does not have: the parser refuses the reply and the session ends.
  consume_through_hostile_replies({"no RESP type byte", "@4\r\n$1\r\nv\r\n",
                                   std::error_code(streamq::resp::parse_errc::invalid_type_byte)});
}

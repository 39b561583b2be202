// exec_script_pipeline (lib/streams/commands/script.hpp) against a real server: in a pipeline,
// only the calls the server answered NOSCRIPT are sent again by source, even when the server
// forgot its scripts between two calls of the same pipeline (SCRIPT FLUSH sent in the middle
// of it), so no call runs twice; and a round trip that fails leaves the answers of the one
// before. The script is schedule-5.lua without an idempotency key: every run stores one more
// task, so a call run twice would show in the count. Its rule without a server is
// test/unit/script_pipeline_test.cpp.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include "streams/commands/schedule_requests.hpp"
#include "streams/commands/script.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::resp::request;
using streamq::streams::topic_keys;
using namespace streamq::streams::detail;
using streamq::test::redis_server;
using error_code = boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The calls of a pipeline: a task stored by schedule-5.lua, or (at `flush_at`) SCRIPT FLUSH;
// after them, ZCARD of the delayed set, in every round trip.
struct task_pipeline {
  const topic_keys* keys;
  std::size_t flush_at = static_cast<std::size_t>(-1);

  void operator()(request& req, std::span<const std::size_t> calls, bool by_source) const {
    for (const std::size_t call : calls) {
      if (call == flush_at)
        req.push("SCRIPT", "FLUSH");
      else
        build_schedule_task(req, by_source, *keys, "", 0ms, task_due{60000, true},
                            "task-" + std::to_string(call));
    }
    build_scheduled_count(req, *keys);
  }
};

std::uint64_t count_of(const streamq::resp::value& reply) {
  std::uint64_t n = 0;
  CHECK(decode_scheduled_count(reply, n));
  return n;
}

// The task IDs the calls answered with, all of them stored (none a duplicate).
std::set<std::string> stored_ids(const script_pipeline& p, std::span<const std::size_t> calls) {
  std::set<std::string> ids;
  for (const std::size_t call : calls) {
    scheduled_reply stored;
    CHECK(decode_schedule_task(p.reply(call), stored));
    CHECK_FALSE(stored.duplicate);
    ids.insert(stored.id);
  }
  return ids;
}

}  // namespace

TEST_CASE("exec_script_pipeline: after a SCRIPT FLUSH mid-pipeline only unrun calls go again") {
  redis_server server;
  const topic_keys keys(streamq::test::unique_topic());
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    auto send = [&](const request& req,
                    streamq::resp::generic_response& replies) -> asio::awaitable<error_code> {
      auto [ec] = co_await c.async_exec(req, replies, use_tuple);
      co_return ec;
    };

    // A fresh server has no script: both calls refused NOSCRIPT, both sent again by source.
    script_pipeline fresh(2, 1);
    const task_pipeline two{&keys};
    REQUIRE_FALSE(co_await exec_script_pipeline(fresh, send, two));
    CHECK(fresh.rounds() == 2);
    CHECK(fresh.answered_in(0) == 2);
    CHECK(fresh.answered_in(1) == 2);
    CHECK(count_of(fresh.trailer(1)[0]) == 0);  // nothing ran in the first
    CHECK(count_of(fresh.trailer(2)[0]) == 2);
    const std::size_t both[] = {0, 1};
    CHECK(stored_ids(fresh, both).size() == 2);

    // Loaded now. The server forgets it between calls 0 and 2 of one pipeline: call 0 ran and
    // is not sent again, call 2 is; resending all would have stored call 0's task twice.
    script_pipeline flushed(3, 1);
    const task_pipeline flush_between{&keys, 1};
    REQUIRE_FALSE(co_await exec_script_pipeline(flushed, send, flush_between));
    CHECK(flushed.rounds() == 2);
    CHECK(flushed.answered_in(0) == 1);
    CHECK(flushed.answered_in(1) == 1);
    CHECK(flushed.reply(1).text == "OK");
    CHECK(flushed.answered_in(2) == 2);
    CHECK(count_of(flushed.trailer(1)[0]) == 3);
    CHECK(count_of(flushed.trailer(2)[0]) == 4);
    const std::size_t scripts[] = {0, 2};
    CHECK(stored_ids(flushed, scripts).size() == 2);

    // Loaded again by the EVAL: one round trip.
    script_pipeline loaded(2, 1);
    REQUIRE_FALSE(co_await exec_script_pipeline(loaded, send, two));
    CHECK(loaded.rounds() == 1);
    CHECK(count_of(loaded.trailer(1)[0]) == 6);
  });
}

TEST_CASE("exec_script_pipeline: a failed round trip keeps the answers of the one before") {
  redis_server server;
  const topic_keys keys(streamq::test::unique_topic());
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    // The first round trip reaches the server; the second fails before it is written, as a
    // connection that is down does.
    int round_trips = 0;
    auto send = [&](const request& req,
                    streamq::resp::generic_response& replies) -> asio::awaitable<error_code> {
      if (++round_trips > 1) co_return streamq::redis::client_errc::not_connected;
      auto [ec] = co_await c.async_exec(req, replies, use_tuple);
      co_return ec;
    };
    script_pipeline p(3, 1);
    const task_pipeline flush_between{&keys, 1};  // call 0: NOSCRIPT (fresh), 1: flush, 2: NOSCRIPT
    const error_code ec = co_await exec_script_pipeline(p, send, flush_between);
    CHECK(ec == streamq::redis::client_errc::not_connected);
    CHECK(p.rounds() == 1);
    CHECK(p.answered_in(0) == 0);
    CHECK(p.answered_in(1) == 1);
    CHECK(p.answered_in(2) == 0);
    CHECK(count_of(p.trailer(1)[0]) == 0);
    CHECK(server.command({"ZCARD", keys.delayed()}) == ":0\r\n");
  });
}

// The dashboard in a real browser: Debian's Chromium driven by puppeteer-core
// (browser/dashboard.test.mjs) against a dashboard served in-process over a real redis-server
// whose topic holds one dead letter. The page shows the topic's counts, refuses a requeue
// without the token, requeues the letter with the token entered in the page, and a consumer
// of the group, running all along with its failure switched off, handles it again.
// The screenshots land in <build>/test/dashboard/screenshots (docs/images/ keeps copies).
//
// Skipped (exit status 77, the test's SKIP_RETURN_CODE) only when node or Chromium is missing.
#include "support/async_test.hpp"
#include "support/posix_helpers.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/dashboard/dashboard.hpp>
#include <streamq/http/endpoint.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::message_context;
using streamq::test::Order;
using streamq::test::redis_server;

namespace {

constexpr int skip_exit_code = 77;                // the CTest test's SKIP_RETURN_CODE
constexpr auto browser_limit = 180s;              // the browser run (the script stops at 120 s)
constexpr auto browser_stop_grace = 5s;           // SIGTERM lets puppeteer close Chromium
constexpr auto consumer_limit = 20s;              // a handler run after a requeue or a retry
constexpr std::string_view group = "billing";
// "Sq-NoLeak-": scripts/check-no-secrets fails CI if it ever appears in the test output.
constexpr std::string_view token = "Sq-NoLeak-dashboard-browser-token";
constexpr std::string_view failing_order = "order-1";
constexpr int published_orders = 3;
constexpr std::uint32_t attempts_before_dead_letter = 2;
// A second topic gets an entry every so often during the browser run, read by no one in its
// group: the overview's throughput and lag charts then draw something (and the screenshot
// shows what they are for).
constexpr auto trickle_interval = 250ms;
constexpr std::string_view idle_group = "analytics";

// `name` as an executable file: a path as given, a bare name looked up on PATH; "" if none.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  std::istringstream path(streamq::test::detail::env_or("PATH", "/usr/bin:/bin"));
  for (std::string dir; std::getline(path, dir, ':');) {
    const auto candidate = (fs::path(dir.empty() ? "." : dir) / name).string();
    if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) return candidate;
  }
  return "";
}

[[noreturn]] void skip(const std::string& why) {
  std::cout << "SKIPPED: the dashboard browser test: " << why << std::endl;
  std::exit(skip_exit_code);
}

// puppeteer-core in <browser dir>/node_modules, installed from the committed lock (npm ci)
// the first time, and again when the lock changed since.
void install_puppeteer(const fs::path& dir) {
  const auto installed = dir / "node_modules" / ".package-lock.json";
  if (fs::exists(installed) &&
      fs::last_write_time(installed) >= fs::last_write_time(dir / "package-lock.json")) {
    return;
  }
  if (find_program("npm").empty()) skip("npm is not on PATH (needed once, for npm ci)");
  const auto log = (dir / "npm-ci.log").string();
  fs::remove(log);
  streamq::test::detail::run_tool(
      {"npm", "ci", "--prefix", dir.string(), "--no-audit", "--no-fund"}, log);
}

// The exit status of child `pid`, awaited without blocking the io_context (which serves the
// dashboard the child is talking to): waitpid(WNOHANG) every 50 ms. After `limit`: SIGTERM,
// then SIGKILL, and the test fails.
asio::awaitable<int> child_exit_status(pid_t pid, std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (streamq::test::detail::waitpid_retry(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= give_up) {
      ::kill(pid, SIGTERM);
      const auto grace_end = std::chrono::steady_clock::now() + browser_stop_grace;
      while (streamq::test::detail::waitpid_retry(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= grace_end) {
          ::kill(pid, SIGKILL);
          streamq::test::detail::waitpid_retry(pid, &status, 0);
          break;
        }
        co_await streamq::test::sleep_for(50ms);
      }
      FAIL("the browser run took longer than " << limit.count() << " s");
    }
    co_await streamq::test::sleep_for(50ms);
  }
  co_return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Order i, with enough in it for the message page to show (its screenshot is in the docs).
Order order(int i) {
  Order o = streamq::test::order_with_id("order-" + std::to_string(i));
  o.set_amount_cents(1250 + 100 * i);
  o.add_items("notebook");
  o.add_items("pencil");
  return o;
}

// Publishes to `topic` every trickle_interval until cancelled.
asio::awaitable<void> trickle(client& c, std::string topic) {
  streamq::streams::publisher pub(c);
  for (int i = 0;; ++i) {
    co_await pub.publish(topic, streamq::test::order_with_id("click-" + std::to_string(i)));
    co_await streamq::test::sleep_for(trickle_interval);
  }
}

std::string file_text(const std::string& path) {
  return streamq::test::detail::tail_of(path, 200);
}

}  // namespace

TEST_CASE("the dashboard in Chromium: counts shown, a dead letter requeued with the token") {
  const fs::path browser_dir = STREAMQ_DASHBOARD_BROWSER_DIR;
  const fs::path proto_dir = STREAMQ_TEST_PROTO_DIR;
  const auto node = find_program("node");
  const auto chromium =
      find_program(streamq::test::detail::env_or("STREAMQ_CHROMIUM", "/usr/bin/chromium"));
  if (node.empty()) skip("node is not on PATH");
  if (chromium.empty()) skip("no Chromium at /usr/bin/chromium (or $STREAMQ_CHROMIUM)");
  install_puppeteer(browser_dir);

  redis_server server;
  // Plain names rather than unique_topic(): the server is this test's alone, and the
  // screenshots (docs/images/) read better with them.
  const std::string topic = "orders";
  const std::string busy_topic = "clicks";
  REQUIRE(server.command({"XGROUP", "CREATE", streamq::streams::topic_keys(busy_topic).stream(),
                          std::string(idle_group), "0", "MKSTREAM"}) == "+OK\r\n");
  const auto screenshots = (browser_dir.parent_path() / "screenshots").string();
  const auto log = (browser_dir / "browser-run.log").string();
  fs::remove(log);
  std::map<std::string, int> runs;  // handler runs per order ID
  bool failing = true;
  int browser_status = -1;

  streamq::test::run_with_client(
      server.url(),
      [&](client& c) -> asio::awaitable<void> {
        streamq::streams::publisher pub(c);
        for (int i = 0; i < published_orders; ++i) {
          co_await pub.publish(topic, order(i));
        }
        consumer_config config{.group = std::string(group), .name = "c1"};
        config.retry = {.max_attempts = attempts_before_dead_letter, .base = 10ms, .cap = 20ms,
                        .jitter = 0};
        consumer cons(c, config);
        cons.subscribe<Order>(
            topic, [&](const Order& o, message_context&) -> asio::awaitable<void> {
              ++runs[o.id()];
              if (failing && o.id() == failing_order) throw std::runtime_error("downstream down");
              co_return;
            });

        const auto ex = co_await asio::this_coro::executor;
        streamq::http::endpoint ep(ex, streamq::http::endpoint_config{});
        streamq::dashboard::dashboard_config dash_config;
        dash_config.token = std::string(token);
        dash_config.protos = {proto_dir / "test_messages.proto"};
        dash_config.proto_paths = {proto_dir};
        streamq::dashboard::dashboard dash(c, ep, dash_config);

        auto scenario = [&]() -> asio::awaitable<void> {
          co_await streamq::test::wait_until(
              [&] {
                return cons.stats().dead_lettered == 1 &&
                       cons.stats().acked == published_orders - 1;
              },
              consumer_limit);
          failing = false;  // from now on the requeued letter succeeds
          const auto url = "http://127.0.0.1:" + std::to_string(ep.port()) + dash_config.prefix + "/";
          const auto expected = R"({"topic":")" + topic + R"(","group":")" + std::string(group) +
                                R"(","length":)" + std::to_string(published_orders) +
                                R"(,"groups":1,"dead_letters":1,"payload_text":")" +
                                std::string(failing_order) + R"("})";
          const std::vector<std::string> argv{
              node, (browser_dir / "dashboard.test.mjs").string(), url, std::string(token),
              screenshots, expected};
          const pid_t pid = streamq::test::detail::spawn_process(argv, log);
          browser_status = co_await child_exit_status(pid, browser_limit);
          if (browser_status != 0) co_return;
          // The letter went back to its group: the consumer that ran all along handles it.
          co_await streamq::test::wait_until(
              [&] { return runs[std::string(failing_order)] ==
                           static_cast<int>(attempts_before_dead_letter) + 1; },
              consumer_limit);
        };
        std::exception_ptr failure;
        co_await (cons.run() || ep.run() || dash.run() || trickle(c, busy_topic) ||
                  streamq::test::capture_failure(scenario(), failure));
        if (failure) std::rethrow_exception(failure);
      },
      std::chrono::duration_cast<std::chrono::seconds>(browser_limit + 2 * consumer_limit + 30s));

  const auto browser_output = file_text(log);
  if (browser_status != 0) {
    FAIL("the browser run failed (exit status " << browser_status << "):\n" << browser_output);
  }
  MESSAGE("the browser run said:\n" << browser_output);
  // In Redis: no dead letter left, nothing pending, every order handled successfully once more
  // than it failed (order-1: twice failed, then once after the requeue).
  const streamq::streams::topic_keys keys(topic);
  CHECK(server.command({"XLEN", keys.dead_letters(group)}) == ":0\r\n");
  // A requeue hands the letter's own topic entry back to the group: no entry is added.
  CHECK(server.command({"XLEN", keys.stream()}) ==
        ":" + std::to_string(published_orders) + "\r\n");
  const auto pending = server.command({"XPENDING", keys.stream(), std::string(group)});
  CHECK(pending.rfind("*4\r\n:0\r\n", 0) == 0);
  CHECK(runs.size() == static_cast<std::size_t>(published_orders));
  for (const auto& [id, count] : runs) {
    CHECK(count == (id == failing_order ? static_cast<int>(attempts_before_dead_letter) + 1 : 1));
  }
  for (const auto* shot : {"dashboard-overview.png", "dashboard-topic.png", "dashboard-message.png"}) {
    CHECK(fs::file_size(fs::path(screenshots) / shot) > 0);
  }
}

// Several scheduler processes (streamq-test-scheduler) on one topic: delayed tasks are moved
// exactly once and never early, also when one process is killed with SIGKILL midway; a
// recurring task fires once per occurrence, and a restart neither double-fires nor catches up
// beyond its policy.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::wait_until;

using streamq::test::read_topic;
using streamq::test::topic_length;
using streamq::test::unix_ms;

namespace {

// A streamq-test-scheduler process, stopped (SIGTERM, then SIGKILL) when it goes out of scope.
class scheduler_process {
 public:
  explicit scheduler_process(const std::vector<std::string>& args) {
    // Built before fork(): the child only calls exec.
    std::vector<std::string> command{std::string(STREAMQ_TEST_SCHEDULER)};
    command.insert(command.end(), args.begin(), args.end());
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : command) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~scheduler_process() { stop(SIGTERM); }
  scheduler_process(const scheduler_process&) = delete;
  scheduler_process& operator=(const scheduler_process&) = delete;

  // Sends `sig` and reaps the process (SIGKILL after 5 s if it is still there).
  void stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      ::usleep(10'000);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

std::int64_t percentile(std::vector<std::int64_t> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

// 10 000 tasks due over two seconds, three scheduler processes; with `kill_one`, the first is
// killed with SIGKILL in the middle of the window.
void run_delayed_scenario(bool kill_one) {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  constexpr int tasks = 10'000;
  std::vector<scheduler_process*> processes;
  scheduler_process p1({server.url(), topic}), p2({server.url(), topic}), p3({server.url(), topic});
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    scheduler s(c, scheduler_config{});  // schedules only; the processes move
    const auto start = std::chrono::system_clock::now() + 1500ms;
    std::vector<std::int64_t> due_ms(tasks);
    std::size_t scheduled = 0;
    // Ten producers at once: their scripts pipeline on the shared connection.
    for (int w = 0; w < 10; ++w)
      asio::co_spawn(
          c.get_executor(),
          [&, w]() -> asio::awaitable<void> {
            for (int i = w; i < tasks; i += 10) {
              const auto due = start + std::chrono::microseconds(200 * i);
              due_ms[i] = unix_ms(due);
              Order o;
              o.set_id(std::to_string(i));
              co_await s.publish_at(topic, o, due);
              ++scheduled;
            }
          },
          [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
          });
    co_await wait_until([&] { return scheduled == tasks; }, 20s);
    if (kill_one) {
      co_await sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(
          start + 1s - std::chrono::system_clock::now()));
      p1.stop(SIGKILL);
    }
    std::size_t length = 0;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (length < tasks && std::chrono::steady_clock::now() < deadline) {
      co_await sleep_for(50ms);
      length = co_await topic_length(c, topic);
    }
    co_await sleep_for(500ms);  // anything moved twice would show up now
    const auto entries = co_await read_topic(c, topic);
    std::map<int, int> seen;
    std::vector<std::int64_t> lateness;
    std::size_t early = 0;
    for (const auto& e : entries) {
      const int i = std::stoi(e.order.id());
      ++seen[i];
      lateness.push_back(e.added_ms - due_ms[i]);
      if (e.added_ms < due_ms[i]) ++early;
    }
    std::size_t duplicated = 0;
    for (const auto& [i, n] : seen) duplicated += n > 1 ? 1 : 0;
    std::printf(
        "delayed x%d, 3 scheduler processes%s: moved %zu, missing %zu, duplicated %zu, early %zu, "
        "lateness p50 %lld ms, p99 %lld ms, max %lld ms\n",
        tasks, kill_one ? " (one SIGKILLed)" : "", entries.size(), tasks - seen.size(), duplicated,
        early, static_cast<long long>(percentile(lateness, 0.5)),
        static_cast<long long>(percentile(lateness, 0.99)),
        static_cast<long long>(percentile(lateness, 1.0)));
    CHECK(entries.size() == tasks);
    CHECK(seen.size() == tasks);
    CHECK(duplicated == 0);
    CHECK(early == 0);
    CHECK(co_await s.scheduled_count(topic) == 0);
  });
}

}  // namespace

TEST_CASE("10 000 delayed tasks, three scheduler processes: each moved once, none early") {
  run_delayed_scenario(false);
}

TEST_CASE("10 000 delayed tasks, one of three scheduler processes SIGKILLed midway") {
  run_delayed_scenario(true);
}

TEST_CASE("a cron task registered by three processes fires once per occurrence, restarts skip") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const std::string spec = "cron:* * * * * *@UTC";  // every second
  auto start_three = [&](std::vector<std::unique_ptr<scheduler_process>>& out) {
    for (int i = 0; i < 3; ++i)
      out.push_back(std::make_unique<scheduler_process>(
          std::vector<std::string>{server.url(), topic, "tick", spec, "skip", "300"}));
  };
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    std::vector<std::unique_ptr<scheduler_process>> group;
    start_three(group);
    co_await sleep_for(3500ms);
    group.clear();  // SIGTERM: every process stops
    const auto first_run = co_await read_topic(c, topic);
    co_await sleep_for(2500ms);  // two or three occurrences pass with nobody running
    start_three(group);
    co_await sleep_for(2500ms);
    group.clear();
    const auto entries = co_await read_topic(c, topic);

    std::set<std::int64_t> occurrences;
    std::size_t late = 0;
    for (const auto& e : entries) {
      occurrences.insert(std::stoll(e.envelope.headers().at("streamq-occurrence")));
      if (e.added_ms - e.envelope.created_at_unix_ms() > 300) ++late;
    }
    std::printf("cron by 3 processes: %zu fired before the restart, %zu in all, %zu late\n",
                first_run.size(), entries.size(), late);
    CHECK(occurrences.size() == entries.size());  // never twice
    CHECK(first_run.size() >= 2);
    CHECK(first_run.size() <= 4);
    CHECK(entries.size() - first_run.size() >= 1);
    CHECK(entries.size() - first_run.size() <= 3);
    CHECK(late == 0);  // skip: the occurrences missed while down were not caught up
    // Consecutive occurrences within each run are one second apart: none skipped.
    for (std::size_t i = 1; i < first_run.size(); ++i)
      CHECK(first_run[i].envelope.created_at_unix_ms() -
                first_run[i - 1].envelope.created_at_unix_ms() ==
            1000);
  });
}

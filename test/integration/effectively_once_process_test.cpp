// Effectively-once processing under a crash at every step, the way exactly-once is tested in
// Kafka: an effectively-once consumer process (streamq-test-eo-worker) SIGKILLs itself at the
// 5th time it reaches a step (before the handler, inside it, after it before the commit, after
// the commit before anything else, after the outbox's publish before its delete); a second
// process under the same name finishes the work. Each input produces one output in its own
// slot (written by the commit) and one in another (through the outbox). The outputs are
// counted by message ID: exactly one of each per input. A LEDGER line per step.
#include "support/async_test.hpp"
#include "support/output_topics.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::topic_keys;
using streamq::test::redis_server;

namespace {

pid_t spawn_eo_worker(const std::string& url, const std::string& in, const std::string& near,
                      const std::string& far, const std::string& step, int at) {
  const std::string n = std::to_string(at);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl(STREAMQ_TEST_EO_WORKER, STREAMQ_TEST_EO_WORKER, url.c_str(), in.c_str(), near.c_str(),
            far.c_str(), "g", "w", step.c_str(), n.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// The exit status, or -1 when it did not exit within `limit` (then it is killed).
int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

long integer_reply(const std::string& reply) {
  REQUIRE(reply.size() > 1);
  REQUIRE(reply[0] == ':');
  return std::stol(reply.substr(1));
}

// Everything handled, committed and relayed: every input recorded and acknowledged, the outbox
// empty.
bool settled(redis_server& server, const std::string& in, long inputs) {
  const topic_keys keys(in);
  const auto pending = server.command({"XPENDING", keys.stream(), "g"});
  return integer_reply(server.command({"ZCARD", keys.processed("g")})) == inputs &&
         pending.rfind("*4\r\n:0\r\n", 0) == 0 &&
         integer_reply(server.command({"XLEN", keys.outbox("g")})) == 0;
}

struct tally {
  long lost = 0;        // inputs without their output
  long duplicated = 0;  // outputs beyond the first per input
};

tally count(const std::map<std::string, int>& outputs, const std::set<std::string>& expected) {
  tally t;
  for (const auto& id : expected) {
    const auto it = outputs.find(id);
    if (it == outputs.end())
      ++t.lost;
    else
      t.duplicated += it->second - 1;
  }
  for (const auto& [id, n] : outputs)
    if (expected.count(id) == 0) t.duplicated += n;  // not an output of any input
  return t;
}

}  // namespace

TEST_CASE("effectively once processes: a SIGKILL at every step loses and duplicates no output") {
  redis_server server;
  constexpr int inputs = 30;
  for (const std::string step :
       {"before_handler", "in_handler", "handler_returned", "committed", "relayed"}) {
    CAPTURE(step);
    const auto in = streamq::test::unique_topic();
    const auto near = streamq::test::topic_in_slot_of(in, "near");
    const auto far = in + "-far";
    std::set<std::string> input_ids;
    streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
      streamq::streams::publisher pub(c);
      for (int i = 0; i < inputs; ++i) {
        streamq::test::Order order;
        order.set_id("in-" + std::to_string(i));
        co_await pub.publish(in, order);
      }
      for (const auto& e : co_await streamq::test::read_topic(c, in))
        input_ids.insert(e.envelope.message_id());
    });
    REQUIRE(input_ids.size() == inputs);

    const pid_t crashing = spawn_eo_worker(server.url(), in, near, far, step, 5);
    const int status = wait_exit(crashing, 20s);
    REQUIRE(status != -1);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);

    const auto started = std::chrono::steady_clock::now();
    const pid_t finisher = spawn_eo_worker(server.url(), in, near, far, "none", 0);
    bool done = false;
    while (!done && std::chrono::steady_clock::now() - started < 30s) {
      done = settled(server, in, inputs);
      if (!done) std::this_thread::sleep_for(50ms);
    }
    ::kill(finisher, SIGTERM);
    CHECK(wait_exit(finisher, 20s) == 0);
    CHECK(done);

    std::set<std::string> near_ids, far_ids;
    for (const auto& id : input_ids) {
      near_ids.insert("eo:g:" + id + ":0");
      far_ids.insert("eo:g:" + id + ":1");
    }
    tally near_tally, far_tally;
    streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
      near_tally = count(co_await streamq::test::outputs_by_id(c, near), near_ids);
      far_tally = count(co_await streamq::test::outputs_by_id(c, far), far_ids);
    });
    const long lost = near_tally.lost + far_tally.lost;
    const long duplicated = near_tally.duplicated + far_tally.duplicated;
    std::printf("LEDGER {\"test\":\"effectively_once_crash_%s\",\"ok\":%d,\"lost\":%ld,"
                "\"duplicated\":%ld,\"recovery_ms\":%lld}\n",
                step.c_str(), 2 * inputs, lost, duplicated,
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count()));
    CHECK(lost == 0);
    CHECK(duplicated == 0);
  }
}

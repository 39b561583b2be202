// Tests of lib/streams/wire/message_id.cpp.

#include <streamq/streams/message_id.hpp>

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

using std::chrono::milliseconds;
using std::chrono::system_clock;
using streamq::streams::message_id_length;
using streamq::streams::new_message_id;

namespace {
constexpr std::string_view crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

TEST_CASE("message IDs are 26 Crockford base32 characters") {
  for (int i = 0; i < 100; ++i) {
    const auto id = new_message_id();
    CAPTURE(id);
    REQUIRE(id.size() == message_id_length);
    CHECK(id.find_first_not_of(crockford) == std::string::npos);
  }
}

TEST_CASE("100k message IDs are unique, within one millisecond too") {
  std::unordered_set<std::string> seen;
  constexpr int count = 100'000;
  seen.reserve(count);
  for (int i = 0; i < count; ++i) seen.insert(new_message_id());
  CHECK(seen.size() == count);
  // all at the same instant: only the random part tells them apart
  const auto instant = system_clock::now();
  std::unordered_set<std::string> same_ms;
  for (int i = 0; i < count; ++i) same_ms.insert(new_message_id(instant));
  CHECK(same_ms.size() == count);
}

TEST_CASE("the first 10 characters encode the time in milliseconds, as a ULID does") {
  // the example of the ULID specification: 01ARYZ6S41 is 1469918176385 ms
  const system_clock::time_point t(milliseconds(1469918176385));
  CHECK(new_message_id(t).substr(0, 10) == "01ARYZ6S41");
  CHECK(new_message_id(system_clock::time_point{}).substr(0, 10) == "0000000000");
  // later IDs sort after earlier ones when a millisecond apart
  std::string previous;
  for (long long ms : {0LL, 1LL, 31LL, 32LL, 1000LL, 1469918176385LL, 9000000000000LL}) {
    const auto id = new_message_id(system_clock::time_point(milliseconds(ms)));
    CAPTURE(id);
    CHECK(previous < id);
    previous = id;
  }
}

TEST_CASE("threads draw different IDs") {
  constexpr int per_thread = 1000;
  std::vector<std::vector<std::string>> drawn(4);
  std::vector<std::thread> threads;
  for (auto& ids : drawn)
    threads.emplace_back([&ids] {
      for (int i = 0; i < per_thread; ++i) ids.push_back(new_message_id());
    });
  for (auto& t : threads) t.join();
  std::unordered_set<std::string> all;
  for (const auto& ids : drawn) all.insert(ids.begin(), ids.end());
  CHECK(all.size() == drawn.size() * per_thread);
}

TEST_CASE("a forked child does not repeat its parent's random stream") {
  const auto instant = system_clock::now();
  (void)new_message_id(instant);  // the parent's generator is seeded before the fork
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const auto id = new_message_id(instant);
    const auto written = ::write(pipe_fds[1], id.data(), id.size());
    ::_exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  const auto parent_id = new_message_id(instant);
  std::string child_id(message_id_length, '\0');
  std::size_t got = 0;
  while (got < child_id.size()) {
    const auto n = ::read(pipe_fds[0], child_id.data() + got, child_id.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(got == message_id_length);
  CHECK(WIFEXITED(status));
  CHECK(parent_id != child_id);
}

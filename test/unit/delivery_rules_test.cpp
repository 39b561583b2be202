// The consumer's delivery rules (lib/streams/sansio/delivery.hpp), with no server and no
// io_context: every decision and its error paths.
#include "streams/sansio/delivery.hpp"

#include <doctest/doctest.h>

#include <set>
#include <vector>

using namespace std::chrono_literals;
using namespace streamq::streams;
using namespace streamq::streams::detail;

TEST_CASE("the attempt number is Redis's delivery count, plus a wave-1 envelope's attempts") {
  CHECK(attempt_of(1, 0) == 0);
  CHECK(attempt_of(3, 0) == 2);
  CHECK(attempt_of(0, 0) == 0);  // unknown count: the first delivery
  CHECK(attempt_of(1, 2) == 2);  // a wave-1 retry entry, delivered for the first time
  CHECK(attempt_of(2, 2) == 3);
  CHECK(attempt_of(UINT64_MAX, UINT32_MAX) == UINT32_MAX);  // saturates, never wraps
}

TEST_CASE("before a run: too many deliveries or used-up attempts dead-letter without running") {
  retry_policy policy;
  policy.max_attempts = 5;
  CHECK(before_run(1, 0, 10, policy).what == action::run);
  CHECK(before_run(10, 4, 10, policy).what == action::run);
  auto crash_loop = before_run(11, 4, 10, policy);
  CHECK(crash_loop.what == action::dead_letter);
  CHECK(crash_loop.code == errc::delivery_limit_exceeded);
  auto used_up = before_run(6, 5, 10, policy);
  CHECK(used_up.what == action::dead_letter);
  CHECK(used_up.code == errc::handler_failed);
}

TEST_CASE("backoff doubles from base up to cap, jitter scales it down, never overflows") {
  retry_policy policy;
  policy.base = 100ms;
  policy.cap = 1000ms;
  policy.jitter = 0.5;
  CHECK(backoff(0, policy, 0.0) == 100ms);
  CHECK(backoff(1, policy, 0.0) == 200ms);
  CHECK(backoff(3, policy, 0.0) == 800ms);
  CHECK(backoff(4, policy, 0.0) == 1000ms);
  CHECK(backoff(4, policy, 1.0) == 500ms);
  CHECK(backoff(UINT32_MAX, policy, 0.0) == 1000ms);
  CHECK(backoff(2, policy, 7.0) == 200ms);  // out-of-range randomness is clamped
}

TEST_CASE("after a run: each outcome's decision") {
  retry_policy policy;
  policy.max_attempts = 3;
  policy.base = 10ms;
  policy.cap = 10ms;
  policy.jitter = 0;
  CHECK(after_run(outcome::ack(), 0, policy, 0).what == action::ack);
  auto drop = after_run(outcome::drop("old"), 0, policy, 0);
  CHECK(drop.what == action::drop);
  CHECK(drop.text == "old");
  auto dead = after_run(outcome::dead_letter("bad"), 0, policy, 0);
  CHECK(dead.what == action::dead_letter);
  CHECK(dead.code == errc::rejected_by_handler);
  auto own_code = after_run(outcome::dead_letter("bad", errc::permanent_failure), 0, policy, 0);
  CHECK(own_code.code == errc::permanent_failure);
  auto retry = after_run(outcome::retry(), 0, policy, 0);
  CHECK(retry.what == action::retry);
  CHECK(retry.delay == 10ms);
  CHECK(retry.code == errc::handler_failed);
  auto later = after_run(outcome::retry_after(5s), 1, policy, 0);
  CHECK(later.what == action::retry);
  CHECK(later.delay == 5s);
  CHECK(outcome::retry_after(-5s).delay() == 0ms);
  // The last attempt's failure is a dead letter carrying the failure's code.
  auto exhausted = after_run(outcome::retry("boom", errc::handler_timeout), 2, policy, 0);
  CHECK(exhausted.what == action::dead_letter);
  CHECK(exhausted.code == errc::handler_timeout);
  CHECK(exhausted.text.find("boom") != std::string::npos);
  policy.max_attempts = 1;
  CHECK(after_run(outcome::retry_after(1s), 0, policy, 0).what == action::dead_letter);
}

TEST_CASE("a thrown failure: permanent errors dead-letter, others retry, a zero code is a failure") {
  auto permanent = outcome_of_failure(errc::decode_failed, "poison");
  CHECK(permanent.what() == outcome::kind::dead_letter);
  CHECK(permanent.code() == errc::decode_failed);
  auto transient = outcome_of_failure(boost::system::errc::make_error_code(
                                          boost::system::errc::connection_refused),
                                      "down");
  CHECK(transient.what() == outcome::kind::retry);
  auto zero = outcome_of_failure(error_code{}, "zero");
  CHECK(zero.what() == outcome::kind::retry);
  CHECK(zero.code() == errc::handler_failed);
}

TEST_CASE("one read over several topics never asks for more than the free slots") {
  CHECK(plan_read(0, 128, 3, 0).topics.empty());
  CHECK(plan_read(5, 128, 0, 0).topics.empty());
  for (std::size_t credit = 1; credit <= 40; ++credit)
    for (std::size_t topics = 1; topics <= 7; ++topics)
      for (std::size_t rotation = 0; rotation < 9; ++rotation) {
        CAPTURE(credit);
        CAPTURE(topics);
        const auto plan = plan_read(credit, 16, topics, rotation);
        REQUIRE(!plan.topics.empty());
        CHECK(plan.count >= 1);
        CHECK(plan.count * plan.topics.size() <= std::min<std::size_t>(credit, 16));
        CHECK(plan.topics.front() == rotation % topics);
      }
  // With credit short, topics take turns.
  std::set<std::size_t> read;
  for (std::size_t r = 0; r < 4; ++r) read.insert(plan_read(1, 16, 4, r).topics.front());
  CHECK(read.size() == 4);
  const auto all = plan_read(100, 128, 4, 0);
  CHECK(all.topics.size() == 4);
  CHECK(all.count == 25);
}

TEST_CASE("a topic at its own concurrency limit is not read, and none takes more than its room") {
  using rooms = std::vector<std::size_t>;
  CHECK(plan_read(10, 128, rooms{0, 0, 0}, 0).topics.empty());
  const auto skip_full = plan_read(10, 128, rooms{0, 5, 5}, 0);
  CHECK(skip_full.topics == rooms{1, 2});
  CHECK(skip_full.count == 5);
  // One COUNT for every stream read: the smallest room bounds it.
  const auto small = plan_read(100, 128, rooms{1, 100}, 0);
  CHECK(small.topics == rooms{0, 1});
  CHECK(small.count == 1);
  // Rotation starts past a full topic, and every topic with room gets its turn.
  CHECK(plan_read(10, 128, rooms{3, 0, 3}, 1).topics == rooms{2, 0});
  for (std::size_t credit = 1; credit <= 12; ++credit)
    for (std::size_t a = 0; a <= 4; ++a)
      for (std::size_t b = 0; b <= 4; ++b)
        for (std::size_t rotation = 0; rotation < 3; ++rotation) {
          const rooms room{a, std::min(b, credit), credit};
          CAPTURE(credit);
          CAPTURE(a);
          CAPTURE(b);
          const auto plan = plan_read(credit, 16, room, rotation);
          REQUIRE(!plan.topics.empty());  // the last topic always has room
          CHECK(plan.count >= 1);
          CHECK(plan.count * plan.topics.size() <= std::min<std::size_t>(credit, 16));
          for (auto t : plan.topics) CHECK(plan.count <= room[t]);
        }
}

TEST_CASE("the retry poller sleeps until the next due retry, within the poll interval") {
  CHECK(retry_poll_delay(1000, -1, 500ms) == 500ms);
  CHECK(retry_poll_delay(1000, 1100, 500ms) == 100ms);
  CHECK(retry_poll_delay(1000, 9000, 500ms) == 500ms);
  CHECK(retry_poll_delay(1000, 900, 500ms) == 1ms);  // overdue: at once (at least 1 ms)
}

TEST_CASE("consumer_config refuses durations that would overflow a deadline") {
  auto valid = [] {
    consumer_config cfg;
    cfg.group = "g";
    cfg.name = "c";
    return cfg;
  };
  CHECK_NOTHROW(valid().validate());
  auto huge = std::chrono::milliseconds::max();
  auto with = [&](auto set) {
    auto cfg = valid();
    set(cfg);
    return cfg;
  };
  CHECK_THROWS_AS(with([&](consumer_config& c) { c.block = huge; }).validate(), std::invalid_argument);
  CHECK_THROWS_AS(with([&](consumer_config& c) { c.handler_timeout = huge; }).validate(),
                  std::invalid_argument);
  CHECK_THROWS_AS(with([&](consumer_config& c) { c.shutdown_grace = huge; }).validate(),
                  std::invalid_argument);
  CHECK_THROWS_AS(with([&](consumer_config& c) { c.claim_idle = huge; }).validate(),
                  std::invalid_argument);
  CHECK_THROWS_AS(with([&](consumer_config& c) { c.retry.cap = huge; }).validate(),
                  std::invalid_argument);
  CHECK_THROWS_AS(with([&](consumer_config& c) { c.retry_poll_interval = 0ms; }).validate(),
                  std::invalid_argument);
  CHECK_NOTHROW(with([&](consumer_config& c) { c.handler_timeout = std::chrono::hours(24 * 30); })
                    .validate());
}

#pragma once
// The consumer's delivery rules as pure functions: what to do before running a handler (too
// many deliveries? attempts used up?), what to do with its outcome (ack, retry after which
// delay, dead letter, drop), and how a read's credit is split across topics. No I/O, no Asio:
// unit-tested in test/unit/delivery_rules_test.cpp; consumer_handling.cpp only carries out
// what these decide.

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/outcome.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// The attempt a delivery is: 0 for the first run. Redis counts deliveries per pending entry
// (XREADGROUP, XCLAIM); entries written by wave-1 retries carry the attempts made before they
// were re-added in their envelope's `attempt`, so both add up. `deliveries` 0 (unknown) counts
// as the first delivery.
[[nodiscard]] std::uint32_t attempt_of(std::uint64_t deliveries, std::uint32_t envelope_attempt) noexcept;

enum class action : std::uint8_t {
  run,          // before: run the handler
  ack,          // acknowledge (success)
  retry,        // leave it pending, due again after `delay`
  dead_letter,  // move it to the dead-letter stream with `code` and `text`
  drop,         // acknowledge without a dead letter
};

struct decision {
  action what = action::run;
  std::chrono::milliseconds delay{0};  // retry
  error_code code;                     // dead_letter (and retry: the failure)
  std::string text;                    // dead_letter, retry, drop: for people
};

// Before the handler runs: an entry delivered more than `max_deliveries` times (it keeps
// killing its consumers: each crash is a delivery without an outcome) or whose attempts are
// used up (runs whose failures were never recorded) is dead-lettered without running.
[[nodiscard]] decision before_run(std::uint64_t deliveries, std::uint32_t attempt,
                                  std::uint32_t max_deliveries, const retry_policy& policy);

// The delay before retry number attempt + 1: base * 2^attempt, capped, then scaled into
// [1 - jitter, 1] by `unit_random` in [0, 1).
[[nodiscard]] std::chrono::milliseconds backoff(std::uint32_t attempt, const retry_policy& policy,
                                                double unit_random) noexcept;

// What a handler's failure or outcome means for the entry at attempt `attempt`. A thrown
// error arrives as outcome::retry or outcome::dead_letter through outcome_of_failure().
[[nodiscard]] decision after_run(const outcome& result, std::uint32_t attempt,
                                 const retry_policy& policy, double unit_random);

// A handler's exception (its code and text) as an outcome: permanent errors (is_permanent())
// are dead-lettered at once, anything else is retried. A system_error with a zero code is a
// failure too (errc::handler_failed), never a success.
[[nodiscard]] outcome outcome_of_failure(error_code code, std::string text);

// One XREADGROUP over several streams: COUNT applies to each stream, so reading every topic
// with COUNT c could take topics × c entries. Returns which topics to read (indexes, starting
// at `rotation` % topics, so each gets its turn when credit is short) and the COUNT that keeps
// the total within min(credit, max_batch). Empty when credit is 0.
struct read_plan {
  std::vector<std::size_t> topics;
  std::size_t count = 0;
};
[[nodiscard]] read_plan plan_read(std::size_t credit, std::size_t max_batch, std::size_t topics,
                                  std::size_t rotation);
// The same with a limit per topic (subscription_options::concurrency): `room[t]` is what topic
// t may still take. Topics without room are not read; COUNT also stays within the smallest
// room of the topics read, so no topic takes more than its room.
[[nodiscard]] read_plan plan_read(std::size_t credit, std::size_t max_batch,
                                  std::span<const std::size_t> room, std::size_t rotation);

// How long the retry poller sleeps: until the group's next retry is due (server clock,
// `next_due_ms` < 0: none), at most `poll_interval` (retries scheduled by other consumers,
// which this one hears nothing about), at least 1 ms.
[[nodiscard]] std::chrono::milliseconds retry_poll_delay(std::int64_t now_ms,
                                                         std::int64_t next_due_ms,
                                                         std::chrono::milliseconds poll_interval) noexcept;

}  // namespace streamq::streams::detail

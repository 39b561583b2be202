#include "delivery.hpp"

#include <algorithm>
#include <cmath>

namespace streamq::streams::detail {

std::uint32_t attempt_of(std::uint64_t deliveries, std::uint32_t envelope_attempt) noexcept {
  const std::uint64_t earlier = deliveries > 0 ? deliveries - 1 : 0;
  if (earlier >= UINT32_MAX) return UINT32_MAX;
  const std::uint64_t total = earlier + envelope_attempt;  // both < 2^32: no overflow
  return total > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(total);
}

decision before_run(std::uint64_t deliveries, std::uint32_t attempt, std::uint32_t max_deliveries,
                    const retry_policy& policy) {
  if (deliveries > max_deliveries)
    return {action::dead_letter, {}, errc::delivery_limit_exceeded,
            "delivered " + std::to_string(deliveries) + " times (max_deliveries " +
                std::to_string(max_deliveries) + ") without an outcome"};
  if (attempt >= policy.max_attempts)
    return {action::dead_letter, {}, errc::handler_failed,
            "retries exhausted: attempt " + std::to_string(attempt + 1) + " of at most " +
                std::to_string(policy.max_attempts)};
  return {};
}

std::chrono::milliseconds backoff(std::uint32_t attempt, const retry_policy& policy,
                                  double unit_random) noexcept {
  const double grown =
      static_cast<double>(policy.base.count()) * std::pow(2.0, std::min(attempt, 62U));
  const double capped = std::min(grown, static_cast<double>(policy.cap.count()));
  const double r = std::clamp(unit_random, 0.0, 1.0);
  const double scaled = capped * (1.0 - policy.jitter * r);
  return std::chrono::milliseconds(static_cast<std::int64_t>(scaled));
}

outcome outcome_of_failure(error_code code, std::string text) {
  if (!code) code = errc::handler_failed;  // a zero code thrown is still a failure
  if (is_permanent(code)) return outcome::dead_letter(std::move(text), code);
  return outcome::retry(std::move(text), code);
}

decision after_run(const outcome& result, std::uint32_t attempt, const retry_policy& policy,
                   double unit_random) {
  switch (result.what()) {
    case outcome::kind::ack:
      return {action::ack, {}, {}, {}};
    case outcome::kind::drop:
      return {action::drop, {}, {}, result.reason()};
    case outcome::kind::dead_letter:
      return {action::dead_letter, {},
              result.code() ? result.code() : error_code(errc::rejected_by_handler),
              result.reason()};
    case outcome::kind::retry:
      break;
  }
  const error_code failure = result.code() ? result.code() : error_code(errc::handler_failed);
  if (attempt + 1 >= policy.max_attempts)
    return {action::dead_letter, {}, failure,
            "retries exhausted after " + std::to_string(attempt + 1) + " attempts: " +
                result.reason()};
  const auto delay = result.delay() ? *result.delay() : backoff(attempt, policy, unit_random);
  return {action::retry, delay, failure, result.reason()};
}

read_plan plan_read(std::size_t credit, std::size_t max_batch, std::size_t topics,
                    std::size_t rotation) {
  const std::vector<std::size_t> room(topics, credit);
  return plan_read(credit, max_batch, room, rotation);
}

read_plan plan_read(std::size_t credit, std::size_t max_batch, std::span<const std::size_t> room,
                    std::size_t rotation) {
  read_plan plan;
  const std::size_t budget = std::min(credit, max_batch);
  const std::size_t topics = room.size();
  if (budget == 0 || topics == 0) return plan;
  // Topics with room, in turn from `rotation`, as many as the budget gives one entry each.
  std::size_t smallest = budget;
  for (std::size_t i = 0; i < topics && plan.topics.size() < budget; ++i) {
    const std::size_t t = (rotation + i) % topics;
    if (room[t] == 0) continue;
    plan.topics.push_back(t);
    smallest = std::min(smallest, room[t]);
  }
  if (plan.topics.empty()) return plan;
  plan.count = std::min(budget / plan.topics.size(), smallest);  // read × count ≤ budget
  return plan;
}

std::chrono::milliseconds retry_poll_delay(std::int64_t now_ms, std::int64_t next_due_ms,
                                           std::chrono::milliseconds poll_interval) noexcept {
  std::chrono::milliseconds delay = poll_interval;
  if (next_due_ms >= 0) delay = std::min(delay, std::chrono::milliseconds(next_due_ms - now_ms));
  return std::max(delay, std::chrono::milliseconds(1));
}

}  // namespace streamq::streams::detail

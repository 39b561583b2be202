#pragma once
// What a handler tells the consumer to do with its message, instead of (or as well as)
// throwing.
//
//   c.subscribe<shop::Order>("orders", [](const shop::Order& o, message_context& ctx)
//       -> asio::awaitable<streamq::streams::outcome> {
//     if (!o.has_customer()) co_return outcome::dead_letter("order without a customer");
//     if (inventory_busy()) co_return outcome::retry_after(std::chrono::seconds(5));
//     co_return outcome::ack();
//   });
//
// A handler returning awaitable<void> acknowledges when it returns; throwing means
// outcome::retry() for ordinary errors and a dead letter for permanent ones (is_permanent()).

#include <streamq/streams/error.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace streamq::streams {

class outcome {
 public:
  enum class kind : std::uint8_t {
    ack,          // handled: acknowledge
    retry,        // run it again later (counts as a failed attempt)
    dead_letter,  // give up: move it to the group's dead-letter stream
    drop,         // give up quietly: acknowledge without running again and without a dead letter
  };

  // Handled: the entry is acknowledged.
  static outcome ack() { return outcome(kind::ack); }
  // Failed; retried after the retry policy's backoff, or dead-lettered once
  // retry_policy::max_attempts runs are used up. `reason` ends up in the log and, if it comes
  // to that, in the dead letter.
  static outcome retry(std::string reason = "handler asked for a retry") {
    outcome o(kind::retry);
    o.reason_ = std::move(reason);
    return o;
  }
  // As retry(), recording why in a code: the dead letter carries it if retries run out
  // (errc::handler_failed when none is given).
  static outcome retry(std::string reason, error_code code) {
    outcome o = retry(std::move(reason));
    o.code_ = code;
    return o;
  }
  // As retry(), but after `delay` instead of the policy's backoff (still counted against
  // max_attempts). A negative delay counts as zero.
  static outcome retry_after(std::chrono::milliseconds delay,
                             std::string reason = "handler asked for a retry") {
    outcome o = retry(std::move(reason));
    o.delay_ = delay < std::chrono::milliseconds::zero() ? std::chrono::milliseconds::zero() : delay;
    return o;
  }
  // Gives up at once: the message goes to the dead-letter stream with `reason` and `code`
  // (errc::rejected_by_handler unless given; an application's own category is kept as is).
  static outcome dead_letter(std::string reason, error_code code = errc::rejected_by_handler) {
    outcome o(kind::dead_letter);
    o.reason_ = std::move(reason);
    o.code_ = code;
    return o;
  }
  // Gives up quietly: acknowledged, not retried, no dead letter (e.g. a message made obsolete
  // by a later one). Counted in consumer_stats::dropped and logged at debug level.
  static outcome drop(std::string reason = "dropped by the handler") {
    outcome o(kind::drop);
    o.reason_ = std::move(reason);
    return o;
  }

  [[nodiscard]] kind what() const noexcept { return kind_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
  [[nodiscard]] const error_code& code() const noexcept { return code_; }
  // retry_after's delay; nullopt: the retry policy decides.
  [[nodiscard]] const std::optional<std::chrono::milliseconds>& delay() const noexcept {
    return delay_;
  }

 private:
  explicit outcome(kind k) : kind_(k) {}
  kind kind_;
  std::string reason_;
  error_code code_;
  std::optional<std::chrono::milliseconds> delay_;
};

}  // namespace streamq::streams

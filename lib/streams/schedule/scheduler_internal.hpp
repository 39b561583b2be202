#pragma once
// Helpers that scheduler.cpp, scheduler_impl.cpp and recurring.cpp share.

#include <streamq/redis/error.hpp>
#include <streamq/streams/scheduler.hpp>

#include "commands/recurring_requests.hpp"
#include "commands/send_command.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace streamq::streams::detail {

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

[[noreturn]] inline void fail(error_code ec, const std::string& what = {}) {
  throw boost::system::system_error(ec, what);
}

// A lost reply after writing means "maybe done", which the caller must know.
inline error_code publish_error(error_code ec) {
  if (ec == redis::client_errc::outcome_unknown) return errc::publish_indeterminate;
  return ec;
}

// Throws a failed send's error: the transport's, with `doing` as its text, or the server's
// refusal or a malformed reply, with the diagnostic.
inline void check(const send_result& result, const char* doing) {
  if (result.transport) fail(result.transport, doing);
  if (!result.reply) fail(result.reply.ec, result.reply.diagnostic);
}

inline std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The recurring tasks of a topic from the fields of its recurring hash
// (decode_recurring_tasks). Tasks whose fields are incomplete (being removed) are left out; so
// are those whose template is not an envelope, with their name and spec added to `unreadable`
// when given.
std::vector<recurring_task> parse_recurring(
    const hash_fields& hash,
    std::vector<std::pair<std::string, std::string>>* unreadable = nullptr);

}  // namespace streamq::streams::detail

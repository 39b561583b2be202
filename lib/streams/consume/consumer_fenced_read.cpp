// A partition's read under its lease. A plain XREADGROUP cannot check a lease: one that a member
// wrote just before it was paused past its lease arrives after a successor took the partition,
// and delivers entries into the paused member's pending list that the successor never sees,
// so the successor runs a key's later entries before an earlier one. So a partition's entries
// are read by read_fenced-2.lua, which checks the lease's owner and epoch in the same step;
// scripts cannot block, so when nothing is new the reader waits with an XREAD that delivers
// nothing (no group), from the tip the script returned, and reads under the lease again.
#include "consume/consumer_impl.hpp"

#include "commands/consumer_requests.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/resp/request.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <string>
#include <string_view>

namespace streamq::streams::detail {
namespace asio = boost::asio;

asio::awaitable<error_code> consumer_impl::read_fenced(redis::connection& conn, std::size_t sub,
                                                       std::size_t count,
                                                       stream_read_reply& reply) {
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  const subscription& s = subs_[sub];
  const std::array<std::string_view, 1> stream{s.keys.stream()};
  resp::request req;
  reply.accept_fenced_read(true);
  // By SHA, then by source once if the server does not know the script (NOSCRIPT: nothing ran).
  for (const bool by_source : {false, true}) {
    req.clear();
    build_read_fenced(req, by_source, stream[0], config_.group, config_.name, count, *s.fence);
    // The blocking connection has no health check: a reply overdue by far means a half-open
    // connection (read_loop drops it).
    auto [ec] = co_await with_deadline(conn.async_exec(req, reply, use_tuple),
                                       config_.block + read_reply_margin);
    if (ec || reply.error() != resp::server_errc::noscript) {
      reply.accept_fenced_read(false);
      if (ec) co_return ec;
      break;
    }
  }
  if (reply.fenced()) {
    // Another member holds the partition now: nothing more is read or started here (the
    // member's next heartbeat stops this consumer); what was read stays for the holder.
    if (!lease_taken_) lease_lost(sub, "reading new entries");
    lease_taken_ = true;
    co_return error_code{};
  }
  if (reply.error() || reply.tip().empty() || stop_reading_) co_return error_code{};
  // Nothing new: wait for an entry after the tip. The entry it returns is not taken (no group
  // read it); the next read_fenced takes it under the lease.
  const std::array<std::string, 1> tip{reply.tip()};
  req.clear();
  build_wait_new(req, config_.block, stream, tip);
  auto [ec] = co_await with_deadline(conn.async_exec(req, reply, use_tuple),
                                     config_.block + read_reply_margin);
  for (auto& entry : reply.entries()) spare_entries_.push_back(std::move(entry));
  reply.entries().clear();
  co_return ec;
}

}  // namespace streamq::streams::detail

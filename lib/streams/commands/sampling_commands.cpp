#include "commands/sampling_commands.hpp"

#include "commands/send_command.hpp"
#include "sansio/lag.hpp"

#include <algorithm>
#include <utility>

namespace streamq::streams::detail {

boost::asio::awaitable<group_lag> measure_group_lag(client& c, std::string stream,
                                                    stream_summary summary,
                                                    group_position group, std::uint64_t page,
                                                    std::uint64_t limit) {
  const auto plan = plan_lag(summary, group);
  if (plan.known) co_return group_lag{*plan.known, false};
  page = std::max<std::uint64_t>(page, 1);
  std::string after = plan.count_after;
  std::uint64_t counted = 0;
  bool complete = false;
  while (!complete && counted < limit) {
    const std::uint64_t want = std::min(page, limit - counted);
    range_page got;
    const auto sent = co_await send_command(
        c, [&](resp::request& req) { build_entries_after(req, stream, after, want); },
        [&](const resp::value& v) { return decode_entries_after(v, got); });
    if (!sent) throw_failure(sent);
    counted += got.entries;
    complete = got.entries < want;
    after = std::move(got.last_id);
  }
  co_return group_lag{counted_lag(summary, group, counted, complete, limit), !complete};
}

}  // namespace streamq::streams::detail

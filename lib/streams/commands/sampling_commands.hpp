#pragma once
// A consumer group's lag with streamq's rules (sansio/lag.hpp) sent: what the metrics sampler
// and the admin library's topic summaries both compute from a topic sample
// (sampling_requests.hpp). Throws boost::system::system_error for a failed XRANGE.

#include <streamq/client.hpp>

#include "sampling_requests.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>

namespace streamq::streams::detail {

struct group_lag {
  std::uint64_t lag = 0;
  // The entries after the group's position went past `limit`: `lag` is a lower bound
  // (sansio/lag.hpp, rule 4), not a count.
  bool lower_bound = false;
};

// The lag of `group` on `stream`: known from the sample alone, or counted in XRANGE pages of
// `page` entries (1 or more) up to `limit`.
boost::asio::awaitable<group_lag> measure_group_lag(client& c, std::string stream,
                                                    stream_summary summary,
                                                    group_position group, std::uint64_t page,
                                                    std::uint64_t limit);

}  // namespace streamq::streams::detail

#pragma once
// What every connection of one endpoint shares: the configuration, the routes with their
// handlers, the counters and the stopping flag. Owned by endpoint_impl; connections hold a
// reference, and endpoint_impl::run() awaits them all before it returns.

#include "rules.hpp"

#include <streamq/http/endpoint.hpp>

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

namespace streamq::http::detail {

struct endpoint_counters {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> requests_served{0};
  std::atomic<std::uint64_t> responses_4xx{0};
  std::atomic<std::uint64_t> responses_5xx{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> open_connections{0};

  void count_response(unsigned status) noexcept {
    requests_served.fetch_add(1, std::memory_order_relaxed);
    if (status / 100 == 4) responses_4xx.fetch_add(1, std::memory_order_relaxed);
    if (status / 100 == 5) responses_5xx.fetch_add(1, std::memory_order_relaxed);
  }
};

struct service {
  endpoint_config config;
  route_table routes;
  std::vector<handler> handlers;  // by route index
  endpoint_counters counters;
  bool stopping = false;  // on the executor: set when run() starts closing connections

  // One debug record per connection problem (refusals, timeouts, client errors): a hostile
  // client cannot fill the log above debug.
  void log_problem(std::string_view event, std::string_view why, std::string_view remote,
                   unsigned status) const noexcept;
};

}  // namespace streamq::http::detail

#pragma once
// `streamq tail TOPIC`: prints the messages added to a topic as they arrive (XREAD BLOCK on a
// dedicated connection, never through a consumer group, so no group sees a difference), until
// --count messages, SIGINT or SIGTERM. --timeout-ms bounds connecting only (deadline_scope).

#include "cli_state.hpp"

#include <streamq/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>

namespace streamq::cli {

struct tail_request {
  std::string topic;
  std::string from;         // start at this entry ID, inclusive; empty: only what comes next
  std::uint64_t count = 0;  // stop after this many messages; 0: until stopped
};

boost::asio::awaitable<void> run_tail(client& c, const cli_state& state, tail_request request);

}  // namespace streamq::cli

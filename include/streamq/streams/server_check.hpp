#pragma once
// Start-up checks of the Redis server a queue runs on.

#include <streamq/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace streamq::streams {

struct eviction_policy_check {
  // The server's maxmemory-policy, or nullopt when the user may read neither CONFIG GET
  // nor INFO (least-privilege ACL users often cannot).
  std::optional<std::string> policy;
  // True when keys of a queue may be evicted: any policy but noeviction.
  [[nodiscard]] bool unsafe() const noexcept { return policy && *policy != "noeviction"; }
};

// Reads maxmemory-policy from INFO memory, falling back to CONFIG GET when INFO does not tell
// (a least-privilege user may run INFO; CONFIG GET, which can reveal secrets, should stay
// denied). Throws boost::system::system_error on transport errors only.
boost::asio::awaitable<eviction_policy_check> check_eviction_policy(client& c);

}  // namespace streamq::streams

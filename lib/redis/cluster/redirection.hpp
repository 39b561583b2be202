#pragma once
// MOVED and ASK redirections, typed. This is the one place that reads their text; everything
// else branches on resp::server_errc::moved / ::ask and then on the redirection parsed here.

#include "topology.hpp"

#include <cstdint>
#include <string_view>
#include <system_error>

namespace streamq::redis::cluster {

enum class redirect_kind : std::uint8_t {
  moved,  // the slot lives elsewhere for good: update the slot map, resend there
  ask,    // the slot is being migrated: send ASKING then the command to the target, once
};

struct redirection {
  redirect_kind kind = redirect_kind::moved;
  std::uint16_t slot = 0;
  node_address target;
  // false when the server named no endpoint it knows ("?:6381", a node configured to announce
  // a hostname it does not have): `target.port` is set, `target.host` is empty, and only a
  // fresh topology can tell where the slot went.
  bool known = true;

  friend bool operator==(const redirection&, const redirection&) = default;
};

// Parses the text of a MOVED or ASK error reply, e.g. "MOVED 3999 127.0.0.1:6381" or
// "ASK 3999 ::1:6381" (Redis writes IPv6 addresses without brackets; "[::1]:6381" is accepted
// too). `origin_host` is the host of the node that replied: an empty endpoint (":6381", sent
// by nodes whose preferred endpoint type is unknown-endpoint) means that host.
// Fails with cluster_errc::malformed_redirection for any other text, leaving `out` as it was.
[[nodiscard]] std::error_code parse_redirection(std::string_view message,
                                                std::string_view origin_host, redirection& out);

}  // namespace streamq::redis::cluster

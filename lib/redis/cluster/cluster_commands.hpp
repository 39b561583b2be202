#pragma once
// The commands the cluster router sends besides the topology ones, built and decoded here as
// pure functions: the cluster-mode probe (INFO cluster), a request prefixed with ASKING (for
// an ASK redirection), and whether a request is one MULTI ... EXEC transaction (which decides
// whether a redirected request ran nothing and may be resent).

#include <streamq/resp/request.hpp>

#include <optional>
#include <string_view>

namespace streamq::redis::cluster {

// INFO cluster: its reply is a bulk string of "field:value" lines.
void build_info_cluster(resp::request& req);
// The cluster_enabled field of an INFO reply: true for 1, false for 0; nullopt when the text
// has no such field (not an INFO reply, or a server from before Redis Cluster).
[[nodiscard]] std::optional<bool> decode_cluster_enabled(std::string_view info) noexcept;

// `out` becomes ASKING followed by every command of `req`, in order: the one-off redirection
// of an ASK (the server honours ASKING for the next command only, or for a whole MULTI ...
// EXEC when it comes right before MULTI). False, leaving `out` empty, when `req` holds
// anything but the arrays of bulk strings resp::request writes.
[[nodiscard]] bool prefix_asking(const resp::request& req, resp::request& out);

// True when `req` is exactly one transaction: its first command is MULTI, its last EXEC, and
// no other MULTI, EXEC or DISCARD comes between (command names compared case-insensitively).
// Then an EXECABORT reply to the EXEC means none of its commands ran.
[[nodiscard]] bool is_single_transaction(const resp::request& req) noexcept;

}  // namespace streamq::redis::cluster

#pragma once
// Redis Sentinel, the pure half: the commands a sentinel-mode connection sends (built here),
// their replies and the +switch-master message (decoded here), and the small rules that
// sentinel_link.hpp's coroutines and the connection follow. No Asio, no sockets: every
// function is tested without a server (test/unit/sentinel_test.cpp).
//
// Reply shapes (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/,
// https://redis.io/commands/role/), the same under RESP2 and RESP3:
//   SENTINEL GET-MASTER-ADDR-BY-NAME <name>  ->  [ip, port]  (port as a bulk string), or null
//                                                when the sentinel monitors no such master
//   ROLE  ->  ["master", offset, [[ip, port, offset], ...]]
//             ["slave", master-ip, master-port, state, offset]
//             ["sentinel", [master-name, ...]]
//   +switch-master message  ->  "<name> <old-ip> <old-port> <new-ip> <new-port>"

#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/node.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::redis::sentinel {

// Where the sentinels say the master is. `host` as the sentinel wrote it (an IP address
// unless the sentinels resolve or announce host names).
struct master_address {
  std::string host;
  std::uint16_t port = 0;

  friend bool operator==(const master_address&, const master_address&) = default;
};

// "host:port", an IPv6 address in brackets: for diagnostics.
[[nodiscard]] std::string to_string(const master_address& a);

// ---- asking a sentinel for the master ----------------------------------------------------

void build_get_master_addr(resp::request& req, std::string_view master_name);

enum class addr_status : std::uint8_t {
  ok,
  unknown_master,  // a null reply: this sentinel monitors no master by that name
  error_reply,     // NOAUTH, NOPERM, or ERR from a node that is not a sentinel
  malformed,       // any other shape, or a port that is not 1..65535
};

// Decodes a GET-MASTER-ADDR-BY-NAME reply into `out` (left as it was unless ok).
[[nodiscard]] addr_status decode_master_addr(const resp::value& reply, master_address& out);

// ---- checking the node's role ------------------------------------------------------------

void build_role(resp::request& req);

enum class node_role : std::uint8_t { master, replica, sentinel, unknown };

// The first element of a ROLE reply; unknown for an error reply or any other shape.
[[nodiscard]] node_role decode_role(const resp::value& reply) noexcept;

// What a connection does with a node after the handshake, given its ROLE reply:
// - a master: {} (use it);
// - a replica or a sentinel, or a reply of no known shape: client_errc::not_master (drop it,
//   ask the sentinels again after the reconnect backoff);
// - ROLE refused with NOPERM (an ACL user without @admin): {} (use it unchecked; a READONLY
//   reply would still end the session, see is_demotion);
// - any other error reply (LOADING, ...): its resp::server_errc, so the connect fails and is
//   retried as any failed connect is.
[[nodiscard]] error_code role_verdict(const resp::value& reply);

// ---- following the master ----------------------------------------------------------------

inline constexpr std::string_view switch_master_channel = "+switch-master";

// SUBSCRIBE +switch-master. Under RESP3 it is answered by push messages only.
void build_subscribe_switch_master(resp::request& req);

struct switch_master {
  std::string master_name;
  master_address from;
  master_address to;

  friend bool operator==(const switch_master&, const switch_master&) = default;
};

// Parses the text of a +switch-master message; nullopt unless it is exactly five words
// separated by single spaces with ports 1..65535.
[[nodiscard]] std::optional<switch_master> parse_switch_master(std::string_view text);

// A RESP3 push ["message", "+switch-master", <text>]: the switch it announces. nullopt for
// every other push (the subscribe confirmation, other channels, pattern messages) and for
// malformed text.
[[nodiscard]] std::optional<switch_master> switch_master_of(const resp::value& push);

// Whether a connection to `current` (nullopt: none chosen yet) of master `master_name` must
// give up its node because the sentinels now name `named` for that master: true when a node
// was chosen and `named` is another address.
[[nodiscard]] bool must_move(const std::optional<master_address>& current,
                             const master_address& named) noexcept;

// A reply that shows the node stopped being a master under a live session: a top-level
// READONLY error (a write sent to what is now a replica).
[[nodiscard]] bool is_demotion(const resp::node& n) noexcept;

// The sentinel at `answered` named the master: it moves to the front of `order`, the others
// keep their relative order (so it is asked first next time). Out of range: no change.
void prefer(std::vector<seed_address>& order, std::size_t answered);

// The configuration of a connection to one sentinel, derived from the data connection's:
// the sentinel's address, sentinel.username/password, TLS when sentinel.tls (with tls's files,
// verified against the sentinel's host), RESP3 (pushes), database 0, no sentinel or cluster
// mode, no reconnect (each link is one attempt: the caller moves on to the next sentinel),
// connect_timeout = sentinel.timeout, client_name "<client_name>-sentinel". `subscriber`: a
// health check (the data connection's interval, 2 s when it has none) so that a sentinel that
// hangs is noticed; otherwise none.
[[nodiscard]] connection_config link_config(const connection_config& data,
                                            const seed_address& sentinel, bool subscriber);

}  // namespace streamq::redis::sentinel

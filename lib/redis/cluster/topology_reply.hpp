#pragma once
// The topology commands as pure functions: build_* appends the command to a request, decode_*
// turns its reply (a resp::value tree, RESP2 or RESP3) into shards for slot_map::assign().
//
// Every decoder
// - empties its output first and leaves it empty unless it succeeds;
// - turns a top-level error reply into its resp::server_errc, with the server's text in
//   `diagnostic` (a server without cluster support answers ERR);
// - turns any other shape than the documented one into cluster_errc::malformed_topology, with
//   what was wrong and where in `diagnostic`; ignores fields it does not know (newer servers
//   add some: Valkey's shard "id", for one).
// Replies come from resp::value_builder, whose memory follows the bytes received; no decoder
// reserves by a count the server announced.
//
// Endpoints (https://redis.io/commands/cluster-shards/, .../cluster-slots/): a node's
// preferred endpoint is what the client connects to, with these exceptions:
// - NULL or "": the node did not say; connect to the host the reply came from (origin.host)
//   with the port given.
// - "?": the node is set to announce a hostname it does not have; the docs say to treat it as
//   an unknown node, not as the origin. The node's announced hostname, else its IP address
//   (CLUSTER SHARDS always sends "ip"; CLUSTER SLOTS sends it in the metadata map when the
//   preferred type is not ip) is used instead; with neither, the node is marked unknown.

#include "topology.hpp"

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace streamq::redis::cluster {

// Where a topology reply came from: what the client needs to resolve endpoints the server
// left to it.
struct reply_origin {
  std::string_view host;  // the host the client connected to, to send the command
  bool tls = false;       // the client connects with TLS: prefer CLUSTER SHARDS' tls-port
};

struct decode_result {
  std::error_code ec;
  std::string diagnostic;  // the server's error text, or what was malformed and where
  explicit operator bool() const noexcept { return !ec; }
};

// CLUSTER SHARDS (Redis 7.0+, Valkey): one shard per entry, each a map (RESP3) or a flat
// key/value array (RESP2) of "slots" (flat start/end pairs) and "nodes" (maps of id, port,
// tls-port, ip, endpoint, hostname, role, replication-offset, health).
void build_cluster_shards(resp::request& req);
// A shard's master is its node with role master that is online; failing that, its first node
// with role master (a failed master whose replica is not yet promoted). Other masters listed
// in the same shard (a failed one after its replica took over) are dropped. A shard with no
// master at all is dropped: its slots are left uncovered. port: `tls-port` when origin.tls,
// else `port`; the other when only one is present.
[[nodiscard]] decode_result decode_cluster_shards(const resp::value& reply,
                                                  const reply_origin& origin,
                                                  std::vector<shard>& out);

// CLUSTER SLOTS (every cluster server; deprecated since 7.0): one entry per slot range, each
// [start, end, master, replica...], each node [endpoint, port, id?, metadata?]. Ranges of the
// same master (same id, or same address when ids are missing) form one shard. The reply does
// not tell health: every node's is node_health::unknown (failed masters stay listed; failed
// replicas are left out).
void build_cluster_slots(resp::request& req);
[[nodiscard]] decode_result decode_cluster_slots(const resp::value& reply,
                                                 const reply_origin& origin,
                                                 std::vector<shard>& out);

}  // namespace streamq::redis::cluster

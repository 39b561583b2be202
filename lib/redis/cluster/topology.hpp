#pragma once
// What a Redis Cluster looks like to a client, as plain data: shards (a master, its replicas,
// the slots they serve) and the slot map that routing reads. Pure: no Asio, no sockets. The
// decoders that build shards from CLUSTER SHARDS / CLUSTER SLOTS replies are in
// topology_reply.hpp; the MOVED/ASK parser is in redirection.hpp.
//
// Addresses are compared as text: "127.0.0.1" and "localhost" are different nodes here.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace streamq::redis::cluster {

inline constexpr std::size_t slot_count = 16384;

// Errors of the cluster topology code. Each says what was wrong with what a server sent; the
// remedy is the same for both: ask another node (or the same one later) for the topology.
enum class cluster_errc {
  // A CLUSTER SHARDS or CLUSTER SLOTS reply is not of the documented shape, or contradicts
  // itself: a slot outside 0..16383, a range ending before it starts, a slot claimed by two
  // shards, a node without id, role or port.
  malformed_topology = 1,
  // The text of a MOVED or ASK error is not "<MOVED|ASK> <slot> <endpoint>:<port>".
  malformed_redirection,
};

const std::error_category& cluster_category() noexcept;

inline std::error_code make_error_code(cluster_errc e) noexcept {
  return {static_cast<int>(e), cluster_category()};
}

// Where a node listens. `host` is a host name or an IP address without brackets ("::1").
struct node_address {
  std::string host;
  std::uint16_t port = 0;

  friend bool operator==(const node_address&, const node_address&) = default;
};

// "host:port", with an IPv6 address in brackets ("[::1]:6379"): for logs and diagnostics.
[[nodiscard]] std::string to_string(const node_address& a);

enum class node_role : std::uint8_t { master, replica };

// CLUSTER SHARDS' health field. `unknown` for nodes learned from CLUSTER SLOTS (which lists
// failed masters without saying so) or from a MOVED redirection, and for values newer servers
// may add.
enum class node_health : std::uint8_t { online, loading, failed, unknown };

struct node {
  std::string id;  // 40 hex characters; empty when the source did not say (MOVED, old servers)
  // known == false: the server could not tell where the node is (its endpoint was "?" and no
  // hostname or IP came with it); `address` is then meaningless and the node cannot be reached
  // until a later topology says more.
  node_address address;
  bool known = true;
  node_role role = node_role::master;
  node_health health = node_health::unknown;
  std::int64_t replication_offset = -1;  // -1: not reported

  friend bool operator==(const node&, const node&) = default;
};

// Inclusive, first <= last < slot_count.
struct slot_range {
  std::uint16_t first = 0;
  std::uint16_t last = 0;

  friend bool operator==(const slot_range&, const slot_range&) = default;
};

struct shard {
  node master;
  std::vector<node> replicas;     // in a slot_map: sorted by address
  std::vector<slot_range> slots;  // in a slot_map: ascending, neither overlapping nor adjacent

  friend bool operator==(const shard&, const shard&) = default;
};

// Which shard serves each of the 16384 slots. Not thread-safe: one owner (the router) reads
// and updates it.
class slot_map {
 public:
  slot_map();

  // Replaces the whole map with `shards` (from a decoder, or built by hand), normalised so that
  // one topology has one form whatever order a server listed it in: ranges sorted with
  // adjacent ones merged, replicas sorted by address, shards by first slot (shards without
  // slots last). Fails with malformed_topology, leaving the map unchanged, when a range is
  // out of 0..16383 or ends before it starts, or a slot is claimed twice. version() grows when
  // anything but replication offsets (which move with every write) changed.
  std::error_code assign(std::vector<shard> shards);

  // The shard serving `slot`, or nullptr when no shard does (a slot not covered, or slot >=
  // slot_count). The pointer is valid until the next assign() or apply_moved().
  [[nodiscard]] const shard* owner(std::uint16_t slot) const noexcept;

  // A MOVED redirection: `slot` is now served by the master at `target`. The slot moves to
  // the shard whose master listens there or, if there is none, to a new shard made of that
  // master alone (id and replicas unknown until the next full topology). Returns true and
  // grows version() when the map changed.
  bool apply_moved(std::uint16_t slot, const node_address& target);

  // The shard whose master listens at `address`, or nullptr.
  [[nodiscard]] const shard* find_master(const node_address& address) const noexcept;

  [[nodiscard]] const std::vector<shard>& shards() const noexcept { return shards_; }
  // Slots some shard serves; slot_count when the map is complete.
  [[nodiscard]] std::size_t covered_slots() const noexcept { return covered_; }
  // Grows by one on every change (see assign(); apply_moved() that moved a slot), from 0 for
  // an empty map: a router remembers the version it routed with and refreshes only if nobody
  // has since.
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }

 private:
  static constexpr std::uint16_t no_shard = 0xffff;
  // Rebuilds every shard's ranges from owner_ (after apply_moved changed one slot).
  void rebuild_ranges();

  std::vector<shard> shards_;
  std::array<std::uint16_t, slot_count> owner_;  // index into shards_, or no_shard
  std::size_t covered_ = 0;
  std::uint64_t version_ = 0;
};

}  // namespace streamq::redis::cluster

template <>
struct std::is_error_code_enum<streamq::redis::cluster::cluster_errc> : std::true_type {};

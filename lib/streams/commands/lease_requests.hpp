#pragma once
// Partition ownership within a consumer group (partitioned_consumer.hpp) as pure functions with
// no Asio: each build_* appends one script call (`by_source` picks EVALSHA or EVAL), each
// decode_* reads its reply by the rules delivery_requests.hpp states for every decoder.
//
// Keys (docs/wire-format.md, section 12):
//  - a partition's lease, in the partition's own slot so that a later script acknowledging
//    that partition's entries can check it: topic_keys(T#n).lease(group), a hash with
//    `owner`, `epoch` (only ever grows: the fencing token) and `until` (server ms);
//  - the group's live members, under the partitioned topic's tag: topic_keys(T).members(group),
//    a sorted set of consumer names scored by when their membership expires (server ms).
//  - the read gate of epoch E: lease_read_gate(lease key, E), an empty stream holding the
//    group, which exists only while epoch E holds the lease; the holder names it in every
//    XREADGROUP of the partition, so a read that reaches Redis after a later grant fails.

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include "delivery_requests.hpp"  // command_result

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// What a lease script answered.
struct lease_state {
  std::uint64_t epoch = 0;  // the epoch held now; 0: not held by the caller
  std::int64_t until_ms = 0;  // when the lease expires (server ms): the caller's, or the holder's
  std::string owner;          // who holds it now ("" when nobody)

  friend bool operator==(const lease_state&, const lease_state&) = default;
};

// lease_acquire-1.lua: takes or keeps the lease of one partition for `owner` for `ttl`.
//  - `epoch` 0 (taking it): granted when nobody holds it, its holder's lease expired, or
//    `owner` holds it already (a restarted member under the same name: the old incarnation
//    must be fenced too); each grant increments the epoch.
//  - `epoch` > 0 (renewing it): granted only while `owner` holds it with that epoch and it
//    has not expired; the epoch stays.
// A grant deletes the previous epoch's read gate and creates its own with `group`; a renewal
// creates its gate again if it is missing.
// Reply: {epoch (0: refused), until ms, owner now}.
void build_lease_acquire(resp::request& req, bool by_source, const std::string& lease_key,
                         const std::string& owner, std::chrono::milliseconds ttl,
                         std::uint64_t epoch, const std::string& group);
[[nodiscard]] command_result decode_lease_acquire(const resp::value& reply, lease_state& out);

// lease_release-1.lua: gives the lease up if `owner` holds it with `epoch` (the epoch stays,
// so the next holder's is higher) and deletes that epoch's read gate. Reply: 1 released, 0 not
// held so.
void build_lease_release(resp::request& req, bool by_source, const std::string& lease_key,
                         const std::string& owner, std::uint64_t epoch);
[[nodiscard]] command_result decode_lease_release(const resp::value& reply, bool& released);

// The read gate of the lease `lease_key` at `epoch`: "<lease_key>:gate:<epoch>" (the lease's
// hash tag, so its slot).
[[nodiscard]] std::string lease_read_gate(const std::string& lease_key, std::uint64_t epoch);

// EXISTS <gate> for each of `gates`, in one pipeline (one command per gate: gates of several
// slots may share a node). Replies: one integer each.
void build_read_gates_open(resp::request& req, std::span<const std::string> gates);
// The replies of build_read_gates_open for `gates` gates: `open[i]` whether the i-th exists
// (empty when any reply is refused or malformed).
[[nodiscard]] command_result decode_read_gates_open(std::span<const resp::value> replies,
                                                    std::size_t gates, std::vector<bool>& open);

// members_heartbeat-1.lua: records `member` as alive for `ttl` (ZADD with now + ttl), drops
// the members whose time ran out, and returns the live members' names sorted by name. With
// `leaving`, removes `member` instead (and still returns the others).
// Reply: an array of names.
void build_members_heartbeat(resp::request& req, bool by_source, const std::string& members_key,
                             const std::string& member, std::chrono::milliseconds ttl,
                             bool leaving);
[[nodiscard]] command_result decode_members_heartbeat(const resp::value& reply,
                                                      std::vector<std::string>& members);

// HMGET <lease> owner epoch until: a partition's lease as it is, for inspection.
// Reply: the three values; nil ones read as "", 0 and 0.
void build_lease_read(resp::request& req, const std::string& lease_key);
[[nodiscard]] command_result decode_lease_read(const resp::value& reply, lease_state& out);

// ZRANGE <members> 0 -1 WITHSCORES: the group's members with the server time (ms) at which
// each membership expires, as the last heartbeat left them (expired ones are dropped by the
// next heartbeat). Reply: RESP3 pairs [name, score] or RESP2 name, score, name, score...
struct member_entry {
  std::string name;
  std::int64_t expires_ms = 0;

  friend bool operator==(const member_entry&, const member_entry&) = default;
};
void build_members_read(resp::request& req, const std::string& members_key);
[[nodiscard]] command_result decode_members_read(const resp::value& reply,
                                                 std::vector<member_entry>& members);

}  // namespace streamq::streams::detail

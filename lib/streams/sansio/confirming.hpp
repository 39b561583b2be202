#pragma once
// durable_publisher's rules for confirming a part of a group on one master's connection: which
// command confirms it (WAIT or WAITAOF), when the master must be asked first whether it can
// confirm fsyncs, and what the confirmation's reply means for each publish. Pure functions, no
// I/O (tests: test/unit/confirming_rules_test.cpp).

#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/error.hpp>

#include <cstdint>
#include <optional>

namespace streamq::streams::detail {

enum class confirm_step : std::uint8_t {
  ask_fsync,  // send `WAITAOF 1 0` alone first: whether this master can confirm fsyncs
  wait,       // XADDs, then WAIT <replicas>
  waitaof,    // XADDs, then WAITAOF 1 <replicas>
  refuse,     // send nothing: errc::fsync_unavailable
};

// `fsync_capable`: what the master's connection answered when asked (nullopt: not asked since
// it was made or last failed; a reconnect may have reached another server).
[[nodiscard]] confirm_step next_confirm_step(confirmation mode,
                                             std::optional<bool> fsync_capable) noexcept;

// What a round trip's confirmation said of the publishes it carried, once each was added:
// nothing (confirmed), errc::replication_timeout (too few confirmed in time) or
// errc::fsync_unavailable (WAITAOF refused: the master's AOF was switched off since it was
// asked). `replicas`: what WAIT counted, or WAITAOF's replicas; `local`: WAITAOF's own fsync
// (ignored for WAIT); `refused`: the confirmation was an error reply (or malformed).
struct confirmation_reply {
  bool fsync = false;  // WAITAOF
  bool refused = false;
  std::uint64_t local = 0;
  std::uint64_t replicas = 0;
};
[[nodiscard]] error_code confirmation_outcome(const confirmation_reply& reply,
                                              std::uint32_t required_replicas) noexcept;

inline confirm_step next_confirm_step(confirmation mode,
                                      std::optional<bool> fsync_capable) noexcept {
  if (mode == confirmation::replicated) return confirm_step::wait;
  if (!fsync_capable) return confirm_step::ask_fsync;
  if (*fsync_capable) return confirm_step::waitaof;
  return mode == confirmation::fsynced ? confirm_step::refuse : confirm_step::wait;
}

inline error_code confirmation_outcome(const confirmation_reply& reply,
                                       std::uint32_t required_replicas) noexcept {
  if (reply.refused) return reply.fsync ? errc::fsync_unavailable : errc::replication_timeout;
  const bool local_ok = !reply.fsync || reply.local >= 1;
  if (local_ok && reply.replicas >= required_replicas) return {};
  return errc::replication_timeout;
}

}  // namespace streamq::streams::detail

#pragma once
// Errors of the streams layer (queue semantics: publishing, consuming, dead letters). Codes of
// the lower layers (redis::client_errc, resp::server_errc, ...) pass through unchanged.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace streamq::streams {

using error_code = boost::system::error_code;

// The values are part of the wire format: dead-letter entries record them as
// "streamq.streams:<value>" (docs/wire-format.md). Never renumber; only append.
enum class errc {
  // A topic, group or consumer name breaks the naming rules (names.hpp). Fix the name; no
  // retry can succeed.
  invalid_name = 1,
  // The message is over the configured size limit (entry_limits). When publishing, nothing was
  // written; split the message or raise the limit on both producers and consumers. When
  // consuming, the entry is dead-lettered: it cannot be handled under the current limit.
  message_too_large = 2,
  // Poison message: the payload does not parse as the type the handler expects (or names
  // another type). Retrying cannot help; the entry goes to the dead-letter stream at once.
  decode_failed = 3,
  // The entry's envelope version (its `v` field) is one this build does not know: written by
  // a newer producer. Deploy consumers that know it; dead-lettered entries can be requeued
  // after that.
  unknown_envelope_version = 4,
  // The entry is not a streamq message: a field is missing or repeated, or the envelope bytes
  // do not parse. Usually a foreign writer on the topic's stream; dead-lettered at once.
  malformed_entry = 5,
  // The publish was written but the connection was lost before Redis replied: the entry may
  // or may not be in the stream. A blind retry may publish it twice; retry with an
  // idempotency key, or check for the message ID first.
  publish_indeterminate = 6,
  // The message was moved to the dead-letter stream (retries exhausted, permanent failure or
  // poison). Inspect and requeue it through the dead-letter API.
  dead_lettered = 7,
  // Queue state vanished behind streamq's back (Redis restarted empty, a consumer group or
  // pending entries disappeared, entries were trimmed before being acknowledged). Messages
  // may have been lost: alert someone; streamq recreates what it needs and carries on.
  data_loss_detected = 8,
  // A handler failed in a way that may succeed later: the message is retried with backoff
  // until the retry policy is exhausted.
  handler_failed = 9,
  // A handler reported a failure that no retry can fix (e.g. invalid content): the message is
  // dead-lettered without further attempts.
  permanent_failure = 10,
  // Redis may evict keys under memory pressure (maxmemory-policy is not noeviction): a whole
  // queue could vanish. Set noeviction, or configure the consumer to warn only.
  unsafe_eviction_policy = 11,
  // A handler ran longer than consumer_config::handler_timeout and was cancelled. Retried
  // like handler_failed; raise the timeout if the work is legitimately slow.
  handler_timeout = 12,
  // A durable publish was added on the master but fewer replicas than required confirmed it
  // within the timeout (WAIT). It is in the stream for now, but a failover may lose it;
  // retry with an idempotency key, or alert.
  replication_timeout = 13,
  // The entry was delivered more often than consumer_config::max_deliveries without being
  // acknowledged: it keeps killing (or stalling) its consumers. Dead-lettered without another
  // run; look at the consumer's logs around its deliveries.
  delivery_limit_exceeded = 14,
  // The topic entry a dead letter refers to is no longer in the stream (trimmed or deleted),
  // so it cannot be handed back to its group alone. dead_letters::republish() adds its
  // envelope as a new entry instead, which every group then receives.
  entry_gone = 15,
  // This consumer no longer owns the entry: another consumer of the group took it over (it
  // was presumed dead). What this consumer would have recorded for it (a retry, a dead letter)
  // is left to the new owner.
  ownership_lost = 16,
  // The handler's outcome told the consumer to dead-letter the message (outcome::dead_letter
  // without a code of its own).
  rejected_by_handler = 17,
  // A `string` field of the envelope (a header, an ID, a key) is not valid UTF-8, which proto3
  // requires: every consumer would fail to parse the entry. Refused before anything is
  // written; the exception's text names the field. Send such data in the payload or as
  // base64/hex text.
  invalid_utf8 = 18,
  // The operation refused its arguments (a value out of range, a missing required field, a
  // message over 2 GiB): the error-code form (async_* with as_tuple, a callback...) of what
  // the coroutine form throws as std::invalid_argument or std::length_error, with its text.
  invalid_argument = 19,
  // durable_publisher with confirmation::fsynced: the master cannot confirm an fsync of its
  // append-only file (WAITAOF): Redis before 7.2, or `appendonly no`. Nothing was sent (unless
  // the AOF was switched off between the check and the publish: then it was added, not
  // confirmed, as with replication_timeout). Turn on appendonly, upgrade, or confirm with
  // confirmation::replicated.
  fsync_unavailable = 20,
  // A partitioned topic's partition count changed under the operation: a partition refused a
  // publish routed with an older count (partitioned_publisher re-routes it by itself, a few
  // times, before this reaches the caller), or a growth found a partition already taken by
  // another growth (docs/partitions.md, "Growing a topic"). Nothing was written.
  partitions_changed = 21,
  // A replay into a fresh consumer group (replay.hpp) found a group of that name on a stream
  // it replays: it never takes over a group somebody may use. Nothing was created; pick
  // another group name.
  group_exists = 22,
};

[[nodiscard]] const boost::system::error_category& streams_category() noexcept;

inline error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), streams_category()};
}

// True for errors that make an entry undeliverable to its handler no matter how often it is
// retried: decode_failed, unknown_envelope_version, malformed_entry, message_too_large and
// permanent_failure. Such entries are dead-lettered at once.
[[nodiscard]] bool is_permanent(const error_code& ec) noexcept;

}  // namespace streamq::streams

template <>
struct boost::system::is_error_code_enum<streamq::streams::errc> : std::true_type {};

#pragma once
// How a message sits in a Redis stream entry (docs/wire-format.md, envelope format 1):
//
//   XADD streamq:{orders}:stream * v 1 e <serialized streamq.v1.Envelope>
//
// Topic streams hold entries with fields `v` (the envelope format version, "1") and `e` (the
// Envelope, protobuf binary). Dead-letter streams hold `v` and `d` (a serialized DeadLetter).
// Readers ignore other fields; writers must not add fields a reader would need.

#include <streamq/v1/envelope.pb.h>
#include <streamq/streams/error.hpp>
#include <streamq/streams/tracing.hpp>

#include <google/protobuf/message.h>
#include <boost/system/result.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace streamq::streams {

inline constexpr std::string_view version_field = "v";
inline constexpr std::string_view envelope_field = "e";
inline constexpr std::string_view dead_letter_field = "d";
// The envelope format version this build writes and the only one it reads.
inline constexpr std::string_view envelope_version = "1";

// Size limits of one message, the same for producers and consumers of a topic.
struct entry_limits {
  // Largest Envelope.payload (the serialized application message), in bytes.
  std::size_t max_payload_bytes = 1024 * 1024;
  // Room for the rest of the envelope (IDs, type name, headers), in bytes.
  std::size_t max_metadata_bytes = 64 * 1024;

  // Largest serialized Envelope (the `e` field) accepted.
  [[nodiscard]] std::size_t max_envelope_bytes() const noexcept {
    return max_payload_bytes + max_metadata_bytes;
  }
};

// A stream entry's field/value pairs, flat: {"v", "1", "e", <bytes>}. It is a range of
// strings, so it expands in place: request.push("XADD", resp::key{k}, "*", fields).
using entry_fields = std::array<std::string, 4>;

// Serializes `envelope` into entry fields. Throws boost::system::system_error with
// errc::invalid_utf8 naming the field when validate_envelope_strings() refuses it (libprotobuf
// would log an error and every consumer would fail to parse the entry), std::length_error if
// it is over 2 GiB - 1 (protobuf's own limit); check_limits() refuses much smaller messages
// first.
[[nodiscard]] entry_fields encode_entry(const v1::Envelope& envelope);

// True if `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF): what protobuf demands of proto3 `string` fields.
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

// errc::invalid_utf8 when a `string` field of `envelope` (message_id, type, a headers key or
// value, idempotency_key, partition_key, producer_id) is not valid UTF-8; then `field`, if
// given, receives its name, e.g.  partition_key  or  headers key "k\xff"  or
// headers["tenant"] value  (bytes that are not printable ASCII shown as \xNN). Publishers call
// it before writing anything. Otherwise success, and `field` is left alone.
[[nodiscard]] error_code validate_envelope_strings(const v1::Envelope& envelope,
                                                   std::string* field = nullptr);

// errc::message_too_large when the payload or the whole serialized envelope is over
// `limits`; a publisher calls it before writing anything. Otherwise success.
[[nodiscard]] error_code check_limits(const v1::Envelope& envelope,
                                      const entry_limits& limits = {}) noexcept;

// Decodes a topic stream entry from its flat field/value list as Redis returns it (XRANGE,
// XREADGROUP). Errors, checked in this order:
//   malformed_entry           odd number of elements; `v` missing or repeated
//   unknown_envelope_version  `v` is not envelope_version (whatever the other fields are)
//   malformed_entry           `e` missing or repeated
//   message_too_large         `e` over limits.max_envelope_bytes() (checked before parsing)
//   malformed_entry           `e` is not a valid serialized Envelope, including a `string`
//                             field that is not UTF-8 (found before parsing, so libprotobuf
//                             never logs about it)
//   message_too_large         the payload is over limits.max_payload_bytes
// `out` is unspecified after an error.
[[nodiscard]] error_code decode_entry(std::span<const std::string> fields, v1::Envelope& out,
                                      const entry_limits& limits = {});
[[nodiscard]] error_code decode_entry(std::span<const std::string_view> fields, v1::Envelope& out,
                                      const entry_limits& limits = {});
[[nodiscard]] boost::system::result<v1::Envelope> decode_entry(std::span<const std::string> fields,
                                                               const entry_limits& limits = {});

// Dead-letter stream entries: {"v", "1", "d", <serialized DeadLetter>}. Same rules as
// encode_entry / decode_entry, without size limits (streamq writes these entries itself).
// encode_dead_letter never refuses a letter for its text: bytes of last_error (or another
// string of the letter itself) that are not UTF-8 are written as "\xNN", so that the letter
// can still be read back.
[[nodiscard]] entry_fields encode_dead_letter(const v1::DeadLetter& dead_letter);
[[nodiscard]] error_code decode_dead_letter(std::span<const std::string> fields,
                                            v1::DeadLetter& out);
[[nodiscard]] error_code decode_dead_letter(std::span<const std::string_view> fields,
                                            v1::DeadLetter& out);

// What make_envelope() puts around a message besides the message itself.
struct envelope_options {
  // Empty: a new ID from new_message_id().
  std::string message_id;
  // Empty: the current time.
  std::optional<std::chrono::system_clock::time_point> created_at;
  std::map<std::string, std::string> headers;
  std::uint32_t schema_version = 0;
  // Publishing with a key (publisher, scheduler) is deduplicated: within the publisher's
  // dedup_window a second message with the same key is not added; the first one's ID is
  // returned instead.
  std::string idempotency_key;
  // Derive the idempotency key from the content: content_idempotency_key(type, payload).
  // Identical messages of one type are then published once per window. Ignored when
  // idempotency_key is set.
  bool dedup_by_content = false;
  std::string partition_key;
  // The trace this message continues (docs/tracing.md): message_context::trace in a handler
  // (message_context::publish_options() sets it). Unset: a traceparent in `headers`, else the
  // publisher's tracer's current(), else a new trace. make_envelope() writes it into the
  // headers traceparent and tracestate; publishers write their publish span's there.
  std::optional<trace_context> trace;
};

// "sha256:" and the hex SHA-256 of the type name, a NUL byte and the payload: equal for
// byte-identical messages of one type, different otherwise.
[[nodiscard]] std::string content_idempotency_key(std::string_view type, std::string_view payload);

// A new producer ID (Envelope.producer_id) for a publisher that was given none: shaped like
// new_message_id() (creation time and 80 random bits), so unique per publisher object.
[[nodiscard]] std::string new_producer_id();

// The reason a producer ID given in a configuration is refused (1 to 128 printable ASCII
// characters, no spaces), or an empty string when it is valid.
[[nodiscard]] std::string producer_id_problem(std::string_view producer_id);

// An Envelope holding `message`: type = its full protobuf name, payload = its serialization,
// message_id and created_at as `options` say (attempt 0, no sequence: publishers fill those),
// options.trace (if set and valid) in the traceparent and tracestate headers.
// Throws std::invalid_argument if `message` cannot be serialized (proto2 required fields
// missing), std::length_error if it is over 2 GiB - 1.
[[nodiscard]] v1::Envelope make_envelope(const google::protobuf::Message& message,
                                         const envelope_options& options = {});

}  // namespace streamq::streams

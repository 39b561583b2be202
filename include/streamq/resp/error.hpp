#pragma once
// Error codes of the RESP layer: std::error_code only, so the codec needs nothing but the
// standard library. Higher layers carry them inside boost::system::error_code unchanged.

#include <string_view>
#include <system_error>

namespace streamq::resp {

// The byte stream is not valid RESP, or exceeds a configured parser limit. Always fatal for
// the connection that produced it: the stream cannot be resynchronised.
enum class parse_errc {
  invalid_type_byte = 1,  // first byte of a value is not a RESP2/RESP3 type marker
  invalid_integer,        // not an optionally signed decimal that fits in int64
  invalid_length,         // negative or malformed length of a blob or aggregate
  invalid_double,         // ',' payload is not a decimal, inf, -inf or nan
  invalid_boolean,        // '#' payload is neither t nor f
  invalid_big_number,     // '(' payload is not an optionally signed run of digits
  invalid_verbatim,       // '=' payload lacks the "xxx:" format prefix
  missing_crlf,           // a blob is not followed by CRLF
  line_too_long,          // no CRLF within parser_limits::max_line_length bytes
  bulk_too_long,          // blob length over parser_limits::max_bulk_length
  aggregate_too_large,    // aggregate size over parser_limits::max_aggregate_size
  depth_exceeded,         // nesting deeper than parser_limits::max_depth
  unsupported_streamed,   // RESP3 streamed strings/aggregates ('?'): Redis never sends them
  missing_lf,             // a CR inside a line is not followed by LF (lines carry no bare CR)
};

// A reply did not have the shape the caller asked for.
enum class adapt_errc {
  type_mismatch = 1,  // e.g. an array where an integer was expected
  unexpected_null,    // null reply into a non-optional target
  out_of_range,       // number does not fit the target type
  invalid_number,     // string payload does not parse as the target number type
  size_mismatch,      // aggregate size differs from a fixed-size target (tuple, pair)
};

// Redis error replies, classified once by their prefix (the first word of the message).
// Callers branch on these codes, never on message text.
enum class server_errc {
  generic = 1,  // ERR and any prefix not listed below
  busygroup,    // consumer group name already exists
  nogroup,      // no such key or consumer group
  noscript,     // EVALSHA of a script the server does not have
  readonly,     // write sent to a replica
  loading,      // server is loading its dataset
  noauth,       // authentication required
  wrongpass,    // invalid username/password pair
  noperm,       // ACL user lacks a permission
  oom,          // maxmemory reached under noeviction
  wrongtype,    // key holds another type
  busy,         // a script is running too long
  masterdown,   // replica lost its master
  moved,        // cluster slot moved (redirect)
  ask,          // cluster slot migrating (one-off redirect)
  tryagain,     // cluster multi-key operation during resharding
  crossslot,    // keys of a command in different slots
  clusterdown,  // cluster is down
  execabort,    // transaction discarded because of previous errors
  noreplicas,   // not enough good replicas to write
  unkillable,   // SCRIPT KILL of a script that wrote
  notbusy,      // SCRIPT KILL with no script running
  unblocked,    // a blocked command was released: its key was deleted, or CLIENT UNBLOCK ERROR
};

const std::error_category& parse_category() noexcept;
const std::error_category& adapt_category() noexcept;
const std::error_category& server_category() noexcept;

inline std::error_code make_error_code(parse_errc e) noexcept {
  return {static_cast<int>(e), parse_category()};
}
inline std::error_code make_error_code(adapt_errc e) noexcept {
  return {static_cast<int>(e), adapt_category()};
}
inline std::error_code make_error_code(server_errc e) noexcept {
  return {static_cast<int>(e), server_category()};
}

// Maps the text of an error reply ("NOGROUP No such key...") to its code.
[[nodiscard]] server_errc classify_server_error(std::string_view message) noexcept;

// Whether retrying the same command later may succeed (server busy, loading, failing over).
[[nodiscard]] bool is_transient(server_errc e) noexcept;

}  // namespace streamq::resp

template <>
struct std::is_error_code_enum<streamq::resp::parse_errc> : std::true_type {};
template <>
struct std::is_error_code_enum<streamq::resp::adapt_errc> : std::true_type {};
template <>
struct std::is_error_code_enum<streamq::resp::server_errc> : std::true_type {};

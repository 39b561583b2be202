#pragma once
// Errors of the redis layer (connections, pipelining). Codes from the RESP layer
// (resp::parse_errc, resp::adapt_errc, resp::server_errc) travel unchanged inside
// boost::system::error_code and compare equal to their enumerators.

#include <boost/system/error_code.hpp>

namespace streamq::redis {

using error_code = boost::system::error_code;

enum class client_errc {
  // The request was written, then the connection was lost (or the caller cancelled the
  // call) before its reply arrived: the command may or may not have run. Retrying blindly
  // may apply it twice.
  outcome_unknown = 1,
  // Not connected, and the connection does not keep unwritten requests (see
  // connection_config::keep_unwritten_on_disconnect), or it is shutting down.
  not_connected,
  // A blocking command (BLPOP, XREADGROUP ... BLOCK, WAIT) was sent to a shared pipelined
  // connection; use client::make_dedicated_connection().
  blocking_command_on_shared_connection,
  // The response adapter expects a different number of replies than the request has.
  response_size_mismatch,
  // The request has no command.
  empty_request,
  // A deadline set with with_deadline() passed first.
  timeout,
  // The health check's PING was not answered within health_check_timeout.
  health_check_timeout,
  // Connecting (resolve, TCP, TLS, handshake) took longer than connect_timeout.
  connect_timeout,
  // The server sent a reply when none was expected: the stream is out of step.
  unexpected_reply,
  // The connection was stopped by cancel() or by cancelling run().
  shut_down,
  // The URL given to parse_url() is malformed.
  invalid_url,
  // Cluster: the request's keys (those marked resp::key) fall in different hash slots. It
  // was refused before sending; Redis would refuse it too (CROSSSLOT). Give related keys one
  // {hash tag}.
  cross_slot,
  // Cluster: no node could be asked within cluster_config::retry_deadline: the topology is
  // not known yet (or no master serves the request's slot), or the request kept being
  // redirected. Nothing was sent for this request; it may be retried later.
  cluster_unavailable,
  // Sentinel mode: the node the sentinels named is not (or no longer) a master: its ROLE
  // says replica (or sentinel), or it answered a write with READONLY. The session was
  // dropped and the master is asked for again after the reconnect backoff; what was not
  // written waits for it. Heals once the sentinels name the new master.
  not_master,
  // Sentinel mode: no sentinel in sentinel_config::addresses named the master (none could
  // be reached, authenticated, or knew sentinel_config::master_name). Retried after the
  // reconnect backoff; check the addresses, the sentinel credentials and the master name.
  sentinel_unavailable,
};

const boost::system::error_category& client_category() noexcept;

inline error_code make_error_code(client_errc e) noexcept {
  return {static_cast<int>(e), client_category()};
}

// True for errors after which the same request may succeed on a later attempt or another
// connection (connection lost before writing, transient server states such as LOADING).
// Never true for outcome_unknown: that decision belongs to the caller.
[[nodiscard]] bool is_retryable(const error_code& ec) noexcept;

// True for errors that reconnecting cannot cure: wrong credentials, missing permissions,
// TLS verification failures, malformed configuration.
[[nodiscard]] bool is_fatal(const error_code& ec) noexcept;

}  // namespace streamq::redis

template <>
struct boost::system::is_error_code_enum<streamq::redis::client_errc> : std::true_type {};

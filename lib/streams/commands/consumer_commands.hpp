#pragma once
// The consumer's commands of consumer_requests.hpp sent (that header documents each command):
// each call sends what build_<name> appends and returns what decode_<name> makes of the reply:
// success, a transport error (redis::client_errc), the server's refusal (resp::server_errc, its
// text in `diagnostic`), or a malformed reply (errc::malformed_entry). Nothing here decides:
// consume/ does. The XREADGROUP of build_read_new is sent by the read loop itself, on its
// dedicated connection with stream_read_reply.
//
// Calls without a timeout wait as long as the client keeps the request (start-up and
// inspect(), whose callers bound them); the others take one, returned as client_errc::timeout.

#include <streamq/client.hpp>

#include "consumer_requests.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// One XGROUP CREATE per stream, in one pipeline: `results[i]` and `status[i]` are the i-th
// stream's; the returned result is the transport's (no per-stream result is known then) or
// errc::malformed_entry.
boost::asio::awaitable<command_result> create_groups(client& c,
                                                     std::span<const std::string> streams,
                                                     const std::string& group, bool from_beginning,
                                                     std::vector<command_result>& results,
                                                     std::vector<group_status>& status);

boost::asio::awaitable<command_result> list_groups(client& c, const std::string& stream,
                                                   std::vector<group_info>& groups);

// XLEN and XINFO GROUPS of each stream, in one pipeline (build_stream_states).
boost::asio::awaitable<command_result> stream_states(client& c,
                                                     std::span<const std::string> streams,
                                                     std::vector<stream_state>& out);

boost::asio::awaitable<command_result> processed_at(client& c, const std::string& processed_key,
                                                    const std::string& message_key,
                                                    std::optional<double>& handled_at_ms,
                                                    std::chrono::milliseconds timeout);

// By SHA, and by source after a NOSCRIPT (exec_script).
boost::asio::awaitable<command_result> ack_processed(
    client& c, const std::string& processed_key, const std::string& stream,
    const std::string& group, const std::string& id, const std::string& message_key,
    std::chrono::milliseconds remember_for, const ack_fence* fence, std::uint64_t& acked,
    std::chrono::milliseconds timeout);

}  // namespace streamq::streams::detail

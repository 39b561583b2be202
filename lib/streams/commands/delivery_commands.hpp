#pragma once
// The consumer's delivery commands sent: pending-list scans (XPENDING), acknowledgements (XACK),
// and the scripts in lib/streams/scripts/ that claim entries, schedule and take retries and
// write dead letters. Each call sends what build_<name> in delivery_requests.hpp appends (which
// documents what the command does), with a deadline, and returns what decode_<name> makes of
// the reply: success, a transport error (redis::client_errc), the server's refusal
// (resp::server_errc, with its text in `diagnostic`), or a malformed reply
// (errc::malformed_entry). Nothing here decides anything: consume/ and sansio/ do.

#include <streamq/client.hpp>

#include "delivery_requests.hpp"
#include "ordering_requests.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

boost::asio::awaitable<command_result> pending_entries(client& c, const group_ref& g,
                                                       std::chrono::milliseconds min_idle,
                                                       const std::string& start, std::size_t count,
                                                       const std::string& owner,
                                                       std::vector<pending_row>& rows,
                                                       std::chrono::milliseconds timeout);

// Sends nothing when `rows` is empty.
boost::asio::awaitable<command_result> claim_entries(
    client& c, const group_ref& g, std::chrono::milliseconds min_idle, const std::string& owner,
    std::span<const pending_row> rows, claim_result& out, std::chrono::milliseconds timeout);

boost::asio::awaitable<command_result> take_due_retries(client& c, const group_ref& g,
                                                        std::size_t limit, due_retries& out,
                                                        std::chrono::milliseconds timeout);

boost::asio::awaitable<command_result> schedule_retry(client& c, const group_ref& g,
                                                      const std::string& id,
                                                      std::chrono::milliseconds delay,
                                                      bool& scheduled,
                                                      std::chrono::milliseconds timeout);

boost::asio::awaitable<command_result> write_dead_letter(client& c, const group_ref& g,
                                                         const std::string& id,
                                                         std::span<const std::string> letter_fields,
                                                         std::string& dead_id,
                                                         std::chrono::milliseconds timeout);

// `results[i]` and `acked[i]` are the i-th XACK's; the returned result is the transport's
// (when it failed, no per-command result is known) or errc::malformed_entry.
boost::asio::awaitable<command_result> acknowledge(client& c, const std::string& group,
                                                   const ack_batch& batch,
                                                   std::vector<command_result>& results,
                                                   std::vector<std::uint64_t>& acked,
                                                   std::chrono::milliseconds timeout);

// With a deadline of 10 s.
boost::asio::awaitable<command_result> requeue_dead_letter(
    client& c, const topic_keys& keys, const std::string& group, const std::string& dead_id,
    const std::string& entry_id, const std::string& owner, requeue_status& status);

// Per-key ordering at start: the first `limit` entries of `g`'s retry set (ZRANGE), then their
// data (one XRANGE each, pipelined): entry_by_id with empty fields for entries gone.
boost::asio::awaitable<command_result> waiting_retries(client& c, const group_ref& g,
                                                       std::size_t limit,
                                                       std::vector<entry_by_id>& out,
                                                       std::chrono::milliseconds timeout);

}  // namespace streamq::streams::detail

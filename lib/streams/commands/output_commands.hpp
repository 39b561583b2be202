#pragma once
// The commands of output_requests.hpp sent (that header documents each): success, a transport
// error (redis::client_errc, client_errc::timeout past `timeout`), the server's refusal, or a
// malformed reply. Nothing here decides: consume/consumer_outputs.cpp does.

#include <streamq/client.hpp>

#include "output_requests.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// By SHA, and by source after a NOSCRIPT (exec_script).
boost::asio::awaitable<command_result> commit_outputs(client& c, const commit_request& commit,
                                                      commit_reply& out,
                                                      std::chrono::milliseconds timeout);

boost::asio::awaitable<command_result> read_outbox(client& c, const std::string& outbox_key,
                                                   const std::string& start, std::size_t count,
                                                   std::vector<outbox_entry>& out,
                                                   std::chrono::milliseconds timeout);

boost::asio::awaitable<command_result> delete_outbox(client& c, const std::string& outbox_key,
                                                     std::span<const std::string> ids,
                                                     std::uint64_t& deleted,
                                                     std::chrono::milliseconds timeout);

}  // namespace streamq::streams::detail

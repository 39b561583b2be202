#pragma once
// `streamq delayed list|cancel` and `streamq recurring list|pause|resume`: a topic's delayed
// and recurring tasks (streams::scheduler), without running a scheduler.

#include "cli_state.hpp"

#include <streamq/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>

namespace streamq::cli {

boost::asio::awaitable<void> show_delayed(client& c, const cli_state& state, std::string topic,
                                          std::size_t count);
// Asks first unless --yes; exit code 4 when the task is unknown or already due.
boost::asio::awaitable<void> cancel_delayed(client& c, const cli_state& state, std::string topic,
                                            std::string id);
boost::asio::awaitable<void> show_recurring(client& c, const cli_state& state, std::string topic);
// Pauses (`pause`) or resumes a recurring task; exit code 4 when there is no such task.
boost::asio::awaitable<void> set_recurring_paused(client& c, const cli_state& state,
                                                  std::string topic, std::string name, bool pause);

}  // namespace streamq::cli

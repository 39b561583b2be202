#pragma once
// `streamq dead-letters list|show|requeue|purge`: streams::dead_letters for people and
// scripts. Requeue and purge ask first (terminal.hpp) unless --yes, and draw a progress bar.

#include "cli_state.hpp"

#include <streamq/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace streamq::cli {

struct dead_letter_query {
  std::string topic;
  std::string group;
  std::size_t count = 100;  // entries at most
  std::string after = "-";  // list those after this ID ("-": from the start)
};
boost::asio::awaitable<void> show_dead_letters(client& c, const cli_state& state,
                                               dead_letter_query query);
// One dead letter in full, its envelope and payload included; exit code 4 when there is none.
boost::asio::awaitable<void> show_dead_letter(client& c, const cli_state& state, std::string topic,
                                              std::string group, std::string id);

// Which dead letters a requeue or purge applies to: `ids`, or the range `from`..`to`
// (inclusive; "-" and "+" for the ends), or `all`. Exactly one (check_selection).
struct dead_letter_selection {
  std::string topic;
  std::string group;
  std::vector<std::string> ids;
  std::string from;
  std::string to;
  bool all = false;
};
// Throws command_error(exit_usage_error, ...) unless exactly one of the three is given and
// every ID is an entry ID ("ms-seq" or "ms").
void check_selection(const dead_letter_selection& selection);

boost::asio::awaitable<void> requeue_dead_letters(client& c, const cli_state& state,
                                                  dead_letter_selection selection);
boost::asio::awaitable<void> purge_dead_letters(client& c, const cli_state& state,
                                                dead_letter_selection selection);

}  // namespace streamq::cli

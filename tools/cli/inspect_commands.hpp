#pragma once
// The read-only commands: groups, consumers, pending, topic info. Each is a coroutine
// run by run_command (runner.hpp) that prints a table, or one JSON object with `json`, and
// throws command_error(exit_not_found, ...) for a topic or group that does not exist.

#include <streamq/client.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>

namespace streamq::cli {

struct output_options {
  bool json = false;
  std::string key_prefix = "streamq";  // names.hpp's key prefix
};

// Throw command_error(exit_not_found, ...) naming what is missing: the topic's stream, or the
// consumer group on it (XLEN and XINFO GROUPS).
boost::asio::awaitable<void> require_topic(client& c, const streams::topic_keys& keys);
boost::asio::awaitable<void> require_group(client& c, const streams::topic_keys& keys,
                                           const std::string& group);

boost::asio::awaitable<void> show_groups(client& c, output_options out, std::string topic);
boost::asio::awaitable<void> show_consumers(client& c, output_options out, std::string topic,
                                            std::string group);
boost::asio::awaitable<void> show_topic_info(client& c, output_options out, std::string topic);

struct pending_query {
  std::string topic;
  std::string group;
  std::size_t count = 100;  // rows at most
  std::string consumer;     // empty: every consumer's
};
boost::asio::awaitable<void> show_pending(client& c, output_options out, pending_query query);

}  // namespace streamq::cli

#pragma once
// Topics for the effectively-once tests: one whose keys share another topic's cluster slot
// (its outputs are written in the commit script itself), and counting outputs by message ID.
#include <streamq/resp/request.hpp>

#include <map>
#include <string>

#include "support/stream_checks.hpp"

namespace streamq::test {

// A topic named "<base>-<n>" whose keys hash to `topic`'s slot: a topic's keys all carry the
// hash tag {topic}, so the slot is CRC16 of the name. About 16384 names are tried on average.
inline std::string topic_in_slot_of(const std::string& topic, const std::string& base) {
  const auto wanted = resp::hash_slot("{" + topic + "}");
  for (unsigned n = 0;; ++n) {
    std::string name = base + "-" + std::to_string(n);
    if (resp::hash_slot("{" + name + "}") == wanted && name != topic) return name;
  }
}

// How many entries of `topic` carry each message ID.
inline boost::asio::awaitable<std::map<std::string, int>> outputs_by_id(client& c,
                                                                        const std::string& topic) {
  std::map<std::string, int> out;
  for (const auto& e : co_await read_topic(c, topic)) ++out[e.envelope.message_id()];
  co_return out;
}

}  // namespace streamq::test

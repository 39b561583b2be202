#pragma once
// Reading back what a test's topic holds, shared by the integration tests: the entries (as
// the test proto Order), counts, the pending list, and the ledger's view of the stream and its
// dead letters. Each helper REQUIREs a reply it can use.

#include "support/ledger.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>

#include <test_messages.pb.h>
#include <boost/asio/awaitable.hpp>
#include <streamq/streams/envelope.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace streamq::test {

struct topic_entry {
  std::string id;
  std::int64_t added_ms = 0;  // from the entry ID: when it was added to the stream
  v1::Envelope envelope;
  Order order;  // the envelope's payload
};

// XRANGE - + of the topic's stream, each entry decoded (REQUIREs a valid envelope and Order).
boost::asio::awaitable<std::vector<topic_entry>> read_topic(client& c, const std::string& topic);

// XLEN of the topic's stream.
boost::asio::awaitable<std::size_t> topic_length(client& c, const std::string& topic);

// How many entries of the topic's stream group `group` has delivered and not acknowledged.
boost::asio::awaitable<std::size_t> pending_count(client& c, const std::string& topic,
                                                  const std::string& group);

// Handler runs per order ID as handlers count them in the hash "<topic>:handled" (HINCRBY),
// which survives the processes that ran them.
boost::asio::awaitable<std::map<std::string, long>> handled_counts(client& c,
                                                                   const std::string& topic);

// Runs an in-process consumer named "rescuer" in `group` that takes over what was left pending
// (claim_idle as given) and counts its runs in "<topic>:handled", until `n` order IDs were
// handled and nothing is pending, or 30 s pass. Returns its stats.
boost::asio::awaitable<streams::consumer_stats> rescue(client& c, const std::string& topic,
                                                       const std::string& group, std::size_t n,
                                                       std::chrono::milliseconds claim_idle);

// Records the topic's stream entries and `group`'s dead letters in `book` (entries whose Order
// ID is not a ledger label count as foreign). Read-only, so it retries a failed read.
boost::asio::awaitable<void> drain_into(client& c, const std::string& topic,
                                        const std::string& group, ledger& book);

// The group's dead letters, decoded (REQUIREs each to decode).
boost::asio::awaitable<std::vector<v1::DeadLetter>> read_dead_letters(client& c,
                                                                      const std::string& topic,
                                                                      const std::string& group);

// Runs `scenario` while `first` (and `second`, if not null) run; then stops them (a graceful
// stop) and waits for them. Rethrows the scenario's exception.
// (Two consumers at most: GCC 12 cannot keep an initializer_list alive in a coroutine.)
boost::asio::awaitable<void> while_consuming(
    streams::consumer& first, streams::consumer* second,
    std::function<boost::asio::awaitable<void>()> scenario);

// A numeric field of INFO `section`, e.g. info_number(c, "clients", "blocked_clients").
boost::asio::awaitable<std::int64_t> info_number(client& c, const std::string& section,
                                                 const std::string& field);

std::int64_t unix_ms(std::chrono::system_clock::time_point t);

// What most tests publish: an Order with `id`; envelope options with an idempotency key.
Order order_with_id(const std::string& id);
streams::envelope_options keyed(const std::string& idempotency_key);

}  // namespace streamq::test

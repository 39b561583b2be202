#pragma once
// Scaffolding for tests that run the client through the fault proxy (fault_proxy.hpp) and
// keep a loss ledger (ledger.hpp): a client configured to notice failures fast, publishing and
// consuming into the ledger, and the standard ledger assertions.

#include "support/fault_proxy.hpp"
#include "support/ledger.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/config.hpp>
#include <streamq/redis/connection.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace streamq::test {

// A connection through the proxy, tuned to notice failures and come back quickly.
redis::connection_config proxied_config(const fault_proxy& proxy);

// Consumer "c1" in group "g" with short block, claim and retry times.
streams::consumer_config fast_consumer_config();

// run_with_client with a configuration instead of a URL.
void run_with_config(const redis::connection_config& config,
                     const std::function<boost::asio::awaitable<void>(client&)>& body,
                     std::chrono::seconds limit = std::chrono::seconds(60));

// Waits until the connection is connected (true) or `limit` passes (false).
boost::asio::awaitable<bool> wait_connected(const redis::connection& conn,
                                            std::chrono::milliseconds limit);

// Polls `done` until it holds or `limit` passes; unlike wait_until it does not fail the test,
// so the ledger is still printed.
boost::asio::awaitable<bool> poll_until(std::function<bool()> done,
                                        std::chrono::milliseconds limit);

// Starts `n` coroutines made by `make(i)` on the current executor and waits (at most `limit`)
// until all have finished; REQUIREs that they did, CHECKs that none threw.
boost::asio::awaitable<void> run_all(
    std::size_t n, const std::function<boost::asio::awaitable<void>(std::size_t)>& make,
    std::chrono::milliseconds limit);

// Publishes one Order labelled with the ledger's next sequence and records how it ended.
boost::asio::awaitable<void> publish_one(streams::publisher& pub, const std::string& topic,
                                         ledger& book);

// Subscribes `consumer` to `topic` with a handler that records every run in `book`.
void subscribe_ledger(streams::consumer& consumer, const std::string& topic, ledger& book);

// The running doctest case's name.
std::string test_name();

// Runs `scenario` while `consumer` runs; the consumer is stopped when the scenario ends. A
// consumer that ends by itself fails the test.
boost::asio::awaitable<void> run_alongside(streams::consumer& consumer,
                                           boost::asio::awaitable<void> scenario);

// The standard ledger assertions: nothing confirmed is lost, nothing appears from nowhere.
void check_ledger(const ledger_report& r, std::uint64_t expected_publishes);

}  // namespace streamq::test

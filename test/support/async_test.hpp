#pragma once
// Runs one coroutine test body on a fresh io_context next to the connection's owner loop,
// with a hard wall-clock limit so a hung test fails instead of stalling CI.

#include <streamq/client.hpp>
#include <streamq/redis/connection.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <string>

namespace streamq::test {

using test_body = std::function<boost::asio::awaitable<void>(redis::connection&)>;

// Creates a connection from `config`, runs it, awaits `body`, then cancels the connection
// and waits for run() to end. Fails the current doctest test on an exception from the body
// or when `limit` passes. Returns run()'s final error code.
redis::error_code run_with_connection(redis::connection_config config, const test_body& body,
                                      std::chrono::seconds limit = std::chrono::seconds(30));

// Runs a coroutine on a fresh io_context with the same limit.
void run_coroutine(const std::function<boost::asio::awaitable<void>()>& body,
                   std::chrono::seconds limit = std::chrono::seconds(30));

// Runs `body` with a running streamq::client connected to `url`. The client's owner loop
// ends when the body does; an exception from the body fails the test (it never hangs).
void run_with_client(const std::string& url,
                     const std::function<boost::asio::awaitable<void>(client&)>& body,
                     std::chrono::seconds limit = std::chrono::seconds(60));

// Awaits `op` and keeps its exception in `failure` instead of throwing: Asio's || cancels
// the other side only when one side completes without an exception, so a failing test
// body raced against an owner loop would otherwise wait for the loop forever.
boost::asio::awaitable<void> capture_failure(boost::asio::awaitable<void> op,
                                             std::exception_ptr& failure);

// Polls `done` every 10 ms until it holds or `limit` passes (then REQUIREs it).
boost::asio::awaitable<void> wait_until(std::function<bool()> done,
                                        std::chrono::milliseconds limit);
boost::asio::awaitable<void> wait_until(std::function<bool()> done);

// A test name turned into a valid, unique topic name.
std::string unique_topic();

// A short pause inside a coroutine.
boost::asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration d);

}  // namespace streamq::test

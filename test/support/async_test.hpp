#pragma once
// Runs one coroutine test body on a fresh io_context next to the connection's owner loop,
// with a hard wall-clock limit so a hung test fails instead of stalling CI.

#include <streamq/redis/connection.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>

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

// A short pause inside a coroutine.
boost::asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration d);

}  // namespace streamq::test

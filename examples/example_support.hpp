#pragma once
// What the numbered examples (01_quickstart.cpp ...) share, kept small so that each example
// shows streamq rather than scaffolding: where Redis is, a client running next to the
// example's body, bounded waits, and failing with a non-zero exit status (CTest runs them).

#include <streamq/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace streamq::examples {

// STREAMQ_REDIS_URL, or redis://127.0.0.1:6379 when it is unset (as the demo does).
[[nodiscard]] std::string redis_url();

using example_body = std::function<boost::asio::awaitable<void>(client&)>;

// The whole of an example's main(): runs `body` next to a running client (its owner loop
// ends when the body does), the whole bounded by `limit`. Returns the exit status: 0 when the
// body returned, 1 with the reason on stderr when it threw, timed out or found no Redis.
int run_example(std::string_view name, const example_body& body, std::chrono::seconds limit);

// Deletes the topic's stream and the group's dead letters, so that a rerun against a
// long-lived server starts from a clean slate (within 5 s: the first command also waits
// for the connection).
boost::asio::awaitable<void> reset_topic(client& c, std::string_view topic, std::string_view group);

// Runs `service` (a consumer's run(), or several joined with &&) while `scenario` runs, then
// stops it by cancelling it, which is how a consumer is shut down, and waits for it to end.
// Rethrows the first failure (the service's, else the scenario's). Failures are caught on
// each side first: Asio's || only cancels the other side when one completes normally.
boost::asio::awaitable<void> serve_until(boost::asio::awaitable<void> service,
                                         boost::asio::awaitable<void> scenario);

// Polls `done` every 10 ms; throws std::runtime_error naming `what` after `limit`.
boost::asio::awaitable<void> wait_until(std::function<bool()> done, std::chrono::milliseconds limit,
                                        std::string what);

// A pause, e.g. a handler's simulated I/O. Throws when cancelled.
boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d);

// Throws std::runtime_error("expected: " + what) unless `ok`: how an example fails.
void expect(bool ok, std::string_view what);

}  // namespace streamq::examples

#pragma once
// How every streamq command runs: one coroutine on an io_context next to the client's owner
// operation, under one overall deadline, with every failure turned into an exit code and a
// one-line message (docs/cli.md, "Exit codes").

#include <streamq/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace streamq::cli {

// The documented exit codes.
enum exit_code : int {
  exit_ok = 0,
  exit_runtime_error = 1,  // the server refused, a timeout, anything else at run time
  exit_usage_error = 2,    // bad arguments (CLI11's own code for them)
  exit_unreachable = 3,    // cannot connect, or authentication failed
  exit_not_found = 4,      // the topic or consumer group does not exist
};

// A failure a command reports itself: its exit code and its one-line message.
class command_error : public std::runtime_error {
 public:
  command_error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

// What a failure means to the person at the terminal: the exit code and the message (without
// the "streamq: " prefix). `redacted_url` names the server with its password hidden.
struct failure_report {
  int code = exit_runtime_error;
  std::string message;
};
// Whether the command had a working connection when it failed: a socket error before the
// first handshake means the server cannot be reached (3); after it, the connection was lost
// mid-command (1: the server was there, and what was sent may or may not have run).
enum class connection_phase : std::uint8_t { connecting, connected };
[[nodiscard]] failure_report classify_failure(const boost::system::error_code& ec,
                                              const std::string& redacted_url,
                                              connection_phase phase);
// For a caller that does not track the phase (serve's start-up): as connection_phase::connecting.
[[nodiscard]] failure_report classify_failure(const boost::system::error_code& ec,
                                              const std::string& redacted_url);

// What --timeout-ms bounds.
enum class deadline_scope : std::uint8_t {
  whole_command,  // connecting and the command's work (every command but tail)
  connecting,     // connecting only: the command runs until it ends or is stopped (tail)
};

struct run_options {
  std::string url;                           // a redis:// URL (redis::parse_url)
  std::chrono::milliseconds timeout{10000};  // see `scope`
  deadline_scope scope = deadline_scope::whole_command;
};

// Moves the running command's deadline `by` later: for time spent waiting for a person
// (confirm(), terminal.hpp), which is not the server's. One command runs per process.
void extend_command_deadline(std::chrono::steady_clock::duration by);

using command_body = std::function<boost::asio::awaitable<void>(client&)>;

// Connects (once: no reconnection, so a refused connection or bad credentials end the
// command at once), runs `body`, and returns the exit code, having printed a one-line error
// on stderr for any failure. A malformed URL is a usage error.
[[nodiscard]] int run_command(const run_options& options, const command_body& body);

}  // namespace streamq::cli

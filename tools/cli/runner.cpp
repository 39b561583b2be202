// The command runner: see runner.hpp.
#include "runner.hpp"

#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <cstdio>
#include <exception>
#include <optional>

namespace streamq::cli {

namespace asio = boost::asio;
using boost::system::error_code;

failure_report classify_failure(const error_code& ec, const std::string& redacted_url,
                                connection_phase phase) {
  if (ec == resp::server_errc::wrongpass || ec == resp::server_errc::noauth)
    return {exit_unreachable, "authentication failed for " + redacted_url};
  if (ec == resp::server_errc::noperm)
    return {exit_runtime_error, "permission denied by the server's ACL for " + redacted_url};
  if (ec == redis::client_errc::timeout)
    return {exit_runtime_error, "timed out waiting for " + redacted_url};
  // Everything the socket layer reports (refused, unreachable, unknown host, reset), and the
  // connect deadline, means the server could not be reached, or, once it was, that the
  // connection broke under the command.
  const bool socket_error = ec.category() == boost::system::system_category() ||
                            ec.category() == asio::error::get_netdb_category() ||
                            ec.category() == asio::error::get_addrinfo_category() ||
                            ec == asio::error::eof || ec == asio::error::connection_reset;
  const bool lost_request =
      ec == redis::client_errc::outcome_unknown || ec == redis::client_errc::not_connected;
  if (phase == connection_phase::connected && (socket_error || lost_request))
    return {exit_runtime_error, "connection to " + redacted_url + " lost: " + ec.message()};
  if (ec == redis::client_errc::connect_timeout || socket_error)
    return {exit_unreachable, "cannot connect to " + redacted_url + ": " + ec.message()};
  return {exit_runtime_error, ec.message()};
}

failure_report classify_failure(const error_code& ec, const std::string& redacted_url) {
  return classify_failure(ec, redacted_url, connection_phase::connecting);
}

namespace {

void print_error(const std::string& message) {
  std::fprintf(stderr, "streamq: %s\n", message.c_str());
}

asio::awaitable<void> run_client(client& c, error_code& run_error) {
  auto [ec] = co_await c.async_run(asio::as_tuple(asio::use_awaitable));
  run_error = ec;
}

// The running command's deadline; extend_command_deadline moves it.
std::chrono::steady_clock::time_point command_expiry = std::chrono::steady_clock::time_point::max();

// Ends when the deadline passes, however often it was moved meanwhile.
asio::awaitable<void> expire() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (std::chrono::steady_clock::now() < command_expiry) {
    timer.expires_at(command_expiry);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> run_body(client& c, const command_body& body, std::exception_ptr& failure,
                               bool& finished) {
  try {
    co_await body(c);
    finished = true;
  } catch (...) {
    failure = std::current_exception();
  }
}

asio::awaitable<void> run_body_by_deadline(client& c, const command_body& body,
                                           deadline_scope scope, std::exception_ptr& failure,
                                           bool& finished) {
  if (scope == deadline_scope::connecting) {
    co_await run_body(c, body, failure, finished);
    co_return;
  }
  using namespace asio::experimental::awaitable_operators;
  co_await (run_body(c, body, failure, finished) || expire());
  if (!finished && !failure)
    failure = std::make_exception_ptr(boost::system::system_error(redis::client_errc::timeout));
}

}  // namespace

void extend_command_deadline(std::chrono::steady_clock::duration by) {
  if (command_expiry != std::chrono::steady_clock::time_point::max()) command_expiry += by;
}

int run_command(const run_options& options, const command_body& body) {
  redis::connection_config config;
  try {
    config = redis::parse_url(options.url);
  } catch (const std::invalid_argument& e) {
    print_error(std::string("invalid --redis URL: ") + e.what());
    return exit_usage_error;
  }
  // One attempt: a command-line tool reports a refused connection instead of retrying it.
  config.reconnect.enabled = false;
  config.connect_timeout = std::min(config.connect_timeout, options.timeout);
  const std::string where = config.redacted_url();

  asio::io_context io;
  client c(io.get_executor(), config);
  error_code run_error;
  std::exception_ptr failure;
  bool finished = false;
  using namespace asio::experimental::awaitable_operators;
  command_expiry = std::chrono::steady_clock::now() + options.timeout;
  asio::co_spawn(io,
                 run_client(c, run_error) ||
                     run_body_by_deadline(c, body, options.scope, failure, finished),
                 asio::detached);
  io.run();

  if (finished) return exit_ok;
  // The client's run ends with shut_down when the body ended first: that is no failure.
  error_code cause = run_error == redis::client_errc::shut_down ? error_code() : run_error;
  error_code request_error;
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const command_error& e) {
      print_error(e.what());
      return e.code();
    } catch (const boost::system::system_error& e) {
      // A request that failed because the connection did is explained by the connection's
      // own error; any other error is the request's.
      request_error = e.code();
      if (!cause && (e.code().category() != redis::client_category() ||
                     e.code() == redis::client_errc::timeout))
        cause = e.code();
    } catch (const std::invalid_argument& e) {
      // A name the library refuses (names.hpp) or an option replay() refuses.
      print_error(e.what());
      return exit_usage_error;
    } catch (const std::exception& e) {
      if (!cause) {
        print_error(e.what());
        return exit_runtime_error;
      }
    }
  }
  if (!cause) cause = c.shared_connection().last_error();
  if (!cause) cause = request_error;
  // The deadline passed before any handshake completed: the server is not answering (a
  // firewall dropping packets, a hung process), which is "cannot connect", not a slow command.
  if (cause == redis::client_errc::timeout && c.shared_connection().stats().connects == 0)
    cause = redis::client_errc::connect_timeout;
  if (!cause) cause = redis::client_errc::shut_down;
  const auto phase = c.shared_connection().stats().connects == 0 ? connection_phase::connecting
                                                                 : connection_phase::connected;
  const auto report = classify_failure(cause, where, phase);
  print_error(report.message);
  return report.code;
}

}  // namespace streamq::cli

#pragma once
// streamq::client: the object higher layers hold. It owns the shared pipelined connection
// every ordinary command goes through, and makes dedicated connections for blocking
// commands (XREADGROUP ... BLOCK, BLPOP, WAIT), which must never stall the shared pipeline.
//
// Threads: as redis::connection. With an io_context run by several threads, give the client
// a strand; every member states its thread safety.

#include <streamq/redis/connection.hpp>

#include <memory>
#include <string_view>

namespace streamq {

class client {
 public:
  using executor_type = redis::connection::executor_type;
  using default_token = redis::connection::default_token;

  // Throws std::invalid_argument naming the field when `config` is invalid.
  client(executor_type ex, redis::connection_config config);
  // Parses `url` with redis::parse_url.
  // Thread safety (both): any thread; nothing runs until async_run().
  client(executor_type ex, std::string_view url);

  // Thread safety: any thread (fixed at construction; the connection's members document
  // their own).
  [[nodiscard]] executor_type get_executor() const noexcept { return shared_.get_executor(); }
  [[nodiscard]] const redis::connection_config& config() const noexcept { return shared_.config(); }
  [[nodiscard]] redis::connection& shared_connection() noexcept { return shared_; }

  // The owner operation of the shared connection (see connection::async_run). Cancelling
  // it, or cancel(), shuts the client down.
  // Thread safety: any thread.
  template <class Token = default_token>
  auto async_run(Token&& token = {}) {
    return shared_.async_run(std::forward<Token>(token));
  }

  // Runs a request on the shared connection (see connection::async_exec).
  // Thread safety: any thread.
  template <class Token = default_token>
  auto async_exec(const resp::request& req, resp::response_adapter& adapter, Token&& token = {}) {
    return shared_.async_exec(req, adapter, std::forward<Token>(token));
  }

  // A new connection with this client's settings that accepts blocking commands and sends
  // no health-check PINGs (they would queue behind a BLOCK). The caller owns it and must
  // run it (async_run) alongside its use, for instance in the same parallel group.
  // Thread safety: any thread.
  [[nodiscard]] std::unique_ptr<redis::connection> make_dedicated_connection(
      std::string_view client_name_suffix = "blocking") const;

  // Shuts the shared connection down (see connection::cancel).
  // Thread safety: any thread.
  void cancel() { shared_.cancel(); }

 private:
  redis::connection shared_;
};

}  // namespace streamq

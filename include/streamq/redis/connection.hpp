#pragma once
// One Redis connection shared by any number of coroutines: requests are pipelined
// automatically (whatever queues while a write is in flight goes out in the next write) and
// replies are matched in order. The socket work lives in lib/; this header only type-erases
// completion handlers, so including it stays cheap.

#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>

namespace streamq::redis {

namespace detail {
class connection_impl;
}

enum class connection_state : std::uint8_t {
  idle,        // run() not started
  connecting,  // connecting, handshaking, or waiting to reconnect
  connected,   // handshake done, requests flow
  stopped,     // run() ended (cancelled or a fatal error)
};

struct connection_stats {
  std::uint64_t connects = 0;           // successful handshakes
  std::uint64_t connection_losses = 0;  // sessions that ended with an error
  std::uint64_t requests = 0;           // requests completed with a reply
  std::uint64_t writes = 0;             // socket writes (requests / writes = batching factor)
  std::uint64_t pushes = 0;             // RESP3 push messages received
  std::uint64_t peak_pending = 0;       // most requests admitted at once (<= max_pending_requests)
};

class connection {
 public:
  using executor_type = boost::asio::any_io_executor;
  using default_token = boost::asio::use_awaitable_t<executor_type>;

  // Validates `config` (throws std::invalid_argument naming the field). All work runs on
  // `ex`: with a multi-threaded io_context pass a strand. Calling async_exec from another
  // thread is safe; it is dispatched onto `ex`.
  connection(executor_type ex, connection_config config);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  [[nodiscard]] executor_type get_executor() const noexcept;
  [[nodiscard]] const connection_config& config() const noexcept;
  [[nodiscard]] connection_state state() const noexcept;
  [[nodiscard]] connection_stats stats() const noexcept;
  // Why the last connection attempt failed or the last session ended (clear while none
  // has): lets a caller whose request timed out tell "server refused" from "server slow".
  [[nodiscard]] error_code last_error() const noexcept;

  // The owner operation: connects, keeps the connection healthy and reconnects with
  // backoff. Signature void(error_code). Completes with client_errc::shut_down after
  // cancel() or per-operation cancellation (terminal), or with the first fatal error
  // (is_fatal: bad credentials, TLS verification). Requests still pending then fail with
  // the same error. Run it once; the connection must outlive it.
  template <class Token = default_token>
  auto async_run(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(error_code)>(
        [this](auto handler) { initiate_run(std::move(handler)); }, token);
  }

  // Sends `req` and feeds its replies to `adapter`. Signature void(error_code): the error
  // is about transport and protocol (server error replies land in the adapter). `req` and
  // `adapter` must stay alive until completion.
  // Cancellation (per-operation): a request not yet written is withdrawn (any type) and
  // completes with operation_aborted: it never runs. One already written is abandoned on
  // terminal cancellation: the call completes at once with client_errc::outcome_unknown (the
  // command may still run) and its reply is read and dropped later, keeping the pipeline in
  // step.
  template <class Token = default_token>
  auto async_exec(const resp::request& req, resp::response_adapter& adapter, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(error_code)>(
        [this](auto handler, const resp::request* r, resp::response_adapter* a) {
          // Known only here, before type erasure: whether the caller runs on this
          // connection's executor, so that its completion may resume it directly.
          const auto caller_ex = boost::asio::get_associated_executor(handler, get_executor());
          bool same_executor = false;
          if constexpr (std::is_same_v<std::decay_t<decltype(caller_ex)>, executor_type>)
            same_executor = caller_ex == get_executor();
          initiate_exec(std::move(handler), *r, *a, same_executor);
        },
        token, &req, &adapter);
  }

  // Stops run(): closes the socket, fails pending requests with client_errc::shut_down.
  // Safe to call from the connection's executor at any time.
  void cancel();

  // Drops the current session as if the connection had been lost: written requests fail
  // with outcome_unknown and run() reconnects. For connections without health checks (a
  // dedicated blocking connection) whose caller noticed a reply is overdue (half-open).
  void drop_session();

  // Handler for RESP3 push messages (pub/sub, client tracking). Runs on the reader: must
  // not block. Pushes that arrive while no handler is set are counted and dropped.
  void set_push_handler(std::function<void(const resp::value&)> handler);

 private:
  using exec_handler = boost::asio::any_completion_handler<void(error_code)>;
  void initiate_run(exec_handler handler);
  void initiate_exec(exec_handler handler, const resp::request& req,
                     resp::response_adapter& adapter, bool same_executor);

  std::unique_ptr<detail::connection_impl> impl_;
};

}  // namespace streamq::redis

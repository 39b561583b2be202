#pragma once
// One Redis connection shared by any number of coroutines: requests are pipelined
// automatically (whatever queues while a write is in flight goes out in the next write) and
// replies are matched in order. The socket work lives in lib/; this header only type-erases
// completion handlers, so including it stays cheap.
//
// Threads: all of a connection's work runs on its executor. With an io_context run by several
// threads, that executor must be a strand. Every member below states its own thread safety;
// "any thread" means concurrently with each other and with the connection's work.

#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/redis/server_info.hpp>
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

// Each counter is exact when read; a stats() copy is not one snapshot of all of them.
struct connection_stats {
  std::uint64_t connects = 0;           // successful handshakes
  std::uint64_t connection_losses = 0;  // sessions that ended with an error
  std::uint64_t requests = 0;           // requests completed with a reply
  std::uint64_t writes = 0;             // socket writes (requests / writes = batching factor)
  std::uint64_t pushes = 0;             // RESP3 push messages received
  std::uint64_t peak_pending = 0;       // most requests admitted at once (<= max_pending_requests)
  // Requests taken and not yet completed (waiting, queued or written), as of the connection's
  // last intake, batch of replies, cancellation or failure: a gauge for monitoring.
  std::uint64_t in_flight = 0;
};

class connection {
 public:
  using executor_type = boost::asio::any_io_executor;
  using default_token = boost::asio::use_awaitable_t<executor_type>;

  // Validates `config` (throws std::invalid_argument naming the field). All work runs on
  // `ex`: with a multi-threaded io_context pass a strand.
  // Thread safety: any thread; nothing runs until async_run().
  connection(executor_type ex, connection_config config);
  // Destroying a connection whose run() has not ended cancels it: run() then completes with
  // client_errc::shut_down, and the state it works on lives until then. Work posted by
  // cancel() or drop_session() that has not run yet does nothing.
  // Thread safety: any thread, once no other member call on this object is in progress.
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Thread safety: any thread (both are fixed at construction).
  [[nodiscard]] executor_type get_executor() const noexcept;
  [[nodiscard]] const connection_config& config() const noexcept;
  // Thread safety: any thread. From outside the executor, the state may already have moved on.
  [[nodiscard]] connection_state state() const noexcept;
  // Thread safety: any thread; reading costs the connection nothing (its counters are relaxed
  // atomics that only its executor writes).
  [[nodiscard]] connection_stats stats() const noexcept;
  // Why the last connection attempt failed or the last session ended (clear while none
  // has): lets a caller whose request timed out tell "server refused" from "server slow".
  // Thread safety: any thread (a lock the connection takes only on errors and handler changes).
  [[nodiscard]] error_code last_error() const noexcept;
  // The server as the last handshake's HELLO described it (name "redis" or "valkey", version):
  // empty before the first session, and with resp=2 (no HELLO is sent then).
  // Thread safety: any thread (a lock the connection takes once per handshake).
  [[nodiscard]] server_info server() const;

  // The owner operation: connects, keeps the connection healthy and reconnects with
  // backoff. Signature void(error_code). Completes with client_errc::shut_down after
  // cancel(), per-operation cancellation (terminal) or destruction of the connection, or with
  // the first fatal error (is_fatal: bad credentials, TLS verification). Requests still
  // pending then fail with the same error. Run it once.
  // Thread safety: any thread; the loop itself runs on the connection's executor.
  template <class Token = default_token>
  auto async_run(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(error_code)>(
        [this](auto handler) { initiate_run(std::move(handler)); }, token);
  }

  // Sends `req` and feeds its replies to `adapter`. Signature void(error_code): the error
  // is about transport and protocol (server error replies land in the adapter). `req` and
  // `adapter` must stay alive until completion; so must the connection.
  // Cancellation (per-operation): a request not yet written is withdrawn (any type) and
  // completes with operation_aborted: it never runs. One already written is abandoned on
  // terminal cancellation: the call completes at once with client_errc::outcome_unknown (the
  // command may still run) and its reply is read and dropped later, keeping the pipeline in
  // step. A caller on another executor may cancel from its own thread: the cancellation is
  // carried onto the connection's executor.
  // Thread safety: any thread. From outside the executor the request is dispatched onto it;
  // its completion runs on the caller's associated executor (the connection's if it has none).
  template <class Token = default_token>
  auto async_exec(const resp::request& req, resp::response_adapter& adapter, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(error_code)>(
        [this](auto handler, const resp::request* r, resp::response_adapter* a) {
          // Known only here, before type erasure: whether the caller runs on this
          // connection's executor, so that its completion may resume it directly and its
          // cancellation needs no relay. A handler without an executor of its own (a future, a
          // plain callback) counts as foreign: it may be cancelled from any thread.
          const auto caller_ex = boost::asio::get_associated_executor(handler);
          bool same_executor = false;
          if constexpr (std::is_same_v<std::decay_t<decltype(caller_ex)>, executor_type>)
            same_executor = caller_ex == get_executor();
          initiate_exec(std::move(handler), *r, *a, same_executor);
        },
        token, &req, &adapter);
  }

  // Stops run(): closes the socket, fails pending requests with client_errc::shut_down.
  // Thread safety: any thread. On the executor it acts at once; from elsewhere it is
  // dispatched there (and does nothing if the connection is destroyed and run() has ended
  // before it gets to run).
  void cancel();

  // Drops the current session as if the connection had been lost: written requests fail
  // with outcome_unknown and run() reconnects. For connections without health checks (a
  // dedicated blocking connection) whose caller noticed a reply is overdue (half-open).
  // Thread safety: as cancel().
  void drop_session();

  // Handler for RESP3 push messages (pub/sub, client tracking). It is called on the
  // connection's executor, by the reader: it must not block. Pushes that arrive while no
  // handler is set are counted and dropped. An empty function removes the handler.
  // Thread safety: any thread, also from inside the handler. Pushes the reader takes up after
  // the call go to the new handler; a call of the old one already under way finishes.
  void set_push_handler(std::function<void(const resp::value&)> handler);

 private:
  using exec_handler = boost::asio::any_completion_handler<void(error_code)>;
  void initiate_run(exec_handler handler);
  void initiate_exec(exec_handler handler, const resp::request& req,
                     resp::response_adapter& adapter, bool same_executor);

  // Shared with run() and with work posted from other threads (see the destructor).
  std::shared_ptr<detail::connection_impl> impl_;
};

}  // namespace streamq::redis

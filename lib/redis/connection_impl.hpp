#pragma once
// The state behind a connection: request queues, the read buffer and parser, and the
// coroutines (session, reader, writer, health check) that alone touch the transport.

#include "transport.hpp"

#include <streamq/redis/connection.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/value.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace streamq::redis::detail {

using exec_handler = boost::asio::any_completion_handler<void(error_code)>;

inline constexpr std::size_t initial_read_buffer = 64 * 1024;

// One async_exec in flight. Pooled: the hot path allocates nothing once warm.
struct pending_op {
  enum class stage : std::uint8_t { waiting_room, queued, written };

  const resp::request* request = nullptr;     // until written or withdrawn
  resp::response_adapter* adapter = nullptr;  // null once abandoned
  exec_handler handler;
  boost::asio::cancellation_slot slot;
  std::size_t replies_left = 0;
  std::size_t reply_index = 0;
  stage where = stage::waiting_room;
  bool finished = false;         // handler already invoked (withdrawn or abandoned)
  bool internal = false;         // health check: skips the admission limit
  bool direct = false;           // caller runs on our executor: its handler may be called in place
  std::uint64_t generation = 0;  // bumped on reuse; stale cancellations compare unequal
};

class connection_impl {
 public:
  connection_impl(boost::asio::any_io_executor ex, connection_config config);

  boost::asio::any_io_executor executor() const noexcept { return ex_; }
  const connection_config& config() const noexcept { return config_; }
  connection_state state() const noexcept { return state_; }
  connection_stats stats() const noexcept { return stats_; }
  error_code last_error() const noexcept { return last_error_; }

  boost::asio::awaitable<error_code> run();
  // Called on the executor.
  void start_exec(exec_handler handler, const resp::request& req, resp::response_adapter& adapter,
                  bool internal = false, bool direct = false);
  // True when the caller is inside io_context::run() of this connection's io_context (a
  // plain io_context executor only; strands and others answer false).
  bool running_in_this_thread() const noexcept {
    return io_executor_ != nullptr && io_executor_->running_in_this_thread();
  }
  void cancel();
  void drop_session();
  void set_push_handler(std::function<void(const resp::value&)> handler) {
    push_handler_ = std::move(handler);
  }
  // From the cancellation slot of a request's caller.
  void on_cancel(pending_op* op, boost::asio::cancellation_type_t type);

 private:
  // session: one connected period
  boost::asio::awaitable<error_code> connect_and_handshake();
  boost::asio::awaitable<error_code> handshake();
  boost::asio::awaitable<error_code> reader();
  boost::asio::awaitable<error_code> writer();
  boost::asio::awaitable<error_code> health_checker();
  boost::asio::awaitable<void> wait_for_stop();
  void end_session(error_code ec);
  void reset_read_state();
  std::chrono::milliseconds next_backoff();

  // reply processing
  boost::asio::mutable_buffer prepare_read();
  std::optional<resp::node> next_node(error_code& ec);
  error_code process_buffer();

  // queue bookkeeping
  pending_op* acquire_op();
  void release_op(pending_op* op);
  void admit(pending_op* op);
  void on_admitted_removed();
  exec_handler take_handler(pending_op* op, bool from_cancel_slot);
  void invoke(exec_handler handler, error_code ec, bool defer);
  void fail_unwritten(error_code ec);
  void fail_written(error_code ec);
  void wake_writer();

  boost::asio::any_io_executor ex_;
  const boost::asio::io_context::executor_type* io_executor_;  // ex_'s target, if plain
  connection_config config_;
  transport transport_;
  resp::parser parser_;
  resp::attribute_filter attributes_;
  resp::value_builder push_builder_;
  std::function<void(const resp::value&)> push_handler_;

  std::string read_buffer_;
  std::size_t read_begin_ = 0;
  std::size_t read_end_ = 0;
  bool at_message_start_ = true;
  bool in_push_ = false;

  std::string write_buffer_;
  std::deque<pending_op*> waiting_room_;  // over max_pending_requests
  std::deque<pending_op*> queued_;        // admitted, not yet written
  std::deque<pending_op*> written_;       // written, awaiting replies, in order
  std::vector<pending_op*> unanswered_;   // written with no reply expected (SUBSCRIBE)
  std::vector<std::unique_ptr<pending_op>> pool_;
  std::vector<pending_op*> free_ops_;
  std::size_t admitted_ = 0;

  boost::asio::steady_timer writer_wake_;
  boost::asio::steady_timer stop_timer_;
  bool writer_idle_ = false;
  bool stopping_ = false;
  bool running_ = false;
  error_code final_error_;
  error_code last_error_;  // why run() ended, for requests arriving afterwards
  connection_state state_ = connection_state::idle;
  connection_stats stats_;
  unsigned failures_ = 0;
  std::minstd_rand jitter_rng_;
};

}  // namespace streamq::redis::detail

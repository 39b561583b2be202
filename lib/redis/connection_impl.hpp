#pragma once
// The state behind a connection: the request queue (request_queue.hpp) and the handlers of its
// requests, the read buffer and parser, and the coroutines (session, reader, writer, health
// check) that alone touch the transport.

#include "request_queue.hpp"
#include "sentinel/sentinel_rules.hpp"
#include "transport.hpp"

#include <streamq/redis/connection.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/value.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace streamq::redis::detail {

using exec_handler = boost::asio::any_completion_handler<void(error_code)>;

inline constexpr std::size_t initial_read_buffer = 64 * 1024;

// What connection_impl keeps per request besides the queue's op: the Asio half, in a table
// indexed by the queue's op ids (grown with its pool, so reused once warm).
struct op_handler {
  exec_handler handler;
  boost::asio::cancellation_slot slot;
  bool direct = false;  // caller runs on our executor: its handler may be called in place
};

// The counters behind connection_stats, readable from any thread. Only the connection's
// executor writes them, so an increment is a relaxed load and store (no locked instruction on
// the hot path); readers see each counter exact, the set not as one snapshot.
struct atomic_stats {
  using counter = std::atomic<std::uint64_t>;
  counter connects{0};
  counter connection_losses{0};
  counter requests{0};
  counter writes{0};
  counter pushes{0};
  counter peak_pending{0};
  counter in_flight{0};

  static void bump(counter& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  connection_stats snapshot() const noexcept;
};

using push_handler = std::function<void(const resp::value&)>;

// Lets a caller on another executor cancel its request. That caller's cancellation signal is
// emitted on its own thread, so the slot handler only carries the request onto ours; the
// request is found through this record, filled in on our executor when the request starts.
struct cancel_relay {
  request_queue::ticket ticket;  // set and read on the executor only; default matches nothing
};

// Owned through a shared_ptr: run() and work posted from other threads hold a reference, so
// a connection destroyed while either is pending leaves them a live object.
class connection_impl : public std::enable_shared_from_this<connection_impl> {
 public:
  connection_impl(boost::asio::any_io_executor ex, connection_config config);

  boost::asio::any_io_executor executor() const noexcept { return ex_; }
  const connection_config& config() const noexcept { return config_; }
  // These four are called from any thread.
  connection_state state() const noexcept { return state_.load(std::memory_order_relaxed); }
  connection_stats stats() const noexcept { return stats_.snapshot(); }
  error_code last_error() const noexcept {
    const std::lock_guard lock(shared_mutex_);
    return last_error_;
  }
  server_info server() const {
    const std::lock_guard lock(shared_mutex_);
    return server_;
  }
  void set_push_handler(push_handler handler);

  boost::asio::awaitable<error_code> run();
  // Called on the caller's thread when its completion does not run on our executor: installs
  // a relaying handler in the caller's cancellation slot (none when it has no slot). The
  // result goes to start_exec, which then leaves that slot alone.
  std::shared_ptr<cancel_relay> relay_cancellation(exec_handler& handler);
  // Called on the executor.
  void start_exec(exec_handler handler, const resp::request& req, resp::response_adapter& adapter,
                  bool internal = false, bool direct = false,
                  std::shared_ptr<cancel_relay> relay = nullptr);
  // True when the caller already runs on this connection's executor: inside
  // io_context::run() of a plain io_context executor, or inside an io_context strand.
  // Other executor types answer false (the caller then dispatches).
  bool running_in_this_thread() const noexcept {
    if (io_executor_ != nullptr) return io_executor_->running_in_this_thread();
    return strand_ != nullptr && strand_->running_in_this_thread();
  }
  void cancel();
  void drop_session();
  // From the cancellation slot of a request's caller, on the executor.
  void on_cancel(request_queue::ticket ticket, boost::asio::cancellation_type_t type);
  void on_relayed_cancel(const cancel_relay& relay, boost::asio::cancellation_type_t type);

 private:
  // the owner loop: sessions, one after the other, with backoff between them
  boost::asio::awaitable<error_code> run_sessions();
  // session: one connected period
  boost::asio::awaitable<error_code> connect_and_handshake();
  boost::asio::awaitable<error_code> handshake();
  // Reads `count` replies of the handshake phase (before the reader runs) into `adapter`.
  boost::asio::awaitable<error_code> read_replies(std::size_t count,
                                                  resp::response_adapter& adapter);
  // Sentinel mode (config_.sentinel.addresses not empty): the master's address from the
  // sentinels, before connecting; ROLE after the handshake; what a sentinel announces.
  bool sentinel_mode() const noexcept { return !config_.sentinel.addresses.empty(); }
  boost::asio::awaitable<error_code> resolve_master();
  boost::asio::awaitable<error_code> check_role();
  void on_sentinel_master(const sentinel::master_address& named);
  boost::asio::awaitable<error_code> reader();
  boost::asio::awaitable<error_code> writer();
  boost::asio::awaitable<error_code> health_checker();
  boost::asio::awaitable<void> wait_for_stop();
  void end_session(error_code ec);
  void reset_read_state();
  std::chrono::milliseconds next_backoff();
  void set_state(connection_state s) noexcept { state_.store(s, std::memory_order_relaxed); }
  void set_last_error(error_code ec) noexcept;
  void deliver_push(const resp::value& push);

  // reply processing
  boost::asio::mutable_buffer prepare_read();
  std::optional<resp::node> next_node(error_code& ec);
  error_code process_buffer();

  // handlers of the queue's requests
  exec_handler take_handler(op_handler& h, bool from_cancel_slot);
  void invoke(exec_handler handler, error_code ec, bool defer);
  void fail_unwritten(error_code ec);
  void fail_written(error_code ec);
  // Stores the requests taken and not completed into stats_.in_flight (connection_stats).
  void publish_in_flight() noexcept;
  // Only a connected session's writer sleeps; what is admitted while connecting is written
  // when the next session's writer starts.
  void wake_writer() {
    if (writer_idle_ && state() == connection_state::connected) {
      writer_idle_ = false;
      writer_wake_.cancel();
    }
  }

  using io_strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  boost::asio::any_io_executor ex_;
  const boost::asio::io_context::executor_type* io_executor_;  // ex_'s target, if plain
  const io_strand* strand_;                                    // ex_'s target, if a strand
  connection_config config_;
  transport transport_;
  resp::parser parser_;
  resp::attribute_filter attributes_;
  // The reader's copy of the push handler, refreshed when push_version_ moves on: a push
  // costs one atomic load, not a lock.
  std::shared_ptr<const push_handler> push_handler_;
  std::uint64_t push_seen_version_ = 0;

  std::string read_buffer_;
  std::size_t read_begin_ = 0;
  std::size_t read_end_ = 0;

  request_queue queue_;
  // Indexed by op id, as large as the queue's pool. Growing it move-constructs the handlers,
  // which Boost 1.81's any_completion_handler does right (only its move-assignment is broken).
  std::vector<op_handler> handlers_;
  std::size_t published_peak_ = 0;  // queue_.peak_admitted() as last stored in stats_

  boost::asio::steady_timer writer_wake_;
  boost::asio::steady_timer stop_timer_;
  bool writer_idle_ = false;
  // Sentinel mode. The sentinels in the order they are asked (the last that answered first);
  // the master the current or next session connects to; switches to another address announced
  // since (a connect under way when one comes is refused); a READONLY reply seen this session.
  std::vector<seed_address> sentinel_order_;
  std::optional<sentinel::master_address> target_;
  std::uint64_t switches_ = 0;
  bool demoted_ = false;
  bool stopping_ = false;
  bool running_ = false;
  error_code final_error_;  // why run() ended, for requests arriving afterwards
  std::atomic<connection_state> state_{connection_state::idle};
  atomic_stats stats_;

  // Written by other threads, or read by them: guarded by shared_mutex_.
  mutable std::mutex shared_mutex_;
  error_code last_error_;  // why the last connection attempt or session failed
  server_info server_;     // from the last handshake's HELLO
  std::shared_ptr<const push_handler> push_handler_shared_;
  std::atomic<std::uint64_t> push_version_{0};  // bumped under the mutex by set_push_handler
  unsigned failures_ = 0;
  std::minstd_rand jitter_rng_;
};

}  // namespace streamq::redis::detail

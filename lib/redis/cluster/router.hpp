#pragma once
// The runner behind streamq::client when it may face a Redis Cluster: detects the mode at
// run(), reads the topology, keeps one pipelined connection per master, routes each request to
// the master of its slot and follows MOVED, ASK, TRYAGAIN and CLUSTERDOWN by the pure rules of
// retry_rules.hpp. It alone owns coroutines and connections; every decision is made by the pure
// parts (slot_map, redirect_adapter, decide_retry, cluster_commands).
//
// Ownership: shared by the client and by run() and every request in progress, so a client
// destroyed mid-run leaves them a live object; stop() (the client's destructor calls it) ends
// run(), which cancels every connection and awaits their run() before completing.
//
// Threads: all state lives on the executor (a strand with a multi-threaded io_context).
// start_run, start_exec and stop may be called from any thread; direct() too.

#include "redirect_adapter.hpp"
#include "retry_rules.hpp"
#include "topology.hpp"

#include <streamq/client.hpp>  // master_connection
#include <streamq/redis/config.hpp>
#include <streamq/redis/connection.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::redis::cluster {

class router : public std::enable_shared_from_this<router> {
 public:
  using executor_type = connection::executor_type;
  using exec_handler = boost::asio::any_completion_handler<void(error_code)>;

  // `seed` is the client's shared connection (to config.host:port); the router runs it.
  router(std::shared_ptr<connection> seed, connection_config config);

  // True once run() found a standalone server: requests then go straight to the seed
  // connection, without the router. Any thread.
  [[nodiscard]] bool direct() const noexcept { return direct_.load(std::memory_order_acquire); }

  // client::async_run: the owner operation (see client.hpp). Any thread.
  void start_run(exec_handler handler);
  // client::async_exec when not direct(). Any thread.
  void start_exec(exec_handler handler, const resp::request& req, resp::response_adapter& adapter,
                  bool same_executor);
  // Ends run(). Any thread.
  void stop();

  // The master serving `slot` according to the slot map now, as "host:port"; empty outside
  // cluster mode or when no master is known for it. On the executor only.
  [[nodiscard]] std::string master_of(std::uint16_t slot) const;
  // client::async_refresh_topology: asks for a topology read and completes (with no error)
  // once one ended, or at once outside cluster mode; client_errc::cluster_unavailable when
  // none ended within the retry deadline. Any thread.
  void start_refresh(exec_handler handler);

  // The connection of each master as route() last mapped the slots (the seed's connection,
  // which reads the topology, is not among them), with its "host:port". Any thread.
  [[nodiscard]] std::vector<master_connection> masters() const;

  // A blocking-capable connection to the master serving `slot` (the seed when the topology is
  // not known or `slot` is empty). On the executor only.
  [[nodiscard]] std::unique_ptr<connection> make_dedicated(std::optional<std::uint16_t> slot,
                                                           connection_config config) const;

 private:
  enum class mode : std::uint8_t { detecting, standalone, cluster, stopped };
  struct node_connection {
    node_address address;
    std::shared_ptr<connection> conn;
  };

  boost::asio::awaitable<error_code> run();
  boost::asio::awaitable<error_code> serve();
  boost::asio::awaitable<error_code> detect(bool& cluster);
  boost::asio::awaitable<error_code> maintain_topology();
  // start_refresh's body; holds the router alive while it runs.
  static boost::asio::awaitable<error_code> refresh_now(std::shared_ptr<router> self);
  boost::asio::awaitable<bool> refresh();
  boost::asio::awaitable<bool> refresh_from(connection& conn);
  boost::asio::awaitable<void> shut_down();
  boost::asio::awaitable<error_code> exec(const resp::request& req,
                                          resp::response_adapter& adapter);
  // start_exec's coroutine path: mode detection, topology waits, redirections, retries.
  void start_routed_exec(exec_handler handler, const resp::request& req,
                         resp::response_adapter& adapter, bool same_executor);
  // start_exec's fast path, on the executor: a single-slot request whose master is known goes
  // straight to its connection; a fault on the way hands it to the coroutine path. False
  // (`handler` untouched) when it does not apply.
  bool try_fast_exec(exec_handler& handler, const resp::request& req,
                     resp::response_adapter& adapter);
  void finish_fast_exec(exec_handler handler, redirect_adapter& wrap, const resp::request& req,
                        resp::response_adapter& adapter, const std::string& host,
                        error_code ec);
  boost::asio::awaitable<error_code> exec_routed(const resp::request& req,
                                                 resp::response_adapter& adapter);
  // A pipeline over several slots (request_split.hpp): its parts run concurrently, each as
  // exec_routed; the caller's adapter gets every reply, in order, when all parts succeeded.
  boost::asio::awaitable<error_code> exec_split(const resp::request& req,
                                                resp::response_adapter& adapter);

  // Waits until the topology event fires, `limit` passes, or the caller is cancelled; true
  // when it fired.
  boost::asio::awaitable<bool> wait_topology(std::chrono::steady_clock::duration limit);
  boost::asio::awaitable<bool> sleep(std::chrono::steady_clock::duration d);
  [[nodiscard]] boost::asio::awaitable<bool> caller_cancelled() const;

  void request_refresh();
  void stop_on_executor();
  // The connection to `address`, made and started (as a child of run()) when missing.
  std::shared_ptr<connection> connection_for(const node_address& address);
  // The connection to the master serving `slot` (any master when empty); nullptr when the
  // map has none.
  connection* route(std::optional<std::uint16_t> slot);
  void start_child(const std::shared_ptr<connection>& conn);

  executor_type ex_;
  connection_config config_;
  retry_limits limits_;
  std::shared_ptr<connection> seed_;
  std::atomic<bool> direct_{false};

  mode mode_ = mode::detecting;
  bool stopping_ = false;
  bool refresh_requested_ = false;
  std::optional<error_code> seed_result_;  // the seed's run() ended with this
  std::optional<error_code> fatal_;        // a connection's run() ended with a fatal error
  slot_map map_;
  // The connections route() and refresh() made, one per node address (the seed is not
  // among them: it keeps the caller's keep_unwritten_on_disconnect, these do not).
  std::vector<node_connection> nodes_;
  // route(): the connection of each shard of map_, for map_.version() == routes_version_.
  std::vector<connection*> routes_;
  std::uint64_t routes_version_ = static_cast<std::uint64_t>(-1);
  // masters(): what route() mapped last, for readers on any thread (metrics).
  mutable std::mutex masters_mutex_;
  std::vector<master_connection> masters_;
  std::size_t live_children_ = 0;

  // Events: a timer at the far future that cancel() fires (waiters wake with
  // operation_aborted, the expiry stays, later waiters wait again).
  boost::asio::steady_timer topology_event_;  // mode known, topology read, stopping
  boost::asio::steady_timer children_event_;  // a child connection's run() ended
  boost::asio::steady_timer refresh_timer_;   // the topology loop's next read; cancel() = now
};

}  // namespace streamq::redis::cluster

#pragma once
// streamq::client: the object higher layers hold. Against one server it owns the shared
// pipelined connection every ordinary command goes through; against a Redis Cluster it owns
// one such connection per master and routes each request to the master of its slot. It makes
// dedicated connections for blocking commands (XREADGROUP ... BLOCK, BLPOP, WAIT), which must
// never stall a shared pipeline.
//
// Which of the two: connection_config::cluster.mode (URL option cluster=auto|on|off; several
// comma-separated addresses in the URL mean auto). `off` (the default with one address) is
// today's client exactly: no probe, no router. `auto` asks the first seed `INFO cluster` at
// async_run(); a standalone server then gets the same direct path as `off` (requests made
// before the answer wait for it). In cluster mode:
// - the topology is read with CLUSTER SHARDS (CLUSTER SLOTS on servers without it) from the
//   masters, else the seeds; again after MOVED, CLUSTERDOWN, and every
//   cluster.refresh_interval;
// - a pipeline of independent commands whose keys (arguments marked resp::key) fall in
//   several slots is split: one request per slot, run concurrently, the replies handed to the
//   adapter in the pipeline's order once all succeeded (commands of different slots are not
//   ordered against each other). A transaction or a command whose own keys span slots is
//   refused with client_errc::cross_slot before sending; a request without keys goes to any
//   master;
// - MOVED updates the slot map and resends; ASK resends once to the target behind ASKING;
//   TRYAGAIN and CLUSTERDOWN back off and resend, all within cluster.retry_deadline and
//   cluster.max_attempts. A request is resent only when nothing of it ran (every reply was a
//   redirection, or a MULTI ... EXEC answered EXECABORT); otherwise, and when the limits are
//   reached, the caller's adapter gets the replies as the server sent them, redirection
//   errors included. A request written when its node failed completes with
//   client_errc::outcome_unknown and is never resent.
//
// Threads: as redis::connection. With an io_context run by several threads, give the client
// a strand; every member states its thread safety.

#include <streamq/redis/connection.hpp>

#include <boost/asio/post.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace streamq {

namespace redis::cluster {
class router;
}

// One master's pipelined connection in cluster mode (client::master_connections()).
struct master_connection {
  std::string node;  // "host:port" ("[::1]:7000" for IPv6)
  std::shared_ptr<redis::connection> connection;
};

class client {
 public:
  using executor_type = redis::connection::executor_type;
  using default_token = redis::connection::default_token;

  // Throws std::invalid_argument naming the field when `config` is invalid.
  client(executor_type ex, redis::connection_config config);
  // Parses `url` with redis::parse_url.
  // Thread safety (both): any thread; nothing runs until async_run().
  client(executor_type ex, std::string_view url);
  // Stops async_run() if it is still going (it completes with client_errc::shut_down).
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Thread safety: any thread (fixed at construction; the connection's members document
  // their own).
  [[nodiscard]] executor_type get_executor() const noexcept { return shared_->get_executor(); }
  [[nodiscard]] const redis::connection_config& config() const noexcept {
    return shared_->config();
  }
  // The connection to the configured server (in cluster mode: to the first seed, which the
  // client also uses to read the topology; requests go through async_exec instead).
  [[nodiscard]] redis::connection& shared_connection() noexcept { return *shared_; }

  // The owner operation. Signature void(error_code). Standalone: the shared connection's
  // run (see connection::async_run). Cluster: detects the mode (cluster=auto), reads the
  // topology and keeps it current, and runs every per-master connection; ends with
  // client_errc::shut_down after cancel(), per-operation cancellation (terminal) or the
  // client's destruction, having cancelled and awaited every connection it made. Run it once.
  // Thread safety: any thread.
  template <class Token = default_token>
  auto async_run(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(redis::error_code)>(
        [this](auto handler) {
          if (router_ == nullptr)
            shared_->async_run(std::move(handler));
          else
            initiate_routed_run(std::move(handler));
        },
        token);
  }

  // Sends `req` and feeds its replies to `adapter`. Signature void(error_code): the error
  // is about transport, protocol and routing (server error replies land in the adapter;
  // client_errc::cross_slot and cluster_unavailable are the router's). `req` and `adapter`
  // must stay alive until completion; so must the client.
  // Cancellation (per-operation): a request not yet written is withdrawn (any type) and
  // completes with operation_aborted: it never runs. One already written is abandoned on
  // terminal cancellation: the call completes at once with client_errc::outcome_unknown (the
  // command may still run) and its reply is read and dropped later, keeping the pipeline in
  // step. A caller on another executor may cancel from its own thread: the cancellation is
  // carried onto the client's executor. In cluster mode, a request cancelled between two
  // sends (while backing off or waiting for a topology) completes with operation_aborted:
  // none of its earlier sends ran.
  // Thread safety: any thread. From outside the executor the request is dispatched onto it;
  // its completion runs on the caller's associated executor (the client's if it has none).
  template <class Token = default_token>
  auto async_exec(const resp::request& req, resp::response_adapter& adapter, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(redis::error_code)>(
        [this](auto handler, const resp::request* r, resp::response_adapter* a) {
          // Standalone (cluster=off, or auto once a standalone server answered): straight to
          // the connection, the handler untouched: no allocation, one branch.
          if (router_ == nullptr || routed_direct()) {
            shared_->async_exec(*r, *a, std::move(handler));
            return;
          }
          const auto caller_ex = boost::asio::get_associated_executor(handler);
          bool same_executor = false;
          if constexpr (std::is_same_v<std::decay_t<decltype(caller_ex)>, executor_type>)
            same_executor = caller_ex == get_executor();
          initiate_routed_exec(std::move(handler), *r, *a, same_executor);
        },
        token, &req, &adapter);
  }

  // A new connection with this client's settings that accepts blocking commands and sends
  // no health-check PINGs (they would queue behind a BLOCK). The caller owns it and must
  // run it (async_run) alongside its use, for instance in the same parallel group.
  // It connects to the configured server (in cluster mode: the first seed; use
  // make_dedicated_connection_for_slot there).
  // Thread safety: any thread.
  [[nodiscard]] std::unique_ptr<redis::connection> make_dedicated_connection(
      std::string_view client_name_suffix = "blocking") const;

  // As make_dedicated_connection, to the master that serves `slot` (resp::hash_slot of the
  // keys the blocking command will read) according to the topology known now; standalone, or
  // before the topology is known, to the configured server. When the slot moves later, the
  // blocking command is answered with MOVED: make a new one for the slot then.
  // Thread safety: on the client's executor only (it reads the slot map).
  [[nodiscard]] std::unique_ptr<redis::connection> make_dedicated_connection_for_slot(
      std::uint16_t slot, std::string_view client_name_suffix = "blocking") const;

  // The server as its handshake described it (redis::connection::server): standalone, the
  // server; in cluster mode, the first seed (a cluster's nodes run one version in practice).
  // Thread safety: any thread.
  [[nodiscard]] redis::server_info server() const { return shared_->server(); }

  // The master that serves `slot` according to the topology known now, as "host:port"; empty
  // when standalone (or cluster=auto before the mode is known) and when no master is known
  // for it. Lets a caller group keys by node, e.g. one blocking reader per master.
  // Thread safety: on the client's executor only.
  [[nodiscard]] std::string node_for_slot(std::uint16_t slot) const;

  // In cluster mode, the connection of each master, as the last routed request found the
  // slot map (empty before any was routed, and when standalone); for per-node statistics
  // (connection::stats(), state()). The shared connection (the first seed's, which reads the
  // topology) is not among them. Thread safety: any thread.
  [[nodiscard]] std::vector<master_connection> master_connections() const;

  // Reads the cluster topology again now (after a blocking command on a dedicated connection
  // met MOVED, say) and completes once that read ended. Signature void(error_code):
  // client_errc::cluster_unavailable when no read ended within cluster.retry_deadline,
  // shut_down once the client is stopping; completes at once, without error, standalone.
  // Cancellation: none; it is bounded by cluster.retry_deadline.
  // Thread safety: any thread.
  template <class Token = default_token>
  auto async_refresh_topology(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(redis::error_code)>(
        [this](auto handler) {
          if (router_ == nullptr) {
            auto ex = boost::asio::get_associated_executor(handler, get_executor());
            boost::asio::post(ex, [h = std::move(handler)]() mutable { std::move(h)(redis::error_code{}); });
            return;
          }
          initiate_refresh(std::move(handler));
        },
        token);
  }

  // Shuts the client down: the shared connection (see connection::cancel), and in cluster
  // mode every connection the router made, ending async_run().
  // Thread safety: any thread.
  void cancel();

 private:
  using exec_handler = boost::asio::any_completion_handler<void(redis::error_code)>;
  [[nodiscard]] bool routed_direct() const noexcept;
  void initiate_routed_run(exec_handler handler);
  void initiate_refresh(exec_handler handler);
  void initiate_routed_exec(exec_handler handler, const resp::request& req,
                            resp::response_adapter& adapter, bool same_executor);
  [[nodiscard]] redis::connection_config dedicated_config(std::string_view suffix) const;

  std::shared_ptr<redis::connection> shared_;
  // Null with cluster_mode::off: the client is its shared connection and nothing else.
  std::shared_ptr<redis::cluster::router> router_;
};

}  // namespace streamq

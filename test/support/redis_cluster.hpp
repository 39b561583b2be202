#pragma once
// A throwaway Redis Cluster for integration tests: masters and their replicas, each one
// redis_server (its own temp dir and free loopback ports, killed with the thread that made it),
// joined with `redis-cli --cluster create` and torn down by the destructor. Like redis_server
// it uses std, POSIX and the redis-cli tool only, so it shares no code, and no bug, with the
// client under test.
//
// Nodes are numbered in the order they were started (0.. masters*(1+replicas)-1, then those
// add_master() adds); a number stays with its process across kill() and restart(). Roles change
// (failover) and are read from the cluster each time they are asked for.
//
// Threading: not thread-safe; use one object from one thread at a time (a test's fault thread
// may drive it while the test thread waits). The nodes' processes live as long as the object,
// whichever thread started them: they are started on a thread the object owns.

#include "redis_server.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamq::test {

struct redis_cluster_options {
  std::size_t masters = 3;
  std::size_t replicas_per_master = 1;
  // cluster-node-timeout: how long a node may be unreachable before it is marked failed and a
  // replica takes over. Short enough that failover tests are quick, long enough that two busy
  // CPU cores do not fail a node by accident.
  std::chrono::milliseconds node_timeout{2000};
  // Appended to every redis-server command line.
  std::vector<std::string> extra_args;
  // Limit of every wait: creation, wait_until_ok(), failover(), migration steps.
  std::chrono::seconds wait_limit{30};
};

enum class cluster_role { master, replica };

// One node as the cluster sees it (CLUSTER NODES of a running node), plus what the fixture
// knows about its process.
struct cluster_node_info {
  std::size_t index = 0;
  std::uint16_t port = 0;
  std::string id;
  cluster_role role = cluster_role::master;
  std::size_t master = npos;  // a replica's master; npos for masters
  bool failed = false;        // flagged "fail" or "fail?"
  bool connected = false;     // link up (or the node itself), past the handshake
  bool running = false;       // the fixture's process is up
  std::vector<std::pair<std::uint16_t, std::uint16_t>> slots;  // inclusive ranges

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

class redis_cluster {
 public:
  using options = redis_cluster_options;

  // Starts the nodes, creates the cluster and returns once wait_until_ok() holds. Throws
  // std::runtime_error (with redis-cli's output or the nodes' views) when it cannot.
  redis_cluster();
  explicit redis_cluster(options opts);
  ~redis_cluster();  // every node stopped, every dir removed

  redis_cluster(const redis_cluster&) = delete;
  redis_cluster& operator=(const redis_cluster&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
  [[nodiscard]] std::uint16_t port(std::size_t node) const;
  [[nodiscard]] const std::string& id(std::size_t node) const;  // CLUSTER MYID
  [[nodiscard]] bool running(std::size_t node) const;
  [[nodiscard]] std::string url(std::size_t node) const;              // redis://127.0.0.1:PORT
  [[nodiscard]] redis_server& server(std::size_t node);               // pause(), log_tail(), ...
  [[nodiscard]] std::size_t index_of_port(std::uint16_t port) const;  // throws if unknown

  // Every node, as the first running node sees the cluster now.
  [[nodiscard]] std::vector<cluster_node_info> nodes() const;
  [[nodiscard]] cluster_role role(std::size_t node) const;
  [[nodiscard]] std::vector<std::size_t> masters() const;  // running masters that serve slots
  [[nodiscard]] std::vector<std::size_t> replicas_of(std::size_t master) const;
  // The master serving `slot`; throws when none does.
  [[nodiscard]] std::size_t owner(std::uint16_t slot) const;

  // Returns once every running node reports cluster_state:ok, all of them list the same
  // masters with the same slots, each running node knows every other as healthy, every slot
  // owner is a running node, and every running replica's link to its master is up.
  void wait_until_ok() const;

  void kill(std::size_t node);     // SIGKILL; the others notice after node_timeout
  void restart(std::size_t node);  // same ports, dir and nodes.conf: rejoins under its id
  // CLUSTER FAILOVER on `replica` (once its link to the master is up); returns when every node
  // sees it as the master and wait_until_ok() holds.
  void failover(std::size_t replica);

  // Moving one slot, in the steps a test may act between (ASK is answered between begin and
  // finish).
  struct slot_migration {
    std::uint16_t slot = 0;
    std::size_t from = 0;
    std::size_t to = 0;
  };
  // CLUSTER SETSLOT <slot> IMPORTING on `to`, then MIGRATING on the slot's owner.
  slot_migration begin_migration(std::uint16_t slot, std::size_t to);
  // MIGRATE of the slot's keys, `batch` at a time, until the source has none; returns how many.
  std::size_t migrate_keys(const slot_migration& m, std::size_t batch = 100);
  // CLUSTER SETSLOT <slot> NODE on the target, the source, then every other master; returns
  // when wait_until_ok() holds.
  void finish_migration(const slot_migration& m);
  void move_slot(std::uint16_t slot, std::size_t to);  // all three steps

  // Starts a node, introduces it (CLUSTER MEET) and returns its index once every node knows
  // it: a master without slots.
  std::size_t add_master();
  // `redis-cli --cluster reshard`: moves `count` slots from `from` to `to`, keys included;
  // returns when wait_until_ok() holds.
  void reshard(std::size_t from, std::size_t to, std::size_t count);

  // One command on a fresh connection to `node`; the raw RESP2 reply (redis_server::command).
  std::string command(std::size_t node, const std::vector<std::string>& args) const;
  // Several commands on one connection (e.g. ASKING then GET); their raw RESP2 replies.
  std::vector<std::string> pipeline(std::size_t node,
                                    const std::vector<std::vector<std::string>>& commands) const;
  // `redis-cli -p PORT args...` (add "-c" to follow redirections); what it printed.
  std::string cli(std::size_t node, const std::vector<std::string>& args) const;

 private:
  std::size_t start_node();
  std::vector<cluster_node_info> view(std::size_t from) const;
  // Empty when ok, else why not (for the timeout message).
  std::string not_ok_reason() const;
  std::size_t first_running() const;
  std::string tool_output(const std::vector<std::string>& argv) const;

  class spawner;

  options opts_;
  std::unique_ptr<spawner> spawner_;  // before nodes_: outlives them
  std::string dir_;                   // redis-cli logs
  std::vector<std::unique_ptr<redis_server>> nodes_;
  std::vector<std::uint16_t> bus_ports_;
  std::vector<std::string> ids_;
};

}  // namespace streamq::test

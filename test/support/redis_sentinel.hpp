#pragma once
// A throwaway Redis Sentinel deployment for integration tests: a master and one replica (each a
// redis_server on free loopback ports) watched by sentinels (`redis-server <conf> --sentinel`,
// each in a temp dir of its own, since sentinels rewrite their configuration file), all torn
// down by the destructor. Like redis_server and redis_cluster it uses std, POSIX and the
// redis-server binary only, so it shares no code, and no bug, with the client under test.
//
// Data nodes are numbered 0 (started as the master) and 1 (started as its replica); a number
// stays with its process across kill and restart. With options.tls_data the sentinels know
// the data nodes by their TLS ports only (monitored_port()); the plain ports (data_port()) are
// the fixture's own way in. Which one is the master changes (failover)
// and is asked of the sentinels each time. Every wait is bounded by options.wait_limit and
// throws std::runtime_error with what it was waiting for.
//
// Threading: not thread-safe; use one object from one thread at a time. Processes are killed
// when the thread that started them exits (redis_server's rule), so construct and restart on
// the test's own thread; kill_master() and failover() may run on a helper thread.

#include "redis_server.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace streamq::test {

struct redis_sentinel_options {
  std::string master_name = "mymaster";
  std::size_t sentinels = 3;
  unsigned quorum = 2;
  // sentinel down-after-milliseconds and failover-timeout: short, so failovers are quick.
  std::chrono::milliseconds down_after{1000};
  std::chrono::milliseconds failover_timeout{5000};
  // Password of the data nodes' default user (requirepass and masterauth on both; the
  // sentinels get `sentinel auth-pass`).
  std::optional<std::string> data_password;
  // Password of the sentinels' default user (their requirepass, and `sentinel sentinel-pass` so
  // that they still talk to each other).
  std::optional<std::string> sentinel_password;
  // The sentinels also listen with TLS on sentinel_tls_port(i), with data node 0's generated
  // certificates (ca_cert(), client_cert(), client_key()); clients need no certificate.
  bool tls = false;
  // TLS to the data nodes: both also listen with TLS on data_tls_port(i), with data node 0's
  // certificates (one CA, ca_cert(), for the whole deployment; a client must show a
  // certificate of it: client_cert(), client_key()), replicate over TLS (tls-replication yes)
  // and announce their TLS ports. The sentinels get TLS ports of their own (they announce
  // those to each other) and talk TLS to the data nodes and to each other; they monitor, and
  // name to clients, the TLS ports alone. The plain ports stay because redis_server's
  // readiness probe and command() speak plain TCP; no sentinel ever names one.
  bool tls_data = false;
  // Appended to both data nodes' command lines.
  std::vector<std::string> data_args;
  std::chrono::seconds wait_limit{30};
};

class redis_sentinel {
 public:
  using options = redis_sentinel_options;

  // Starts the master, its replica (in sync), then the sentinels; returns once
  // wait_until_ready() holds.
  redis_sentinel();
  explicit redis_sentinel(options opts);
  ~redis_sentinel();  // sentinels, then data nodes killed; every dir removed

  redis_sentinel(const redis_sentinel&) = delete;
  redis_sentinel& operator=(const redis_sentinel&) = delete;

  [[nodiscard]] const std::string& master_name() const noexcept { return opts_.master_name; }
  [[nodiscard]] redis_server& data_node(std::size_t i);
  [[nodiscard]] const redis_server& data_node(std::size_t i) const;
  [[nodiscard]] std::uint16_t data_port(std::size_t i) const;
  [[nodiscard]] std::uint16_t data_tls_port(std::size_t i) const;  // 0 unless options.tls_data
  // The port the sentinels monitor data node i on, and its replicas replicate from:
  // data_tls_port(i) with options.tls_data, else data_port(i).
  [[nodiscard]] std::uint16_t monitored_port(std::size_t i) const;
  // The data node listening on `port` (plain or TLS); throws if none does.
  [[nodiscard]] std::size_t index_of_port(std::uint16_t port) const;
  [[nodiscard]] std::size_t sentinel_count() const noexcept { return sentinels_.size(); }
  [[nodiscard]] std::uint16_t sentinel_port(std::size_t i) const;
  // 0 unless options.tls or options.tls_data.
  [[nodiscard]] std::uint16_t sentinel_tls_port(std::size_t i) const;
  // PEM files; empty unless options.tls or options.tls_data. other_ca_cert() signed nothing
  // here.
  [[nodiscard]] std::string ca_cert() const;
  [[nodiscard]] std::string client_cert() const;
  [[nodiscard]] std::string client_key() const;
  [[nodiscard]] std::string other_ca_cert() const;
  // redis+sentinel://127.0.0.1:S1,127.0.0.1:S2,.../<master name> (plain TCP, no credentials).
  [[nodiscard]] std::string url() const;

  // The master as every running sentinel names it now (SENTINEL GET-MASTER-ADDR-BY-NAME);
  // throws when they disagree or one names a node we did not start.
  [[nodiscard]] std::size_t master() const;
  [[nodiscard]] std::uint16_t master_port() const { return data_port(master()); }  // plain
  // The data node that is not master().
  [[nodiscard]] std::size_t replica() const { return 1 - master(); }
  // The first word of ROLE on data node i ("master", "slave").
  [[nodiscard]] std::string role(std::size_t i) const;

  // Returns once every running sentinel names the same master, whose ROLE says master; each
  // knows the other running sentinels and sees every other running data node as a replica
  // with its link up; and those replicas say so too (INFO replication).
  void wait_until_ready() const;
  // SENTINEL FAILOVER through sentinel `via` (once the deployment is ready); returns the new
  // master's index once every running sentinel names it and its ROLE says master. The old
  // master is converted into a replica by the sentinels about 10 s later (wait_replicating).
  // Sentinel does not fence the old master: it takes writes until clients hear of the switch,
  // and the new master never gets them. `fence_writes`: first CLIENT PAUSE WRITE on the old
  // master and wait until the replica has everything (what CLUSTER FAILOVER does by itself),
  // lifted (CLIENT UNPAUSE) once the switch is done.
  std::size_t failover(std::size_t via = 0, bool fence_writes = false);
  // SIGKILL of the master; returns the promoted replica's index once every running sentinel
  // names it and its ROLE says master.
  std::size_t kill_master();
  // Restarts a killed data node on the same ports and dir (the sentinels then make it a
  // replica of the current master: wait_replicating).
  void restart_data_node(std::size_t i);
  // Returns once data node i replicates from the current master with its link up.
  void wait_replicating(std::size_t i) const;

  // One command to sentinel i (AUTH first if it has a password); the raw RESP2 reply.
  [[nodiscard]] std::string sentinel_command(std::size_t i,
                                             const std::vector<std::string>& args) const;
  [[nodiscard]] std::string sentinel_log_tail(std::size_t i, std::size_t lines = 30) const;

 private:
  struct sentinel_process {
    std::string dir;
    std::uint16_t port = 0;
    std::uint16_t tls_port = 0;
    pid_t pid = -1;
  };

  // Whether the sentinels listen with TLS too (options.tls or options.tls_data).
  [[nodiscard]] bool sentinel_tls() const noexcept { return opts_.tls || opts_.tls_data; }
  void start_sentinel(sentinel_process& s, std::uint16_t master_port);
  std::string sentinel_config(const sentinel_process& s, std::uint16_t master_port) const;
  bool sentinel_ready(sentinel_process& s) const;
  void stop_sentinel(sentinel_process& s);
  // Empty when ready, else why not (for the timeout message).
  std::string not_ready_reason() const;
  // The master's port as sentinel i names it; 0 if it does not answer with one.
  std::uint16_t named_port(std::size_t i) const;
  // Waits until every running sentinel names a master other than `old` whose ROLE says master.
  std::size_t wait_new_master(std::size_t old, const char* what) const;
  [[noreturn]] void timed_out(const std::string& what, const std::string& reason) const;

  options opts_;
  std::vector<std::unique_ptr<redis_server>> data_;
  std::vector<sentinel_process> sentinels_;
};

}  // namespace streamq::test

#pragma once
// A throwaway redis-server for integration tests: one process per object, in its own temp dir,
// on free loopback ports, removed again by the destructor. Deliberately independent of streamq
// (std + POSIX only) so a bug in the library can never hide a bug in the fixture.
//
// Threading: not thread-safe; use one object from one thread. On Linux the server is killed if
// the thread that constructed (or restarted) it exits, so a crashed test never leaks a server.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::test {

struct redis_server_options {
  // The server program; empty: $STREAMQ_REDIS_SERVER, else redis-server. A test of behaviour
  // that differs between servers (a command only a newer one has) names its program here.
  std::string program;
  // Appended verbatim to the redis-server command line, e.g. {"--maxmemory", "10mb"}.
  std::vector<std::string> extra_args;
  // `--enable-debug-command local`: DEBUG SLEEP / DEBUG PROTOCOL from loopback only.
  bool enable_debug_command = true;
  // Password of the default user. command() and the readiness probe AUTH with it.
  std::optional<std::string> requirepass;
  // Raw ACL rules, one per user, written to an aclfile, e.g. "user alice on >pw ~app:* +@all".
  // If requirepass is set and no rule names the default user, one giving it that password is added.
  std::vector<std::string> acl_users;
  // Also listen on dir()/redis.sock (unixsocketperm 700).
  bool unix_socket = false;
  // Also listen with TLS on tls_port(); certificates are generated in dir() with the openssl CLI.
  bool tls = false;
  std::string tls_auth_clients = "yes";  // "yes" | "no" | "optional"
  std::string appendonly = "no";         // "yes" | "no"
  std::string appendfsync = "everysec";  // "always" | "everysec" | "no"
  // RDB snapshots at Redis' default save points (and on graceful stop). Off: `--save ""`.
  bool persistence = false;
};

class redis_server {
 public:
  using options = redis_server_options;

  // Starts the server and waits until it answers PING (10 s). Throws std::invalid_argument for
  // a bad option value, std::runtime_error (with the server's log tail) if it does not come up.
  redis_server();
  explicit redis_server(options opts);
  ~redis_server();  // stop() then remove dir()

  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t tls_port() const noexcept { return tls_port_; }         // 0 unless options.tls
  const std::string& unix_path() const noexcept { return unix_path_; }  // empty unless unix_socket
  const std::string& dir() const noexcept { return dir_; }
  std::string url() const;       // redis://127.0.0.1:PORT
  std::string tls_url() const;   // rediss://localhost:TLSPORT (the server cert names localhost)
  std::string unix_url() const;  // unix://PATH

  // PEM files in dir(); empty unless options.tls. other_ca_cert() signed nothing we use.
  std::string ca_cert() const;
  std::string client_cert() const;
  std::string client_key() const;
  std::string other_ca_cert() const;

  pid_t pid() const noexcept { return pid_; }  // -1 while not running
  bool running() const noexcept { return pid_ > 0; }

  void stop();     // SIGTERM (and SIGCONT, in case it is paused), SIGKILL after 5 s; reaps it
  void kill();     // SIGKILL; reaps it
  void restart();  // stop() if running, then start on the same ports, dir and options
  void pause();    // SIGSTOP: the server hangs with its sockets open
  void resume();   // SIGCONT

  // Sends one command on a fresh plain-TCP connection (AUTH first if requirepass) and returns
  // the raw RESP2 reply text, e.g. "+OK\r\n". Understands + - : $ * replies (nested arrays
  // included); anything else is returned up to its first CRLF. Not for RESP3 (no HELLO 3).
  // Throws std::runtime_error on connection failure or after 10 s without a full reply.
  std::string command(const std::vector<std::string>& args) const;

  std::string log_tail(std::size_t lines = 30) const;

 private:
  void write_config_files();
  void generate_certificates();
  std::vector<std::string> server_args() const;
  void spawn();
  // Returns false if the server exited because a port was taken (caller picks new ports).
  bool wait_ready();
  void reap(int signal_number, int timeout_ms);

  options opts_;
  std::string dir_;
  std::string unix_path_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  pid_t pid_ = -1;
};

// One key prefix per test: "sqt:<name>:<n>:" with the name reduced to [A-Za-z0-9_.-] (long
// names are shortened and suffixed with a hash) and n a per-process counter. Contains no
// braces, so callers may add their own {hash tag}.
std::string unique_key_prefix(std::string_view test_name);

}  // namespace streamq::test

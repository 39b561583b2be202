#pragma once
// Typed configuration of one Redis connection. Defaults are documented on each field;
// validate() rejects nonsense once, naming the field.

#include <streamq/resp/parser.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::redis {

struct tls_config {
  bool enabled = false;     // set by rediss:// URLs
  std::string ca_file;      // PEM bundle to verify the server; empty: system store
  std::string cert_file;    // client certificate (mutual TLS); empty: none
  std::string key_file;     // key of cert_file
  std::string server_name;  // SNI and verified host name; empty: the host
  bool verify_peer = true;  // off only for tests; never falls back to plaintext
};

struct reconnect_policy {
  bool enabled = true;                          // false: run() ends on the first loss
  std::chrono::milliseconds initial_delay{50};  // first wait after a failure
  std::chrono::milliseconds max_delay{5000};    // cap of the exponential growth
  double multiplier = 2.0;                      // growth per consecutive failure (>= 1)
  // Each wait is drawn uniformly from [delay * (1 - jitter), delay], spreading reconnects of
  // many clients after a server restart.
  double jitter = 0.5;
};

// Whether streamq::client talks to one server or to a Redis Cluster.
enum class cluster_mode : std::uint8_t {
  // One server: today's client, nothing asked at connect (the default, so that a standalone
  // deployment pays nothing, not even a probe, for cluster support).
  off,
  // Asked once at connect: `INFO cluster` on the first seed; cluster_enabled:1 means a cluster.
  // An error reply to INFO (an ACL user without +info) counts as a standalone server: give
  // such users cluster=on.
  auto_detect,
  // A cluster, without asking: the topology is read at connect (CLUSTER SHARDS, else
  // CLUSTER SLOTS) from the seeds.
  on,
};

// A cluster node to learn the topology from, besides connection_config's host and port.
struct seed_address {
  std::string host;
  std::uint16_t port = 6379;

  friend bool operator==(const seed_address&, const seed_address&) = default;
};

// How streamq::client finds and follows a Redis Cluster. Only the client reads it; a
// redis::connection always talks to the one server it names.
struct cluster_config {
  cluster_mode mode = cluster_mode::off;
  // More nodes to learn the topology from when the first one (host:port) does not answer.
  std::vector<seed_address> seeds;
  // The topology is re-read this often even when nothing suggests it changed (slots moved
  // without anybody being redirected yet, replicas added). Zero: only on redirections and
  // faults.
  std::chrono::milliseconds refresh_interval{30000};
  // Two topology reads at least this far apart, however many redirections ask for one.
  std::chrono::milliseconds min_refresh_gap{100};
  // A request is retried after MOVED, ASK, TRYAGAIN and CLUSTERDOWN, and waits for a
  // topology, within this time from its start; then its last reply (or
  // client_errc::cluster_unavailable) is what the caller gets.
  std::chrono::milliseconds retry_deadline{5000};
  // Sends of one request at most (the first included).
  unsigned max_attempts = 16;
  // Wait before resending after TRYAGAIN or CLUSTERDOWN: doubles from initial_backoff per
  // attempt up to max_backoff.
  std::chrono::milliseconds initial_backoff{10};
  std::chrono::milliseconds max_backoff{500};
};

// How a connection finds its master through Redis Sentinel. Off (the default) while
// `addresses` is empty. When on, every (re)connect of a redis::connection (so the client's
// shared connection and every dedicated one) asks the sentinels in order for the master
// (SENTINEL GET-MASTER-ADDR-BY-NAME; the first that answers is asked first next time), connects
// there instead of host:port, and after the handshake checks ROLE: a node that is not a
// master is dropped (last_error() client_errc::not_master) and the sentinels are asked again
// after the reconnect backoff. A user whose ACL denies ROLE (@admin) is let through unchecked;
// a READONLY reply then does the same job. While running, the connection also keeps a small
// RESP3 connection of its own to one sentinel, subscribed to +switch-master: a switch of this
// master drops the session, and the reconnect asks the sentinels again. So does any READONLY
// reply. Sentinels must speak RESP3 (Redis 6 or newer).
struct sentinel_config {
  // The sentinels, asked in this order at first. Empty: sentinel mode off.
  std::vector<seed_address> addresses;
  // The name the sentinels monitor the master under (`sentinel monitor <name> ...`).
  // Required when addresses is not empty.
  std::string master_name;
  // Credentials for the sentinels (their requirepass or an ACL user), separate from the data
  // nodes' connection_config::username/password. Empty password: no AUTH to sentinels.
  std::string username;  // empty: "default"
  std::string password;  // never logged or printed
  // TLS to the sentinels, with connection_config::tls's files (ca_file, cert_file, key_file,
  // verify_peer); each sentinel's certificate is verified against its host in `addresses`
  // (tls.server_name only applies to the data nodes). Independent of tls.enabled, which is
  // TLS to the master.
  bool tls = false;
  // Bound of one sentinel query (connect, TLS, handshake, reply); then the next sentinel is
  // asked. The whole resolution takes at most this times the number of sentinels.
  std::chrono::milliseconds timeout{1000};
};

struct connection_config {
  // Where: host/port for TCP (and TLS), or unix_socket for a Unix domain socket. In sentinel
  // mode (sentinel.addresses not empty) host and port are not used: the sentinels name the
  // master.
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string unix_socket;  // non-empty: connect here instead
  tls_config tls;

  // Who: sent with HELLO (RESP3) or AUTH (RESP2). Empty password: no authentication.
  std::string username;                 // empty: "default"
  std::string password;                 // never logged or printed
  int database = 0;                     // SELECTed after the handshake
  std::string client_name = "streamq";  // CLIENT SETNAME; empty: unnamed
  bool resp3 = true;                    // false: stay on RESP2 (no pushes)

  std::chrono::milliseconds connect_timeout{5000};  // resolve + connect + TLS + handshake
  // A PING is sent on the pipeline every interval; no reply within the timeout marks the
  // peer dead (hung or half-open) and the connection is re-established. Zero disables.
  std::chrono::milliseconds health_check_interval{2000};
  std::chrono::milliseconds health_check_timeout{5000};
  reconnect_policy reconnect;

  // Requests admitted at once (queued plus awaiting replies). Further callers suspend until
  // a slot frees: memory stays flat however many coroutines call.
  std::size_t max_pending_requests = 8192;
  // Upper bound of bytes gathered into one write.
  std::size_t max_write_bytes = 1024 * 1024;
  // On connection loss, requests not yet written wait for the next connection (true) or
  // fail with client_errc::not_connected (false). Written ones always fail with
  // client_errc::outcome_unknown: they may have run.
  bool keep_unwritten_on_disconnect = true;
  // Blocking commands are accepted only on connections made for them.
  bool allow_blocking_commands = false;

  resp::parser_limits parser;

  // Cluster mode and seeds (streamq::client only).
  cluster_config cluster;

  // Redis Sentinel: where to ask for the master (off by default). Not with cluster mode or
  // unix_socket.
  sentinel_config sentinel;

  // Throws std::invalid_argument naming the first invalid field.
  void validate() const;

  // The address as a URL with the password replaced by "***" (safe to log).
  [[nodiscard]] std::string redacted_url() const;
};

// Parses redis://[user[:password]@]host[:port][/db][?options],
// rediss://... (TLS; options ca, cert, key, sni, verify=0|1) and
// unix://[user[:password]@]/path/to/socket[?db=N]. Other options: client_name,
// connect_timeout_ms, health_check_ms, resp=2|3. Percent-escapes are decoded.
// Cluster: several comma-separated addresses name seeds, the first in host/port, the others
// in cluster.seeds: redis://h1:7000,h2:7001,[::1]:7002. Option cluster=auto|on|off sets
// cluster.mode (default off with one address, auto with several); cluster_refresh_ms sets
// cluster.refresh_interval.
// Sentinel: redis+sentinel://[user[:password]@]s1[:port],s2[:port].../<master-name>[/db][?options]
// (rediss+sentinel://: TLS to the master and to the sentinels). The addresses are the
// sentinels (port 26379 when left out), in sentinel.addresses; the path names the master
// (sentinel.master_name, percent-decoded) and optionally the database. The user info is the
// data nodes' (username, password), as with redis://. More options: sentinel_username,
// sentinel_password (sentinel.username/password; escape an '@' in them as %40),
// sentinel_tls=0|1 (sentinel.tls; default: as the scheme), sentinel_timeout_ms
// (sentinel.timeout), and every redis:// option but cluster ones. redacted_url() prints the
// same form with both passwords as "***".
// Throws std::invalid_argument (without echoing the password) on a malformed URL.
[[nodiscard]] connection_config parse_url(std::string_view url);

}  // namespace streamq::redis

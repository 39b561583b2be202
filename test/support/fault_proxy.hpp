#pragma once
// A fault-injecting TCP proxy for integration tests, after toxiproxy: the client connects to
// port() on 127.0.0.1, every accepted connection is forwarded to the target (the redis_server
// fixture), and "toxics" set per direction distort what flows through it:
//
//   fault_proxy proxy(server.port());
//   auto config = streamq::redis::parse_url(proxy.url());
//   proxy.set(fault_proxy::direction::downstream, {.latency = 5ms, .jitter = 3ms});
//   proxy.set(fault_proxy::direction::downstream, {.reset_after = 0});  // RST every connection
//   proxy.set(fault_proxy::direction::downstream,  // array headers turned into set headers
//             {.rewrite_from = "*4\r\n", .rewrite_to = "~4\r\n"});
//   proxy.clear();
//
// Directions: upstream is client -> server, downstream is server -> client. Toxics apply to
// live connections at once (a byte count such as reset_after / cut_after starts when set() is
// called) and to connections accepted later (counting from their first byte).
//
// Deliberately independent of streamq (std + POSIX only): the fixture must not share bugs with
// the code under test. Each connection is served by a thread of its own polling both
// non-blocking sockets; one more thread accepts. All of them are joined by stop() (also run by
// the destructor): no thread outlives the object.
//
// Threading: every member function is thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace streamq::test {

// What happens to the bytes of one direction. Default: forwarded untouched.
struct proxy_toxics {
  // Each chunk read is forwarded `latency` after it arrived, plus or minus a uniformly drawn
  // jitter (never reordered: a chunk never leaves before the one before it).
  std::chrono::microseconds latency{0};
  std::chrono::microseconds jitter{0};
  // Forward in slices of 1..slice_max bytes, one send() each, with a random pause of up to
  // slice_delay between slices (0: none, the slices still go out one send() at a time).
  bool slice = false;
  std::size_t slice_max = 7;
  std::chrono::microseconds slice_delay{0};
  // Stop forwarding and stop reading this direction, keeping both sockets open: a half-open
  // or partitioned peer. Bytes already read stay queued and flow again when the toxic is
  // removed, as TCP would deliver them after a healed partition.
  bool black_hole = false;
  // After forwarding this many more bytes of this direction, close both sockets with a TCP
  // reset (SO_LINGER 0). 0: at once.
  std::optional<std::size_t> reset_after;
  // Forward exactly this many more bytes of this direction, then close both sockets normally
  // (FIN): the peer sees a reply cut after N bytes.
  std::optional<std::size_t> cut_after;
  // Replace every occurrence of `rewrite_from` in this direction's bytes by `rewrite_to`, of
  // the same length (set() and set_existing() throw std::invalid_argument otherwise): what is
  // forwarded keeps its length and only its content changes, e.g. a reply made hostile. An
  // occurrence split across two reads is found too: bytes at the end of a read that may start
  // one are held back until the next read, or at most 50 ms when none comes.
  // Occurrences do not overlap (the search goes on after each replacement). Empty: none.
  std::string rewrite_from{};
  std::string rewrite_to{};
};

class fault_proxy {
 public:
  enum class direction { upstream, downstream };

  // Listens on a free 127.0.0.1 port and forwards to target_host:target_port.
  // Throws std::runtime_error if it cannot listen.
  explicit fault_proxy(std::uint16_t target_port, std::string target_host = "127.0.0.1");
  ~fault_proxy();  // stop()
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] std::string url() const;  // redis://127.0.0.1:PORT

  // Replaces the toxics of one direction (for live and future connections).
  void set(direction d, const proxy_toxics& toxics);
  [[nodiscard]] proxy_toxics get(direction d) const;
  // Sets the toxics of one direction for the connections live now only; connections accepted
  // later keep the proxy-wide toxics of set(). (A cut meant for one pipeline then never hits
  // the handshake of the reconnection that follows it.)
  void set_existing(direction d, const proxy_toxics& toxics);
  void clear();  // no toxics in either direction, proxy-wide nor per connection

  // Closes every live connection: with a TCP reset (true) or normally (false). New
  // connections are accepted as before.
  void disconnect_all(bool reset = true);
  // Makes every live connection half-open for good: nothing is forwarded or read any more in
  // either direction, the sockets stay open until disconnect_all() or stop(). Connections
  // accepted later are not affected (a peer that vanished behind a NAT, say).
  void stall_existing();

  [[nodiscard]] std::size_t live_connections() const;
  [[nodiscard]] std::uint64_t accepted() const;
  // Bytes forwarded in direction `d`, over all connections so far.
  [[nodiscard]] std::uint64_t forwarded(direction d) const;
  // Occurrences replaced by the rewrite toxic in direction `d`, over all connections so far.
  [[nodiscard]] std::uint64_t rewritten(direction d) const;

  // Stops accepting, closes every connection and joins every thread. Idempotent.
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace streamq::test

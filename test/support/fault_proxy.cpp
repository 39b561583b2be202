#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

namespace streamq::test {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t max_queued_bytes = 1024 * 1024;       // per direction: then stop reading
constexpr auto poll_period = std::chrono::milliseconds(5);  // how soon control changes apply
// How long the rewrite toxic holds back the end of a read that may start an occurrence: long
// enough for the rest to arrive from a peer that sends in pieces, even on a loaded machine
// (5 ms missed some); only bytes that look like the start of one wait.
constexpr auto rewrite_hold = std::chrono::milliseconds(50);

enum class close_mode : int { none = 0, fin = 1, rst = 2 };

void check_rewrite(const proxy_toxics& t) {
  if (t.rewrite_from.size() != t.rewrite_to.size())
    throw std::invalid_argument("fault_proxy: rewrite_from and rewrite_to differ in length");
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("fault_proxy: " + what + ": " + std::strerror(errno));
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void close_socket(int fd, close_mode mode) {
  if (fd < 0) return;
  if (mode == close_mode::rst) {
    ::linger hard{};
    hard.l_onoff = 1;
    hard.l_linger = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  ::close(fd);
}

// STREAMQ_PROXY_DEBUG=1 traces connections on stderr.
bool debug_enabled() {
  static const bool enabled = std::getenv("STREAMQ_PROXY_DEBUG") != nullptr;
  return enabled;
}

struct slice {
  clock_type::time_point due;
  std::string bytes;
  std::size_t sent = 0;
};

}  // namespace

struct fault_proxy::state {
  struct connection {
    int client_fd = -1;
    int server_fd = -1;
    std::atomic<int> kill{0};  // close_mode requested from outside
    std::atomic<bool> stalled{false};
    std::atomic<bool> done{false};
    std::optional<proxy_toxics> own[2];  // set_existing(); guarded by toxics_mutex
    std::thread thread;
  };

  std::string target_host;
  std::uint16_t target_port = 0;
  int listen_fd = -1;
  std::uint16_t port = 0;

  mutable std::mutex toxics_mutex;
  proxy_toxics toxics[2];
  std::atomic<std::uint64_t> version{1};

  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> forwarded[2] = {0, 0};
  std::atomic<std::uint64_t> rewritten[2] = {0, 0};

  std::mutex lifecycle_mutex;  // stop() and the connection list
  std::list<std::shared_ptr<connection>> connections;
  std::thread acceptor;
  bool stopped = false;

  void accept_loop();
  void serve(connection& conn, std::uint64_t seed);
  void reap_finished();
};

// One direction of one connection: bytes read from `src`, queued with due times, sent to `dst`.
struct pump {
  int src = -1;
  int dst = -1;
  int index = 0;  // 0 upstream, 1 downstream
  proxy_toxics toxics;
  std::deque<slice> queue;
  std::size_t queued = 0;
  clock_type::time_point last_due{};
  std::optional<std::size_t> cut_left;    // bytes still to forward before a FIN close
  std::optional<std::size_t> reset_left;  // bytes still to forward before an RST close
  close_mode close_after_drain = close_mode::none;
  bool src_eof = false;
  bool dst_shut = false;
  // The rewrite toxic: the end of the last read, a proper prefix of rewrite_from (an
  // occurrence the next read may complete), held back since held_since.
  std::string held;
  clock_type::time_point held_since{};

  void apply(const proxy_toxics& t) {
    toxics = t;
    cut_left = t.cut_after;
    reset_left = t.reset_after;
    if (cut_left && *cut_left == 0) close_after_drain = close_mode::fin;
    if (reset_left && *reset_left == 0) close_after_drain = close_mode::rst;
  }
  [[nodiscard]] bool can_read(bool stalled) const {
    return !src_eof && !stalled && !toxics.black_hole && close_after_drain == close_mode::none &&
           queued < max_queued_bytes;
  }
  [[nodiscard]] bool can_write(bool stalled, clock_type::time_point now) const {
    return !stalled && !toxics.black_hole && !queue.empty() && queue.front().due <= now;
  }

  // The rewrite toxic: replaces occurrences in what is held and `bytes`, and returns what may
  // go on, holding back a tail that may be the start of an occurrence. Adds the number of
  // replacements to `replaced`.
  std::string rewrite(std::string_view bytes, clock_type::time_point now,
                      std::atomic<std::uint64_t>& replaced) {
    const std::string& from = toxics.rewrite_from;
    std::string data = std::move(held);
    held.clear();
    data.append(bytes);
    std::size_t settled = 0;  // bytes before it are final: replaced, or before a replacement
    for (auto at = data.find(from); at != std::string::npos; at = data.find(from, at)) {
      data.replace(at, from.size(), toxics.rewrite_to);
      at += from.size();
      settled = at;
      ++replaced;
    }
    for (std::size_t k = std::min(from.size() - 1, data.size() - settled); k > 0; --k) {
      if (data.compare(data.size() - k, k, from, 0, k) == 0) {
        held.assign(data, data.size() - k, k);
        held_since = now;
        data.resize(data.size() - k);
        break;
      }
    }
    return data;
  }

  // Queues freshly read bytes under the current toxics.
  void take(std::string_view bytes, std::mt19937_64& rng) {
    std::size_t n = bytes.size();
    if (cut_left) n = std::min(n, *cut_left);
    if (reset_left) n = std::min(n, *reset_left);
    bytes = bytes.substr(0, n);
    if (cut_left) {
      *cut_left -= n;
      if (*cut_left == 0) close_after_drain = close_mode::fin;
    }
    if (reset_left) {
      *reset_left -= n;
      if (*reset_left == 0) close_after_drain = close_mode::rst;
    }
    if (bytes.empty()) return;
    auto due = clock_type::now() + toxics.latency;
    if (toxics.jitter.count() > 0) {
      std::uniform_int_distribution<long long> jitter(-toxics.jitter.count(),
                                                      toxics.jitter.count());
      due += std::chrono::microseconds(jitter(rng));
    }
    due = std::max(due, last_due);
    if (!toxics.slice) {
      queue.push_back(slice{due, std::string(bytes)});
    } else {
      std::uniform_int_distribution<std::size_t> size(1,
                                                      std::max<std::size_t>(1, toxics.slice_max));
      std::uniform_int_distribution<long long> pause(0, toxics.slice_delay.count());
      while (!bytes.empty()) {
        const std::size_t k = std::min(bytes.size(), size(rng));
        queue.push_back(slice{due, std::string(bytes.substr(0, k))});
        bytes.remove_prefix(k);
        if (toxics.slice_delay.count() > 0) due += std::chrono::microseconds(pause(rng));
      }
    }
    last_due = due;
    queued += n;
  }
};

void fault_proxy::state::serve(connection& conn, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  pump pumps[2];
  pumps[0].src = conn.client_fd;
  pumps[0].dst = conn.server_fd;
  pumps[0].index = 0;
  pumps[1].src = conn.server_fd;
  pumps[1].dst = conn.client_fd;
  pumps[1].index = 1;
  std::uint64_t seen_version = 0;
  close_mode finish = close_mode::none;
  std::string buffer(64 * 1024, '\0');

  while (finish == close_mode::none) {
    if (stopping.load()) {
      finish = close_mode::rst;
      break;
    }
    if (const int k = conn.kill.load(); k != 0) {
      finish = static_cast<close_mode>(k);
      break;
    }
    if (const auto v = version.load(); v != seen_version) {
      // Bytes held back for the rewrite toxic go on under the toxics they were read with.
      for (auto& p : pumps)
        if (!p.held.empty()) p.take(std::exchange(p.held, std::string()), rng);
      std::lock_guard lock(toxics_mutex);
      seen_version = version.load();
      pumps[0].apply(conn.own[0] ? *conn.own[0] : toxics[0]);
      pumps[1].apply(conn.own[1] ? *conn.own[1] : toxics[1]);
    }
    const bool stalled = conn.stalled.load();
    for (auto& p : pumps)
      if (p.close_after_drain != close_mode::none && p.queue.empty()) finish = p.close_after_drain;
    if (finish != close_mode::none) break;
    if (pumps[0].dst_shut && pumps[1].dst_shut) {
      finish = close_mode::fin;
      break;
    }

    auto now = clock_type::now();
    for (auto& p : pumps)
      if (!p.held.empty() && now - p.held_since >= rewrite_hold)
        p.take(std::exchange(p.held, std::string()), rng);
    clock_type::duration wait = poll_period;
    ::pollfd fds[2] = {{conn.client_fd, 0, 0}, {conn.server_fd, 0, 0}};
    for (auto& p : pumps) {
      ::pollfd& in = p.index == 0 ? fds[0] : fds[1];
      ::pollfd& out = p.index == 0 ? fds[1] : fds[0];
      if (p.can_read(stalled)) in.events |= POLLIN;
      if (p.can_write(stalled, now)) out.events |= POLLOUT;
      if (!stalled && !p.toxics.black_hole && !p.queue.empty() && p.queue.front().due > now) {
        wait = std::min(wait, p.queue.front().due - now);
      }
      if (!p.held.empty())
        wait = std::clamp<clock_type::duration>(p.held_since + rewrite_hold - now,
                                                clock_type::duration::zero(), wait);
    }
    const auto wait_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    ::timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(wait_ns / 1'000'000'000);
    timeout.tv_nsec = static_cast<long>(wait_ns % 1'000'000'000);
    const int ready = ::ppoll(fds, 2, &timeout, nullptr);
    if (ready < 0) {
      if (errno == EINTR) continue;
      finish = close_mode::rst;
      break;
    }
    // An error on either socket (a peer reset) is passed on as a reset of the other.
    if (((fds[0].revents | fds[1].revents) & POLLERR) != 0) {
      finish = close_mode::rst;
      break;
    }
    bool idle_hangup = false;
    for (auto& p : pumps) {
      const ::pollfd& in = p.index == 0 ? fds[0] : fds[1];
      const bool wanted = (in.events & POLLIN) != 0;
      if ((in.revents & (POLLIN | POLLHUP)) == 0) continue;
      if (!wanted) {
        idle_hangup = idle_hangup || (in.revents & POLLHUP) != 0;
        continue;
      }
      const ssize_t n = ::recv(p.src, buffer.data(), buffer.size(), 0);
      if (n > 0) {
        const std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
        if (p.toxics.rewrite_from.empty())
          p.take(bytes, rng);
        else
          p.take(p.rewrite(bytes, clock_type::now(), rewritten[p.index]), rng);
      } else if (n == 0) {
        p.src_eof = true;
        if (!p.held.empty()) p.take(std::exchange(p.held, std::string()), rng);
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        finish = close_mode::rst;
        break;
      }
    }
    if (finish != close_mode::none) break;

    now = clock_type::now();
    for (auto& p : pumps) {
      while (p.can_write(stalled, now)) {
        slice& s = p.queue.front();
        // Counted before the send: the peer may act on these bytes (and the test read
        // forwarded()) before this thread runs again. What was not sent is taken back.
        const std::size_t attempt = s.bytes.size() - s.sent;
        forwarded[p.index] += attempt;
        const ssize_t n = ::send(p.dst, s.bytes.data() + s.sent, attempt, MSG_NOSIGNAL);
        forwarded[p.index] -= attempt - (n > 0 ? static_cast<std::size_t>(n) : 0);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
          finish = close_mode::rst;
          break;
        }
        s.sent += static_cast<std::size_t>(n);
        p.queued -= static_cast<std::size_t>(n);
        if (s.sent < s.bytes.size()) break;  // the socket buffer is full
        p.queue.pop_front();
        if (p.toxics.slice) break;  // one slice per poll round: slices travel apart
      }
      if (finish != close_mode::none) break;
      if (p.src_eof && p.queue.empty() && !p.dst_shut) {
        ::shutdown(p.dst, SHUT_WR);
        p.dst_shut = true;
      }
    }
    // A socket hung up while its direction is held (black hole, stall): nothing to do until
    // the hold ends; do not spin on the hangup meanwhile.
    if (idle_hangup && finish == close_mode::none) std::this_thread::sleep_for(poll_period);
  }
  if (debug_enabled())
    std::fprintf(stderr, "fault_proxy: connection %d/%d closed (%s), queued %zu/%zu\n",
                 conn.client_fd, conn.server_fd, finish == close_mode::rst ? "rst" : "fin",
                 pumps[0].queued, pumps[1].queued);
  close_socket(conn.client_fd, finish);
  close_socket(conn.server_fd, finish);
  conn.client_fd = -1;
  conn.server_fd = -1;
  conn.done = true;
}

void fault_proxy::state::reap_finished() {
  std::list<std::shared_ptr<connection>> finished;
  {
    std::lock_guard lock(lifecycle_mutex);
    for (auto it = connections.begin(); it != connections.end();) {
      if ((*it)->done.load()) {
        finished.push_back(std::move(*it));
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) c->thread.join();
}

void fault_proxy::state::accept_loop() {
  std::random_device entropy;
  std::uint64_t seed = (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy();
  while (!stopping.load()) {
    reap_finished();
    ::pollfd pfd{listen_fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 20);
    if (ready <= 0 || (pfd.revents & POLLIN) == 0) continue;
    const int client_fd = ::accept(listen_fd, nullptr, nullptr);
    if (client_fd < 0) continue;
    const int server_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ::sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(target_port);
    ::inet_pton(AF_INET, target_host.c_str(), &target.sin_addr);
    if (server_fd < 0 ||
        ::connect(server_fd, reinterpret_cast<const ::sockaddr*>(&target), sizeof target) != 0) {
      // The target is down: refuse the client the way a dead server would.
      close_socket(server_fd, close_mode::fin);
      close_socket(client_fd, close_mode::rst);
      continue;
    }
    for (int fd : {client_fd, server_fd}) {
      set_nodelay(fd);
      set_nonblocking(fd);
    }
    auto conn = std::make_shared<connection>();
    conn->client_fd = client_fd;
    conn->server_fd = server_fd;
    ++accepted;
    if (debug_enabled())
      std::fprintf(stderr, "fault_proxy: accepted %d -> %d\n", client_fd, server_fd);
    std::lock_guard lock(lifecycle_mutex);
    conn->thread = std::thread([this, c = conn.get(), s = seed++] { serve(*c, s); });
    connections.push_back(std::move(conn));
  }
}

fault_proxy::fault_proxy(std::uint16_t target_port, std::string target_host)
    : state_(std::make_shared<state>()) {
  state_->target_host = std::move(target_host);
  state_->target_port = target_port;
  state_->listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (state_->listen_fd < 0) fail("socket");
  int one = 1;
  ::setsockopt(state_->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(state_->listen_fd, reinterpret_cast<const ::sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(state_->listen_fd, 64) != 0) {
    ::close(state_->listen_fd);
    fail("bind/listen");
  }
  ::socklen_t len = sizeof addr;
  ::getsockname(state_->listen_fd, reinterpret_cast<::sockaddr*>(&addr), &len);
  state_->port = ntohs(addr.sin_port);
  state_->acceptor = std::thread([s = state_.get()] { s->accept_loop(); });
}

fault_proxy::~fault_proxy() {
  stop();
}

std::uint16_t fault_proxy::port() const noexcept {
  return state_->port;
}

std::string fault_proxy::url() const {
  return "redis://127.0.0.1:" + std::to_string(port());
}

void fault_proxy::set(direction d, const proxy_toxics& toxics) {
  check_rewrite(toxics);
  std::lock_guard lock(state_->toxics_mutex);
  state_->toxics[d == direction::upstream ? 0 : 1] = toxics;
  ++state_->version;
}

proxy_toxics fault_proxy::get(direction d) const {
  std::lock_guard lock(state_->toxics_mutex);
  return state_->toxics[d == direction::upstream ? 0 : 1];
}

void fault_proxy::set_existing(direction d, const proxy_toxics& toxics) {
  check_rewrite(toxics);
  std::lock_guard lifecycle(state_->lifecycle_mutex);
  std::lock_guard lock(state_->toxics_mutex);
  for (auto& c : state_->connections) c->own[d == direction::upstream ? 0 : 1] = toxics;
  ++state_->version;
}

void fault_proxy::clear() {
  std::lock_guard lifecycle(state_->lifecycle_mutex);
  std::lock_guard lock(state_->toxics_mutex);
  state_->toxics[0] = {};
  state_->toxics[1] = {};
  for (auto& c : state_->connections) c->own[0] = c->own[1] = std::nullopt;
  ++state_->version;
}

void fault_proxy::disconnect_all(bool reset) {
  std::lock_guard lock(state_->lifecycle_mutex);
  for (auto& c : state_->connections)
    c->kill = static_cast<int>(reset ? close_mode::rst : close_mode::fin);
}

void fault_proxy::stall_existing() {
  std::lock_guard lock(state_->lifecycle_mutex);
  for (auto& c : state_->connections) c->stalled = true;
}

std::size_t fault_proxy::live_connections() const {
  std::lock_guard lock(state_->lifecycle_mutex);
  return static_cast<std::size_t>(std::count_if(state_->connections.begin(),
                                                state_->connections.end(),
                                                [](const auto& c) { return !c->done.load(); }));
}

std::uint64_t fault_proxy::accepted() const {
  return state_->accepted.load();
}

std::uint64_t fault_proxy::forwarded(direction d) const {
  return state_->forwarded[d == direction::upstream ? 0 : 1].load();
}

std::uint64_t fault_proxy::rewritten(direction d) const {
  return state_->rewritten[d == direction::upstream ? 0 : 1].load();
}

void fault_proxy::stop() {
  std::list<std::shared_ptr<state::connection>> all;
  {
    std::lock_guard lock(state_->lifecycle_mutex);
    if (state_->stopped) return;
    state_->stopped = true;
    state_->stopping = true;
  }
  if (state_->acceptor.joinable()) state_->acceptor.join();
  {
    std::lock_guard lock(state_->lifecycle_mutex);
    all.swap(state_->connections);
  }
  for (auto& c : all) c->thread.join();
  ::close(state_->listen_fd);
  state_->listen_fd = -1;
}

}  // namespace streamq::test

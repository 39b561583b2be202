#pragma once
// Internal to the fixtures (redis_server, redis_cluster, redis_sentinel): processes, files and
// a blocking RESP2 socket, with nothing but POSIX and std. Every failure throws
// std::runtime_error("redis_server: ...").

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamq::test::detail {

using clock_type = std::chrono::steady_clock;

// A fresh redis-server or sentinel answers well within this, and a port picked free may be
// taken by someone else before it binds it: the fixtures try this many picks.
inline constexpr clock_type::duration ready_timeout = std::chrono::seconds(10);
inline constexpr int port_attempts = 5;

[[noreturn]] void fail(const std::string& what);
std::string errno_text(const char* call);  // "call: strerror(errno)"

// Closes a file descriptor on scope exit.
class fd_guard {
 public:
  explicit fd_guard(int fd) noexcept : fd_(fd) {}
  ~fd_guard();
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// Starts argv (argv[0] looked up on PATH) with stdout/stderr appended to log_path. The child
// gets no other descriptor of ours and, on Linux, is killed when the calling thread exits.
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log_path);
pid_t waitpid_retry(pid_t pid, int* status, int flags);  // waitpid, repeated on EINTR
// Runs argv to completion; throws with the log tail unless it exits with status 0.
void run_tool(const std::vector<std::string>& argv, const std::string& log_path);

bool file_contains(const std::string& path, std::string_view needle);
std::string tail_of(const std::string& path, std::size_t lines);
void write_text(const std::string& path, const std::string& text);

// The environment variable `name`, or `fallback` when it is unset or empty.
std::string env_or(const char* name, const char* fallback);
// The programs the fixtures start: $STREAMQ_REDIS_SERVER / $STREAMQ_REDIS_CLI, else PATH's.
std::string redis_server_program();
std::string redis_cli_program();

// A new directory base/streamq-redis-<kind>XXXXXX holding owner.pid (our pid), or "" with errno
// set. A test that crashes never runs its fixture's destructor: remove_orphaned_dirs (which
// every redis_server runs) removes such a dir once its owner is gone.
std::string make_owned_dir(const std::string& base, std::string_view kind);
void remove_orphaned_dirs(const std::string& base);

// `count` distinct ports that were free on 127.0.0.1 a moment ago.
std::vector<std::uint16_t> free_loopback_ports(std::size_t count);
// A connected blocking TCP socket to 127.0.0.1:port, or -1 (errno set).
int connect_loopback(std::uint16_t port);

std::string encode(const std::vector<std::string>& args);  // a RESP2 command array
// Sends `request`, then reads until `count` whole RESP2 replies arrived (+ - : $ * understood,
// arrays nested). Returns the bytes read and the end offset of each reply.
std::pair<std::string, std::vector<std::size_t>> round_trip(int fd, const std::string& request,
                                                            std::size_t count,
                                                            clock_type::duration timeout);
// One command on a connected socket, preceded by AUTH when `password` is set; the raw reply.
std::string command_reply(int fd, const std::optional<std::string>& password,
                          const std::vector<std::string>& args, clock_type::duration timeout);

// How a just-spawned redis-server (or sentinel) came up.
enum class start_outcome {
  ready,       // it answered PING (or -NOAUTH) and INFO names its pid
  port_taken,  // it exited with "Address already in use" in its log: pick other ports
  exited,      // it exited for another reason
  timed_out,
};
struct start_result {
  start_outcome outcome;
  std::string last_reply;  // the last probe's reply or error, for a timeout message
};
// Probes 127.0.0.1:port (AUTH first when `password` is set) until the process answers as
// itself, exits (then reaped and `pid` set to -1; log_path tells why), or `timeout` passes.
start_result wait_started(pid_t& pid, std::uint16_t port,
                          const std::optional<std::string>& password, const std::string& log_path,
                          clock_type::duration timeout);

}  // namespace streamq::test::detail

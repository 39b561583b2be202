#pragma once
// Internal to redis_server.cpp: processes, files and a blocking RESP2 socket, with nothing but
// POSIX and std. Every failure throws std::runtime_error("redis_server: ...").

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamq::test::detail {

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

// `count` distinct ports that were free on 127.0.0.1 a moment ago.
std::vector<std::uint16_t> free_loopback_ports(std::size_t count);
// A connected blocking TCP socket to 127.0.0.1:port, or -1 (errno set).
int connect_loopback(std::uint16_t port);

std::string encode(const std::vector<std::string>& args);  // a RESP2 command array
// Sends `request`, then reads until `count` whole RESP2 replies arrived (+ - : $ * understood,
// arrays nested). Returns the bytes read and the end offset of each reply.
std::pair<std::string, std::vector<std::size_t>> round_trip(
    int fd, const std::string& request, std::size_t count,
    std::chrono::steady_clock::duration timeout);

}  // namespace streamq::test::detail

#include "posix_helpers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace streamq::test::detail {

void fail(const std::string& what) {
  throw std::runtime_error("redis_server: " + what);
}

std::string errno_text(const char* call) {
  return std::string(call) + ": " + std::strerror(errno);
}

fd_guard::~fd_guard() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// Resolved before fork: execvp may allocate, which is unsafe in the child of a threaded process.
std::string resolve_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) fail(name + " is not executable");
    return name;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    std::string candidate = (d.empty() ? "." : d) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  fail(name + " not found on PATH");
}

}  // namespace

// Starts argv[0] with stdout/stderr appended to log_path. The child dies with this thread (on
// Linux) and inherits no other descriptor, so open test sockets are never kept alive by it.
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log_path) {
  const std::string exe = resolve_executable(argv.at(0));
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) fail(errno_text("open") + " " + log_path);
  struct rlimit lim {};
  const int max_fd = (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 65536)
                         ? static_cast<int>(lim.rlim_cur)
                         : 65536;
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    fail(errno_text("fork"));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only until execve.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
#ifdef __linux__
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
#endif
    const int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (::close_range(STDERR_FILENO + 1, ~0U, 0) != 0)
#endif
      for (int fd = STDERR_FILENO + 1; fd < max_fd; ++fd) ::close(fd);
    ::execve(exe.c_str(), cargv.data(), environ);
    static const char msg[] = "redis_server: execve failed\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  return pid;
}

pid_t waitpid_retry(pid_t pid, int* status, int flags) {
  pid_t r;
  do {
    r = ::waitpid(pid, status, flags);
  } while (r < 0 && errno == EINTR);
  return r;
}

bool file_contains(const std::string& path, std::string_view needle) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) return true;
  return false;
}

std::string tail_of(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += l + "\n";
  return out;
}

void run_tool(const std::vector<std::string>& argv, const std::string& log_path) {
  const pid_t pid = spawn_process(argv, log_path);
  int status = 0;
  if (waitpid_retry(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail(argv.at(0) + " " + argv.at(1) + " failed:\n" + tail_of(log_path, 20));
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) fail("cannot write " + path);
}

std::string env_or(const char* name, const char* fallback) {
  const char* env = std::getenv(name);
  return (env != nullptr && *env != '\0') ? env : fallback;
}

std::string redis_server_program() {
  return env_or("STREAMQ_REDIS_SERVER", "redis-server");
}

std::string redis_cli_program() {
  return env_or("STREAMQ_REDIS_CLI", "redis-cli");
}

namespace {

constexpr std::string_view dir_prefix = "streamq-redis-";
constexpr const char* owner_file = "/owner.pid";

}  // namespace

std::string make_owned_dir(const std::string& base, std::string_view kind) {
  std::string templ = base + "/";
  templ.append(dir_prefix).append(kind).append("XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) return {};
  std::ofstream(templ + owner_file) << ::getpid() << "\n";
  return templ;
}

// Its fixture's servers died with the test (PDEATHSIG); only the dir is left.
void remove_orphaned_dirs(const std::string& base) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    if (entry.path().filename().string().rfind(dir_prefix, 0) != 0) continue;
    std::ifstream in(entry.path().string() + owner_file);
    long owner = 0;
    if (!(in >> owner) || owner <= 0) continue;  // not ours, or being created right now
    if (::kill(static_cast<pid_t>(owner), 0) != 0 && errno == ESRCH)
      fs::remove_all(entry.path(), ec);
  }
}

// Binds `count` sockets to 127.0.0.1:0 at once so the kernel hands out distinct free ports.
// Someone may take a port before redis-server binds it: the caller retries on that.
std::vector<std::uint16_t> free_loopback_ports(std::size_t count) {
  std::vector<std::unique_ptr<fd_guard>> held;
  std::vector<std::uint16_t> ports;
  for (std::size_t i = 0; i < count; ++i) {
    held.push_back(std::make_unique<fd_guard>(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
    const int fd = held.back()->get();
    if (fd < 0) fail(errno_text("socket"));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) fail(errno_text("bind"));
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      fail(errno_text("getsockname"));
    ports.push_back(ntohs(addr.sin_port));
  }
  return ports;
}

// Returns -1 (errno set) if nothing listens there yet.
int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

std::string encode(const std::vector<std::string>& args) {
  // Plain appends: GCC 12 at -O3 warns falsely (-Wrestrict) about "literal" + std::string.
  std::string out;
  out.append(1, '*').append(std::to_string(args.size())).append("\r\n");
  for (const auto& a : args)
    out.append(1, '$').append(std::to_string(a.size())).append("\r\n").append(a).append("\r\n");
  return out;
}

namespace {

constexpr auto npos = std::string_view::npos;

// Offset just past the RESP2 reply starting at `pos`, or npos while it is incomplete.
std::size_t reply_end(std::string_view buf, std::size_t pos) {
  const std::size_t eol = buf.find("\r\n", pos);
  if (eol == npos) return npos;
  const std::size_t next = eol + 2;
  const char type = buf[pos];
  if (type != '$' && type != '*') return next;
  long long n = 0;
  const auto [p, ec] = std::from_chars(buf.data() + pos + 1, buf.data() + eol, n);
  if (ec != std::errc{} || p != buf.data() + eol)
    fail("malformed reply length: " + std::string(buf.substr(pos, eol - pos)));
  if (n < 0) return next;  // null bulk or null array
  if (type == '$') {
    const std::size_t end = next + static_cast<std::size_t>(n) + 2;
    return buf.size() >= end ? end : npos;
  }
  std::size_t at = next;
  for (long long i = 0; i < n; ++i) {
    at = reply_end(buf, at);
    if (at == npos) return npos;
  }
  return at;
}

}  // namespace

// Sends `request` and reads until `count` whole replies arrived; returns their end offsets.
std::pair<std::string, std::vector<std::size_t>> round_trip(int fd, const std::string& request,
                                                            std::size_t count,
                                                            clock_type::duration timeout) {
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno_text("send"));
    sent += static_cast<std::size_t>(n);
  }
  const auto deadline = clock_type::now() + timeout;
  std::string buf;
  for (;;) {
    std::vector<std::size_t> ends;
    std::size_t at = 0;
    while (ends.size() < count && at < buf.size() && (at = reply_end(buf, at)) != npos)
      ends.push_back(at);
    if (ends.size() == count) return {std::move(buf), std::move(ends)};

    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) fail("no complete reply within timeout; got: " + buf);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
      fail(errno_text("poll"));
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno_text("recv"));
    if (n == 0) fail("connection closed by server; got: " + buf);
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string command_reply(int fd, const std::optional<std::string>& password,
                          const std::vector<std::string>& args, clock_type::duration timeout) {
  const bool auth = password.has_value();
  const std::string request = (auth ? encode({"AUTH", *password}) : std::string()) + encode(args);
  auto [buf, ends] = round_trip(fd, request, auth ? 2 : 1, timeout);
  return auth ? buf.substr(ends[0], ends[1] - ends[0]) : buf.substr(0, ends[0]);
}

start_result wait_started(pid_t& pid, std::uint16_t port,
                          const std::optional<std::string>& password, const std::string& log_path,
                          clock_type::duration timeout) {
  using namespace std::chrono_literals;
  const bool auth = password.has_value();
  const std::string probe = (auth ? encode({"AUTH", *password}) : std::string()) +
                            encode({"PING"}) + encode({"INFO", "server"});
  const auto deadline = clock_type::now() + timeout;
  std::string last_reply;
  while (clock_type::now() < deadline) {
    int status = 0;
    if (waitpid_retry(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return {file_contains(log_path, "Address already in use") ? start_outcome::port_taken
                                                                : start_outcome::exited,
              std::move(last_reply)};
    }
    const fd_guard fd(connect_loopback(port));
    if (fd.get() >= 0) {
      try {
        auto [buf, ends] = round_trip(fd.get(), probe, auth ? 3 : 2, 1s);
        const std::size_t ping_at = auth ? ends[0] : 0;
        const std::string_view ping = std::string_view(buf).substr(ping_at);
        if (ping.rfind("-NOAUTH", 0) == 0)  // cannot check the pid without the password
          return {start_outcome::ready, std::move(buf)};
        if (ping.rfind("+PONG", 0) == 0) {
          // Another process may have grabbed our port: only our own pid counts as ready.
          const std::string key = "process_id:" + std::to_string(pid) + "\r\n";
          if (buf.find(key) != std::string::npos) return {start_outcome::ready, std::move(buf)};
        }
        last_reply = buf;  // e.g. -LOADING while an AOF or RDB file is read back
      } catch (const std::runtime_error& e) {
        last_reply = e.what();
      }
    }
    std::this_thread::sleep_for(10ms);
  }
  return {start_outcome::timed_out, std::move(last_reply)};
}

}  // namespace streamq::test::detail

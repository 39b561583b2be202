#include "redis_server.hpp"

#include <signal.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <utility>

#include "posix_helpers.hpp"

namespace streamq::test {
namespace {

using namespace detail;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto command_timeout = 10s;
constexpr int stop_timeout_ms = 5000;

std::string make_temp_dir() {
  // Unix socket paths are limited to 108 bytes: a long TMPDIR would break unix_socket.
  std::string base = env_or("TMPDIR", "/tmp");
  if (base.size() >= 64) base = "/tmp";
  // A crashed test (an ASan abort, a failed assertion) leaves its dir behind.
  remove_orphaned_dirs(base);
  std::string dir = make_owned_dir(base, "");
  if (dir.empty()) fail(errno_text("mkdtemp") + " in " + base);
  return dir;
}

void validate(const redis_server_options& o) {
  auto one_of = [](const std::string& v, std::initializer_list<const char*> allowed,
                   const char* field) {
    for (const char* a : allowed)
      if (v == a) return;
    throw std::invalid_argument(std::string("redis_server_options::") + field +
                                ": unexpected value '" + v + "'");
  };
  one_of(o.tls_auth_clients, {"yes", "no", "optional"}, "tls_auth_clients");
  one_of(o.appendonly, {"yes", "no"}, "appendonly");
  one_of(o.appendfsync, {"always", "everysec", "no"}, "appendfsync");
  for (const auto& rule : o.acl_users)
    if (rule.rfind("user ", 0) != 0 || rule.find_first_of("\r\n") != std::string::npos)
      throw std::invalid_argument(
          "redis_server_options::acl_users: not a one-line 'user ...' rule: " + rule);
  if (o.requirepass && o.requirepass->find_first_of("\r\n ") != std::string::npos)
    throw std::invalid_argument(
        "redis_server_options::requirepass: must not contain spaces or newlines");
}

}  // namespace

redis_server::redis_server() : redis_server(options{}) {}

redis_server::redis_server(options opts) : opts_(std::move(opts)) {
  validate(opts_);
  dir_ = make_temp_dir();
  try {
    if (opts_.unix_socket) {
      unix_path_ = dir_ + "/redis.sock";
      if (unix_path_.size() >= sizeof(sockaddr_un::sun_path))
        fail("unix socket path too long: " + unix_path_);
    }
    write_config_files();
    if (opts_.tls) generate_certificates();
    for (int attempt = 1;; ++attempt) {
      const auto ports = free_loopback_ports(opts_.tls ? 2 : 1);
      port_ = ports[0];
      tls_port_ = opts_.tls ? ports[1] : 0;
      spawn();
      if (wait_ready()) break;
      if (attempt == port_attempts) fail("ports kept being taken by others:\n" + log_tail());
      fs::remove(dir_ + "/redis.log");  // so the next attempt's log is its own
    }
  } catch (...) {
    reap(SIGKILL, 0);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw;
  }
}

redis_server::~redis_server() {
  reap(SIGTERM, stop_timeout_ms);
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string redis_server::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}
std::string redis_server::tls_url() const {
  return "rediss://localhost:" + std::to_string(tls_port_);
}
std::string redis_server::unix_url() const {
  return "unix://" + unix_path_;
}
std::string redis_server::ca_cert() const {
  return opts_.tls ? dir_ + "/ca.crt" : std::string();
}
std::string redis_server::client_cert() const {
  return opts_.tls ? dir_ + "/client.crt" : std::string();
}
std::string redis_server::client_key() const {
  return opts_.tls ? dir_ + "/client.key" : std::string();
}
std::string redis_server::other_ca_cert() const {
  return opts_.tls ? dir_ + "/other-ca.crt" : std::string();
}

void redis_server::stop() {
  reap(SIGTERM, stop_timeout_ms);
}
void redis_server::kill() {
  reap(SIGKILL, stop_timeout_ms);
}

void redis_server::restart() {
  if (running()) stop();
  spawn();
  if (!wait_ready())
    fail("restart: port " + std::to_string(port_) + " was taken by another process");
}

void redis_server::pause() {
  if (running()) ::kill(pid_, SIGSTOP);
}

void redis_server::resume() {
  if (running()) ::kill(pid_, SIGCONT);
}

std::string redis_server::command(const std::vector<std::string>& args) const {
  const fd_guard fd(connect_loopback(port_));
  if (fd.get() < 0) fail(errno_text("connect") + " to port " + std::to_string(port_));
  return command_reply(fd.get(), opts_.requirepass, args, command_timeout);
}

std::string redis_server::log_tail(std::size_t lines) const {
  return tail_of(dir_ + "/redis.log", lines);
}

void redis_server::write_config_files() {
  if (opts_.acl_users.empty()) return;
  // An aclfile replaces the users that requirepass would configure: carry the password over.
  std::string text;
  bool has_default = false;
  for (const auto& rule : opts_.acl_users)
    has_default = has_default || rule.rfind("user default ", 0) == 0;
  if (opts_.requirepass && !has_default)
    text += "user default on >" + *opts_.requirepass + " ~* &* +@all\n";
  for (const auto& rule : opts_.acl_users) text += rule + "\n";
  write_text(dir_ + "/users.acl", text);
}

void redis_server::generate_certificates() {
  // Our own config, so the result does not depend on the system's openssl.cnf.
  const std::string cnf = dir_ + "/openssl.cnf";
  write_text(
      cnf,
      "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
      "[ca_ext]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
      "subjectKeyIdentifier = hash\n"
      "[server_ext]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
      "extendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n"
      "authorityKeyIdentifier = keyid\n"
      "[client_ext]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
      "extendedKeyUsage = clientAuth\nauthorityKeyIdentifier = keyid\n");
  const std::string log = dir_ + "/openssl.log";
  const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:prime256v1", "-nodes"};
  auto with_key = [&](std::vector<std::string> args) {
    args.insert(args.begin() + 3, ec_key.begin(), ec_key.end());
    return args;
  };
  auto make_ca = [&](const std::string& name, const std::string& cn) {
    run_tool(with_key({"openssl", "req", "-x509", "-config", cnf, "-extensions", "ca_ext", "-days",
                       "3650", "-subj", "/CN=" + cn, "-keyout", dir_ + "/" + name + ".key", "-out",
                       dir_ + "/" + name + ".crt"}),
             log);
  };
  auto make_leaf = [&](const std::string& name, const std::string& cn, const std::string& ext,
                       const char* serial) {
    const std::string base = dir_ + "/" + name;
    run_tool(with_key({"openssl", "req", "-new", "-config", cnf, "-subj", "/CN=" + cn, "-keyout",
                       base + ".key", "-out", base + ".csr"}),
             log);
    run_tool({"openssl", "x509", "-req", "-in", base + ".csr", "-CA", dir_ + "/ca.crt", "-CAkey",
              dir_ + "/ca.key", "-set_serial", serial, "-days", "3650", "-extfile", cnf,
              "-extensions", ext, "-out", base + ".crt"},
             log);
  };
  make_ca("ca", "streamq test CA");
  make_ca("other-ca", "streamq unrelated CA");
  make_leaf("server", "localhost", "server_ext", "2");
  make_leaf("client", "streamq-test-client", "client_ext", "3");
}

std::vector<std::string> redis_server::server_args() const {
  std::vector<std::string> a = {opts_.program.empty() ? redis_server_program() : opts_.program,
                                "--port",
                                std::to_string(port_),
                                "--bind",
                                "127.0.0.1",
                                "--dir",
                                dir_,
                                "--logfile",
                                dir_ + "/redis.log",
                                "--daemonize",
                                "no",
                                "--appendonly",
                                opts_.appendonly,
                                "--appendfsync",
                                opts_.appendfsync};
  auto add = [&a](std::initializer_list<std::string> more) { a.insert(a.end(), more); };
  if (!opts_.persistence) add({"--save", ""});
  if (opts_.enable_debug_command) add({"--enable-debug-command", "local"});
  if (opts_.requirepass && opts_.acl_users.empty()) add({"--requirepass", *opts_.requirepass});
  if (!opts_.acl_users.empty()) add({"--aclfile", dir_ + "/users.acl"});
  if (opts_.unix_socket) add({"--unixsocket", unix_path_, "--unixsocketperm", "700"});
  if (opts_.tls)
    add({"--tls-port", std::to_string(tls_port_), "--tls-cert-file", dir_ + "/server.crt",
         "--tls-key-file", dir_ + "/server.key", "--tls-ca-cert-file", dir_ + "/ca.crt",
         "--tls-auth-clients", opts_.tls_auth_clients});
  a.insert(a.end(), opts_.extra_args.begin(), opts_.extra_args.end());
  return a;
}

void redis_server::spawn() {
  pid_ = spawn_process(server_args(), dir_ + "/redis.log");
}

bool redis_server::wait_ready() {
  const start_result r =
      wait_started(pid_, port_, opts_.requirepass, dir_ + "/redis.log", ready_timeout);
  if (r.outcome == start_outcome::exited)
    fail("redis-server exited during start-up:\n" + log_tail());
  if (r.outcome == start_outcome::timed_out) {
    reap(SIGKILL, 0);
    fail("not ready after 10 s; last probe reply: " + r.last_reply + "\nlog:\n" + log_tail());
  }
  return r.outcome == start_outcome::ready;  // else port_taken: the caller picks other ports
}

void redis_server::reap(int signal_number, int timeout_ms) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal_number);
  if (signal_number != SIGKILL) ::kill(pid_, SIGCONT);  // a SIGSTOPped server cannot act on SIGTERM
  const auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (waitpid_retry(pid_, &status, WNOHANG) == 0) {
    if (clock_type::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      waitpid_retry(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  pid_ = -1;
}

std::string unique_key_prefix(std::string_view test_name) {
  static std::atomic<unsigned long> counter{0};
  std::string name;
  for (const char c : test_name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.';
    name += keep ? c : '_';
  }
  if (name.empty()) name = "test";
  if (name.size() > 48) {
    // Keep it readable but unique: a prefix plus a hash (FNV-1a) of the whole name.
    std::uint64_t h = 14695981039346656037ull;
    for (const char c : test_name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    name = name.substr(0, 32) + "-" + hex;
  }
  return "sqt:" + name + ":" + std::to_string(++counter) + ":";
}

}  // namespace streamq::test

#include "redis_sentinel.hpp"

#include <signal.h>

#include <charconv>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include "posix_helpers.hpp"

namespace streamq::test {
namespace {

using namespace detail;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto poll_interval = 50ms;

[[noreturn]] void sentinel_fail(const std::string& what) {
  throw std::runtime_error("redis_sentinel: " + what);
}

std::string make_dir() {
  std::string dir = make_owned_dir(env_or("TMPDIR", "/tmp"), "sentinel-");
  if (dir.empty()) sentinel_fail(errno_text("mkdtemp"));
  return dir;
}

// A RESP2 reply as a tree: what the fixture reads of SENTINEL and ROLE replies.
struct reply {
  char type = 0;  // '+', '-', ':', '$', '*'; '_' for a null
  std::string text;
  std::vector<reply> elements;
};

reply parse(std::string_view raw, std::size_t& at) {
  const auto eol = raw.find("\r\n", at);
  if (eol == std::string_view::npos || eol == at)
    sentinel_fail("truncated reply: " + std::string(raw));
  reply r;
  r.type = raw[at];
  const std::string_view line = raw.substr(at + 1, eol - at - 1);
  at = eol + 2;
  if (r.type != '$' && r.type != '*') {
    r.text = line;
    return r;
  }
  long long n = 0;
  std::from_chars(line.data(), line.data() + line.size(), n);
  if (n < 0) {
    r.type = '_';
    return r;
  }
  if (r.type == '$') {
    r.text = raw.substr(at, static_cast<std::size_t>(n));
    at += static_cast<std::size_t>(n) + 2;
    return r;
  }
  for (long long i = 0; i < n; ++i) r.elements.push_back(parse(raw, at));
  return r;
}

reply parse(std::string_view raw) {
  std::size_t at = 0;
  return parse(raw, at);
}

// The value after `key` in a flat key/value array (SENTINEL MASTER, each SENTINEL REPLICAS entry).
std::string field(const reply& flat, std::string_view key) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
    if (flat.elements[i].text == key) return flat.elements[i + 1].text;
  return {};
}

std::uint16_t to_port(std::string_view text) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return (ec == std::errc() && end == text.data() + text.size() && v <= 65535)
             ? static_cast<std::uint16_t>(v)
             : 0;
}

bool has(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace

redis_sentinel::redis_sentinel() : redis_sentinel(options{}) {}

redis_sentinel::redis_sentinel(options opts) : opts_(std::move(opts)) {
  if (opts_.sentinels == 0) throw std::invalid_argument("redis_sentinel_options::sentinels: 0");
  if (opts_.quorum == 0 || opts_.quorum > opts_.sentinels)
    throw std::invalid_argument("redis_sentinel_options::quorum: not in 1..sentinels");
  try {
    auto data_options = [&] {
      redis_server::options o;
      // A master otherwise waits 5 s for more replicas before a full sync.
      o.extra_args = {"--repl-diskless-sync-delay", "0"};
      if (opts_.data_password) {
        o.requirepass = opts_.data_password;
        // Either node may be demoted to a replica of the other.
        o.extra_args.insert(o.extra_args.end(), {"--masterauth", *opts_.data_password});
      }
      if (opts_.tls_data) {
        o.tls = true;
        // Either node may replicate from the other's TLS port (and then announces its own).
        o.extra_args.insert(o.extra_args.end(), {"--tls-replication", "yes"});
      }
      o.extra_args.insert(o.extra_args.end(), opts_.data_args.begin(), opts_.data_args.end());
      return o;
    };
    auto first = data_options();
    first.tls = sentinel_tls();  // its certificates serve the sentinels' TLS ports too
    data_.push_back(std::make_unique<redis_server>(std::move(first)));
    auto second = data_options();
    if (opts_.tls_data) {
      // redis_server makes a CA of its own for each server; the later arguments win, so node 1
      // serves node 0's certificate and trusts node 0's CA: one CA vouches for both nodes.
      const std::string& first_dir = data_[0]->dir();
      second.extra_args.insert(second.extra_args.end(),
                               {"--tls-cert-file", first_dir + "/server.crt", "--tls-key-file",
                                first_dir + "/server.key", "--tls-ca-cert-file", ca_cert()});
    }
    second.extra_args.insert(second.extra_args.end(),
                             {"--replicaof", "127.0.0.1", std::to_string(monitored_port(0))});
    data_.push_back(std::make_unique<redis_server>(std::move(second)));
    wait_replicating(1);
    sentinels_.resize(opts_.sentinels);
    for (auto& s : sentinels_) {
      s.dir = make_dir();
      start_sentinel(s, monitored_port(0));
    }
    wait_until_ready();
  } catch (...) {
    for (auto& s : sentinels_) stop_sentinel(s);
    throw;
  }
}

redis_sentinel::~redis_sentinel() {
  for (auto& s : sentinels_) stop_sentinel(s);
  for (auto& d : data_) d->kill();  // nothing to save; SIGKILL ends each at once
}

redis_server& redis_sentinel::data_node(std::size_t i) {
  return *data_.at(i);
}
const redis_server& redis_sentinel::data_node(std::size_t i) const {
  return *data_.at(i);
}
std::uint16_t redis_sentinel::data_port(std::size_t i) const {
  return data_.at(i)->port();
}
std::uint16_t redis_sentinel::data_tls_port(std::size_t i) const {
  return opts_.tls_data ? data_.at(i)->tls_port() : std::uint16_t{0};
}
std::uint16_t redis_sentinel::monitored_port(std::size_t i) const {
  return opts_.tls_data ? data_.at(i)->tls_port() : data_.at(i)->port();
}
std::size_t redis_sentinel::index_of_port(std::uint16_t port) const {
  for (std::size_t i = 0; i < data_.size(); ++i)
    if (data_[i]->port() == port || (opts_.tls_data && data_[i]->tls_port() == port)) return i;
  sentinel_fail("no data node listens on port " + std::to_string(port));
}
std::uint16_t redis_sentinel::sentinel_port(std::size_t i) const {
  return sentinels_.at(i).port;
}
std::uint16_t redis_sentinel::sentinel_tls_port(std::size_t i) const {
  return sentinels_.at(i).tls_port;
}
std::string redis_sentinel::ca_cert() const {
  return data_.at(0)->ca_cert();
}
std::string redis_sentinel::client_cert() const {
  return data_.at(0)->client_cert();
}
std::string redis_sentinel::client_key() const {
  return data_.at(0)->client_key();
}
std::string redis_sentinel::other_ca_cert() const {
  return data_.at(0)->other_ca_cert();
}

std::string redis_sentinel::url() const {
  std::string out = "redis+sentinel://";
  for (std::size_t i = 0; i < sentinels_.size(); ++i)
    out += (i == 0 ? "127.0.0.1:" : ",127.0.0.1:") + std::to_string(sentinels_[i].port);
  return out + "/" + opts_.master_name;
}

// ---- sentinel processes ------------------------------------------------------------------

std::string redis_sentinel::sentinel_config(const sentinel_process& s,
                                            std::uint16_t master_port) const {
  const std::string& name = opts_.master_name;
  std::string c = "port " + std::to_string(s.port) + "\nbind 127.0.0.1\ndaemonize no\n" + "dir " +
                  s.dir + "\nlogfile " + s.dir + "/sentinel.log\n" + "sentinel monitor " + name +
                  " 127.0.0.1 " + std::to_string(master_port) + " " + std::to_string(opts_.quorum) +
                  "\n" + "sentinel down-after-milliseconds " + name + " " +
                  std::to_string(opts_.down_after.count()) + "\n" + "sentinel failover-timeout " +
                  name + " " + std::to_string(opts_.failover_timeout.count()) + "\n" +
                  "sentinel parallel-syncs " + name + " 1\n";
  if (opts_.data_password) c += "sentinel auth-pass " + name + " " + *opts_.data_password + "\n";
  if (opts_.sentinel_password)
    c += "requirepass " + *opts_.sentinel_password + "\nsentinel sentinel-pass " +
         *opts_.sentinel_password + "\n";
  if (sentinel_tls())
    c += "tls-port " + std::to_string(s.tls_port) + "\ntls-cert-file " + data_[0]->dir() +
         "/server.crt\ntls-key-file " + data_[0]->dir() + "/server.key\ntls-ca-cert-file " +
         ca_cert() + "\ntls-auth-clients no\n";
  // TLS, with the certificate above as the client's, to the data nodes and to the other
  // sentinels (which are told of this one's TLS port).
  if (opts_.tls_data) c += "tls-replication yes\n";
  return c;
}

void redis_sentinel::start_sentinel(sentinel_process& s, std::uint16_t master_port) {
  for (int attempt = 1;; ++attempt) {
    const auto ports = free_loopback_ports(sentinel_tls() ? 2 : 1);
    s.port = ports[0];
    s.tls_port = sentinel_tls() ? ports[1] : 0;
    // A fresh file each attempt: a sentinel rewrites its own (ids, known peers).
    const std::string conf = s.dir + "/sentinel.conf";
    write_text(conf, sentinel_config(s, master_port));
    fs::remove(s.dir + "/sentinel.log");
    s.pid = spawn_process({redis_server_program(), conf, "--sentinel"}, s.dir + "/stdout.log");
    if (sentinel_ready(s)) return;
    if (attempt == port_attempts) sentinel_fail("ports kept being taken by others");
  }
}

bool redis_sentinel::sentinel_ready(sentinel_process& s) const {
  const std::string log = s.dir + "/sentinel.log";
  const start_result r = wait_started(s.pid, s.port, opts_.sentinel_password, log, ready_timeout);
  if (r.outcome == start_outcome::exited)
    sentinel_fail("sentinel exited during start-up:\n" + tail_of(log, 30) +
                  tail_of(s.dir + "/stdout.log", 10));
  if (r.outcome == start_outcome::timed_out)
    sentinel_fail("sentinel not ready after 10 s; last probe reply: " + r.last_reply);
  return r.outcome == start_outcome::ready;  // else port_taken: the caller picks other ports
}

void redis_sentinel::stop_sentinel(sentinel_process& s) {
  if (s.pid > 0) {
    ::kill(s.pid, SIGKILL);
    int status = 0;
    waitpid_retry(s.pid, &status, 0);
    s.pid = -1;
  }
  if (!s.dir.empty()) {
    std::error_code ignored;
    fs::remove_all(s.dir, ignored);
    s.dir.clear();
  }
}

std::string redis_sentinel::sentinel_command(std::size_t i,
                                             const std::vector<std::string>& args) const {
  const sentinel_process& s = sentinels_.at(i);
  const fd_guard fd(connect_loopback(s.port));
  if (fd.get() < 0) sentinel_fail(errno_text("connect") + " to sentinel " + std::to_string(i));
  return command_reply(fd.get(), opts_.sentinel_password, args, 10s);
}

std::string redis_sentinel::sentinel_log_tail(std::size_t i, std::size_t lines) const {
  return tail_of(sentinels_.at(i).dir + "/sentinel.log", lines);
}

// ---- what the deployment looks like ------------------------------------------------------

std::uint16_t redis_sentinel::named_port(std::size_t i) const {
  try {
    const reply r =
        parse(sentinel_command(i, {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", opts_.master_name}));
    if (r.type != '*' || r.elements.size() != 2) return 0;
    return to_port(r.elements[1].text);
  } catch (const std::runtime_error&) {
    return 0;
  }
}

std::size_t redis_sentinel::master() const {
  std::uint16_t agreed = 0;
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    if (sentinels_[i].pid <= 0) continue;
    const std::uint16_t port = named_port(i);
    if (port == 0) sentinel_fail("sentinel " + std::to_string(i) + " names no master");
    if (agreed != 0 && port != agreed) sentinel_fail("the sentinels name different masters");
    agreed = port;
  }
  return index_of_port(agreed);
}

std::string redis_sentinel::role(std::size_t i) const {
  const reply r = parse(data_.at(i)->command({"ROLE"}));
  return r.elements.empty() ? r.text : r.elements.front().text;
}

std::string redis_sentinel::not_ready_reason() const {
  std::uint16_t agreed = 0;
  std::size_t running = 0;
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    if (sentinels_[i].pid <= 0) continue;
    ++running;
    const std::uint16_t port = named_port(i);
    if (port == 0) return "sentinel " + std::to_string(i) + " names no master";
    if (agreed != 0 && port != agreed) return "the sentinels name different masters";
    agreed = port;
  }
  std::size_t m = data_.size();
  for (std::size_t i = 0; i < data_.size(); ++i)
    if (monitored_port(i) == agreed) m = i;
  if (m == data_.size()) return "the sentinels name port " + std::to_string(agreed);
  if (!data_[m]->running()) return "the named master (node " + std::to_string(m) + ") is down";
  if (role(m) != "master") return "the named master's ROLE is " + role(m);
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    if (sentinels_[i].pid <= 0) continue;
    const std::string who = "sentinel " + std::to_string(i);
    const reply mine = parse(sentinel_command(i, {"SENTINEL", "MASTER", opts_.master_name}));
    const std::string flags = field(mine, "flags");
    if (flags != "master") return who + ": master flags " + flags;
    if (field(mine, "num-other-sentinels") != std::to_string(running - 1))
      return who + " knows " + field(mine, "num-other-sentinels") + " other sentinels";
    const reply replicas = parse(sentinel_command(i, {"SENTINEL", "REPLICAS", opts_.master_name}));
    for (std::size_t d = 0; d < data_.size(); ++d) {
      if (d == m || !data_[d]->running()) continue;
      bool seen = false;
      for (const auto& r : replicas.elements)
        seen = seen || (to_port(field(r, "port")) == monitored_port(d) &&
                        field(r, "flags") == "slave" && field(r, "master-link-status") == "ok" &&
                        to_port(field(r, "master-port")) == agreed);
      if (!seen) return who + " does not see node " + std::to_string(d) + " as a linked replica";
    }
  }
  for (std::size_t d = 0; d < data_.size(); ++d) {
    if (d == m || !data_[d]->running()) continue;
    const std::string info = data_[d]->command({"INFO", "replication"});
    if (!has(info, "master_link_status:up") ||
        !has(info, "master_port:" + std::to_string(agreed) + "\r\n"))
      return "node " + std::to_string(d) + " does not replicate from the master yet";
  }
  return {};
}

void redis_sentinel::timed_out(const std::string& what, const std::string& reason) const {
  std::string logs;
  for (std::size_t i = 0; i < sentinels_.size(); ++i)
    logs += "\n--- sentinel " + std::to_string(i) + ":\n" + sentinel_log_tail(i, 15);
  sentinel_fail(what + ": not done after " + std::to_string(opts_.wait_limit.count()) +
                " s: " + reason + logs);
}

void redis_sentinel::wait_until_ready() const {
  const auto deadline = clock_type::now() + opts_.wait_limit;
  for (;;) {
    std::string reason;
    try {
      reason = not_ready_reason();
    } catch (const std::runtime_error& e) {
      reason = e.what();  // a node restarting, a reply mid-failover
    }
    if (reason.empty()) return;
    if (clock_type::now() >= deadline) timed_out("wait_until_ready", reason);
    std::this_thread::sleep_for(poll_interval);
  }
}

std::size_t redis_sentinel::wait_new_master(std::size_t old, const char* what) const {
  const auto deadline = clock_type::now() + opts_.wait_limit;
  std::string reason;
  for (;;) {
    try {
      const std::size_t now = master();
      if (now == old)
        reason = "the sentinels still name node " + std::to_string(old);
      else if (role(now) != "master")
        reason = "node " + std::to_string(now) + " is named but its ROLE is " + role(now);
      else
        return now;
    } catch (const std::runtime_error& e) {
      reason = e.what();  // sentinels disagree while the news spreads
    }
    if (clock_type::now() >= deadline) timed_out(what, reason);
    std::this_thread::sleep_for(poll_interval);
  }
}

std::size_t redis_sentinel::failover(std::size_t via, bool fence_writes) {
  wait_until_ready();
  const std::size_t old = master();
  const auto deadline = clock_type::now() + opts_.wait_limit;
  if (fence_writes) {
    const std::string pause_ms = std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(opts_.wait_limit).count() * 2);
    const std::string r = data_[old]->command({"CLIENT", "PAUSE", pause_ms, "WRITE"});
    if (r.rfind("+OK", 0) != 0) sentinel_fail("CLIENT PAUSE: " + r);
    // The replica has every write the old master took (no more come while paused).
    auto offset = [](const std::string& info, const std::string& key) {
      const auto at = info.find(key);
      return at == std::string::npos
                 ? std::string()
                 : info.substr(at + key.size(), info.find('\r', at) - at - key.size());
    };
    for (;;) {
      const std::string mine =
          offset(data_[old]->command({"INFO", "replication"}), "master_repl_offset:");
      const std::string theirs =
          offset(data_[1 - old]->command({"INFO", "replication"}), "slave_repl_offset:");
      if (!mine.empty() && mine == theirs) break;
      if (clock_type::now() >= deadline)
        timed_out("failover: replica catching up", "offsets " + mine + " and " + theirs);
      std::this_thread::sleep_for(10ms);
    }
  }
  for (;;) {
    const std::string r = sentinel_command(via, {"SENTINEL", "FAILOVER", opts_.master_name});
    if (r.rfind("+OK", 0) == 0) break;
    // -NOGOODSLAVE while the sentinel's view of the replica is not fresh; -INPROG meanwhile.
    if (clock_type::now() >= deadline) timed_out("SENTINEL FAILOVER", r);
    std::this_thread::sleep_for(200ms);
  }
  const std::size_t promoted = wait_new_master(old, "failover");
  if (fence_writes) {
    const std::string r = data_[old]->command({"CLIENT", "UNPAUSE"});
    if (r.rfind("+OK", 0) != 0) sentinel_fail("CLIENT UNPAUSE: " + r);
  }
  return promoted;
}

std::size_t redis_sentinel::kill_master() {
  wait_until_ready();
  const std::size_t old = master();
  data_[old]->kill();
  return wait_new_master(old, "promotion after SIGKILL");
}

void redis_sentinel::restart_data_node(std::size_t i) {
  data_.at(i)->restart();
}

void redis_sentinel::wait_replicating(std::size_t i) const {
  const auto deadline = clock_type::now() + opts_.wait_limit;
  std::string reason;
  for (;;) {
    try {
      const std::uint16_t master_port = monitored_port(sentinels_.empty() ? 1 - i : master());
      const std::string info = data_.at(i)->command({"INFO", "replication"});
      if (has(info, "role:slave") && has(info, "master_link_status:up") &&
          has(info, "master_port:" + std::to_string(master_port) + "\r\n"))
        return;
      reason = "node " + std::to_string(i) + " does not replicate from port " +
               std::to_string(master_port) + " with its link up";
    } catch (const std::runtime_error& e) {
      reason = e.what();
    }
    if (clock_type::now() >= deadline) timed_out("wait_replicating", reason);
    std::this_thread::sleep_for(poll_interval);
  }
}

}  // namespace streamq::test

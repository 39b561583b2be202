#include "redis_cluster.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "posix_helpers.hpp"

namespace streamq::test {
namespace {

using namespace detail;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto poll_interval = 50ms;

[[noreturn]] void cluster_fail(const std::string& what) {
  throw std::runtime_error("redis_cluster: " + what);
}

// The payload of a RESP2 bulk string reply; throws on anything else (an error reply included).
std::string bulk(const std::string& reply) {
  if (reply.empty() || reply[0] != '$') cluster_fail("expected a bulk string, got: " + reply);
  const auto eol = reply.find("\r\n");
  std::size_t len = 0;
  std::from_chars(reply.data() + 1, reply.data() + eol, len);
  return reply.substr(eol + 2, len);
}

// The bulk strings of a RESP2 array reply (CLUSTER GETKEYSINSLOT).
std::vector<std::string> bulk_array(const std::string& reply) {
  if (reply.empty() || reply[0] != '*') cluster_fail("expected an array, got: " + reply);
  std::vector<std::string> out;
  std::size_t at = reply.find("\r\n") + 2;
  while (at < reply.size()) {
    const auto eol = reply.find("\r\n", at);
    std::size_t len = 0;
    std::from_chars(reply.data() + at + 1, reply.data() + eol, len);
    out.push_back(reply.substr(eol + 2, len));
    at = eol + 2 + len + 2;
  }
  return out;
}

void expect_ok(const std::string& reply, const std::string& what) {
  if (reply.rfind("+OK", 0) != 0) cluster_fail(what + ": " + reply);
}

std::uint16_t to_u16(std::string_view text) {
  unsigned v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return static_cast<std::uint16_t>(v);
}

std::string make_dir() {
  std::string dir = make_owned_dir(env_or("TMPDIR", "/tmp"), "cluster-");
  if (dir.empty()) cluster_fail(errno_text("mkdtemp"));
  return dir;
}

}  // namespace

// Where the nodes' processes are started. A child of spawn_process dies with the *thread* that
// forked it (PR_SET_PDEATHSIG follows the thread, not the process), so a node added or
// restarted from a test's fault thread was SIGKILLed the moment that thread ended: a master
// added and given slots under load vanished after the reshard, its slots unserved, and the
// cluster stayed CLUSTERDOWN. Forked from this thread, every node lives as long as the fixture.
class redis_cluster::spawner {
 public:
  spawner() : thread_([this] { loop(); }) {}
  ~spawner() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  spawner(const spawner&) = delete;
  spawner& operator=(const spawner&) = delete;

  // Runs `job` on the thread; returns what it returned or rethrows what it threw.
  template <class Job>
  auto run(Job job) -> decltype(job()) {
    // Shared: the thread may still be inside the task when `result` is ready.
    auto task = std::make_shared<std::packaged_task<decltype(job())()>>(std::move(job));
    auto result = task->get_future();
    {
      const std::lock_guard lock(mutex_);
      jobs_.emplace_back([task] { (*task)(); });
    }
    wake_.notify_one();
    return result.get();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members it uses exist
};

redis_cluster::redis_cluster() : redis_cluster(options{}) {}

redis_cluster::redis_cluster(options opts)
    : opts_(std::move(opts)), spawner_(std::make_unique<spawner>()) {
  if (opts_.masters == 0) throw std::invalid_argument("redis_cluster_options::masters: 0");
  dir_ = make_dir();
  try {
    const std::size_t count = opts_.masters * (1 + opts_.replicas_per_master);
    std::vector<std::string> create = {redis_cli_program(), "--cluster", "create"};
    for (std::size_t i = 0; i < count; ++i)
      create.push_back("127.0.0.1:" + std::to_string(port(start_node())));
    create.insert(create.end(), {"--cluster-replicas", std::to_string(opts_.replicas_per_master),
                                 "--cluster-yes"});
    run_tool(create, dir_ + "/create.log");
    wait_until_ok();
  } catch (...) {
    nodes_.clear();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw;
  }
}

redis_cluster::~redis_cluster() {
  for (auto& n : nodes_) n->kill();  // nothing to save; SIGKILL ends each at once
  nodes_.clear();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::size_t redis_cluster::start_node() {
  for (int attempt = 1;; ++attempt) {
    // redis_server picks the client port; the cluster bus port is ours to pick (port + 10000
    // may be over 65535 for a free port chosen by the kernel).
    const std::uint16_t bus = free_loopback_ports(1)[0];
    redis_server::options o;
    o.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", std::to_string(opts_.node_timeout.count()),
                    "--cluster-port", std::to_string(bus),
                    // A master otherwise waits 5 s for more replicas before a full sync: every
                    // create and every rejoin would take that long.
                    "--repl-diskless-sync-delay", "0"};
    o.extra_args.insert(o.extra_args.end(), opts_.extra_args.begin(), opts_.extra_args.end());
    try {
      nodes_.push_back(spawner_->run([&] { return std::make_unique<redis_server>(std::move(o)); }));
    } catch (const std::runtime_error&) {
      if (attempt == port_attempts) throw;
      continue;  // most likely the bus port was taken meanwhile
    }
    bus_ports_.push_back(bus);
    const std::size_t index = nodes_.size() - 1;
    ids_.push_back(bulk(command(index, {"CLUSTER", "MYID"})));
    return index;
  }
}

std::uint16_t redis_cluster::port(std::size_t node) const {
  return nodes_.at(node)->port();
}
const std::string& redis_cluster::id(std::size_t node) const {
  return ids_.at(node);
}
bool redis_cluster::running(std::size_t node) const {
  return nodes_.at(node)->running();
}
std::string redis_cluster::url(std::size_t node) const {
  return nodes_.at(node)->url();
}
redis_server& redis_cluster::server(std::size_t node) {
  return *nodes_.at(node);
}

std::size_t redis_cluster::index_of_port(std::uint16_t p) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i]->port() == p) return i;
  cluster_fail("no node listens on port " + std::to_string(p));
}

std::size_t redis_cluster::first_running() const {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i]->running()) return i;
  cluster_fail("no node is running");
}

std::string redis_cluster::command(std::size_t node, const std::vector<std::string>& args) const {
  return nodes_.at(node)->command(args);
}

std::vector<std::string> redis_cluster::pipeline(
    std::size_t node, const std::vector<std::vector<std::string>>& commands) const {
  const fd_guard fd(connect_loopback(port(node)));
  if (fd.get() < 0) cluster_fail(errno_text("connect") + " to port " + std::to_string(port(node)));
  std::string request;
  for (const auto& c : commands) request += encode(c);
  auto [buf, ends] = round_trip(fd.get(), request, commands.size(), 10s);
  std::vector<std::string> replies;
  std::size_t begin = 0;
  for (const auto end : ends) {
    replies.push_back(buf.substr(begin, end - begin));
    begin = end;
  }
  return replies;
}

std::string redis_cluster::tool_output(const std::vector<std::string>& argv) const {
  const std::string log = dir_ + "/tool.log";
  fs::remove(log);
  run_tool(argv, log);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string redis_cluster::cli(std::size_t node, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {redis_cli_program(), "-p", std::to_string(port(node))};
  argv.insert(argv.end(), args.begin(), args.end());
  return tool_output(argv);
}

// CLUSTER NODES lines: <id> <ip:port@bus[,hostname]> <flags> <master|-> <ping> <pong> <epoch>
// <link> <slot>...; a slot is "N", "N-M", or "[N->-id]" / "[N-<-id]" while migrating.
std::vector<cluster_node_info> redis_cluster::view(std::size_t from) const {
  std::istringstream text(bulk(command(from, {"CLUSTER", "NODES"})));
  std::vector<cluster_node_info> out;
  std::map<std::string, std::string> master_ids;
  for (std::string line; std::getline(text, line);) {
    std::istringstream words(line);
    std::string id, address, flags, master, ping, pong, epoch, link;
    if (!(words >> id >> address >> flags >> master >> ping >> pong >> epoch >> link)) continue;
    cluster_node_info n;
    n.id = id;
    const auto at = address.find('@');
    n.port = to_u16(address.substr(address.rfind(':', at) + 1, at - address.rfind(':', at) - 1));
    n.role =
        flags.find("slave") != std::string::npos ? cluster_role::replica : cluster_role::master;
    n.failed = flags.find("fail") != std::string::npos;
    n.index = cluster_node_info::npos;
    for (std::size_t i = 0; i < ids_.size(); ++i)
      if (ids_[i] == id) n.index = i;
    n.running = n.index != cluster_node_info::npos && nodes_[n.index]->running();
    for (std::string slot; words >> slot;) {
      if (slot.front() == '[') continue;
      const auto dash = slot.find('-');
      const auto first = to_u16(slot.substr(0, dash));
      n.slots.emplace_back(first,
                           dash == std::string::npos ? first : to_u16(slot.substr(dash + 1)));
    }
    master_ids[id] = master;
    n.connected = (link == "connected" || flags.find("myself") != std::string::npos) &&
                  flags.find("handshake") == std::string::npos &&
                  flags.find("noaddr") == std::string::npos;
    out.push_back(std::move(n));
  }
  for (auto& n : out) {
    if (n.role != cluster_role::replica) continue;
    for (std::size_t i = 0; i < ids_.size(); ++i)
      if (ids_[i] == master_ids[n.id]) n.master = i;
  }
  std::sort(out.begin(), out.end(), [](const cluster_node_info& a, const cluster_node_info& b) {
    return a.index < b.index;
  });
  return out;
}

std::vector<cluster_node_info> redis_cluster::nodes() const {
  return view(first_running());
}

cluster_role redis_cluster::role(std::size_t node) const {
  for (const auto& n : nodes())
    if (n.index == node) return n.role;
  cluster_fail("node " + std::to_string(node) + " is not in the cluster");
}

std::vector<std::size_t> redis_cluster::masters() const {
  std::vector<std::size_t> out;
  for (const auto& n : nodes())
    if (n.role == cluster_role::master && n.running && !n.slots.empty()) out.push_back(n.index);
  return out;
}

std::vector<std::size_t> redis_cluster::replicas_of(std::size_t master) const {
  std::vector<std::size_t> out;
  for (const auto& n : nodes())
    if (n.role == cluster_role::replica && n.master == master) out.push_back(n.index);
  return out;
}

std::size_t redis_cluster::owner(std::uint16_t slot) const {
  for (const auto& n : nodes())
    if (n.role == cluster_role::master && !n.failed)
      for (const auto& [first, last] : n.slots)
        if (slot >= first && slot <= last) return n.index;
  cluster_fail("no master serves slot " + std::to_string(slot));
}

std::string redis_cluster::not_ok_reason() const {
  std::size_t up = 0;
  for (const auto& n : nodes_) up += n->running() ? 1 : 0;
  // "<id> <slots>" of every master and "<id> replicates <id>" of every replica, as the first
  // running node sees them: every node must see the same.
  std::string agreed;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->running()) continue;
    const std::string who = "node " + std::to_string(i) + " (port " + std::to_string(port(i)) + ")";
    if (command(i, {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos)
      return who + ": cluster_state is not ok";
    std::string layout;
    std::size_t known = 0;
    for (const auto& n : view(i)) {
      if (n.index == cluster_node_info::npos) return who + ": knows a node we did not start";
      if (!n.running) {
        if (n.role == cluster_role::master && !n.slots.empty())
          return who + ": slots still served by stopped node " + std::to_string(n.index);
        continue;
      }
      ++known;
      if (n.failed || !n.connected)
        return who + ": sees node " + std::to_string(n.index) + " failed or not connected";
      if (n.role == cluster_role::replica) {
        if (n.master == cluster_node_info::npos)
          return who + ": does not know the master of node " + std::to_string(n.index);
        layout += n.id + " replicates " + id(n.master) + "\n";
      } else if (!n.slots.empty()) {
        layout += n.id;
        for (const auto& [first, last] : n.slots)
          layout += " " + std::to_string(first) + "-" + std::to_string(last);
        layout += "\n";
      }
    }
    if (known != up) return who + ": knows " + std::to_string(known) + " of " + std::to_string(up);
    if (agreed.empty()) agreed = layout;
    if (layout != agreed) return who + " disagrees:\n" + layout + "vs\n" + agreed;
    const std::string repl = command(i, {"INFO", "replication"});
    if (repl.find("role:slave") != std::string::npos &&
        repl.find("master_link_status:up") == std::string::npos)
      return who + ": replica whose link to its master is down";
  }
  return {};
}

void redis_cluster::wait_until_ok() const {
  const auto deadline = clock_type::now() + opts_.wait_limit;
  for (;;) {
    const std::string reason = not_ok_reason();
    if (reason.empty()) return;
    if (clock_type::now() >= deadline)
      cluster_fail("not ok after " + std::to_string(opts_.wait_limit.count()) + " s: " + reason);
    std::this_thread::sleep_for(poll_interval);
  }
}

void redis_cluster::kill(std::size_t node) {
  nodes_.at(node)->kill();
}

void redis_cluster::restart(std::size_t node) {
  redis_server& server = *nodes_.at(node);
  spawner_->run([&] { server.restart(); });
}

void redis_cluster::failover(std::size_t replica) {
  if (role(replica) != cluster_role::replica)
    cluster_fail("failover: node " + std::to_string(replica) + " is not a replica");
  wait_until_ok();  // its link to the master is up: a manual failover needs it
  expect_ok(command(replica, {"CLUSTER", "FAILOVER"}), "CLUSTER FAILOVER");
  const auto deadline = clock_type::now() + opts_.wait_limit;
  auto promoted_everywhere = [&] {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i]->running()) continue;
      for (const auto& n : view(i))
        if (n.index == replica && n.role != cluster_role::master) return false;
    }
    return true;
  };
  while (!promoted_everywhere()) {
    if (clock_type::now() >= deadline) cluster_fail("failover: node not promoted in time");
    std::this_thread::sleep_for(poll_interval);
  }
  wait_until_ok();
}

redis_cluster::slot_migration redis_cluster::begin_migration(std::uint16_t slot, std::size_t to) {
  const slot_migration m{slot, owner(slot), to};
  if (m.from == to) cluster_fail("begin_migration: the slot is on that node already");
  const std::string s = std::to_string(slot);
  expect_ok(command(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", id(m.from)}), "SETSLOT IMPORTING");
  expect_ok(command(m.from, {"CLUSTER", "SETSLOT", s, "MIGRATING", id(to)}), "SETSLOT MIGRATING");
  return m;
}

std::size_t redis_cluster::migrate_keys(const slot_migration& m, std::size_t batch) {
  std::size_t moved = 0;
  for (;;) {
    const auto keys = bulk_array(command(
        m.from, {"CLUSTER", "GETKEYSINSLOT", std::to_string(m.slot), std::to_string(batch)}));
    if (keys.empty()) return moved;
    std::vector<std::string> migrate = {
        "MIGRATE", "127.0.0.1", std::to_string(port(m.to)), "", "0", "10000", "REPLACE", "KEYS"};
    migrate.insert(migrate.end(), keys.begin(), keys.end());
    expect_ok(command(m.from, migrate), "MIGRATE");
    moved += keys.size();
  }
}

void redis_cluster::finish_migration(const slot_migration& m) {
  // The target first, then the source (so that it stops answering ASK), then the others.
  std::vector<std::size_t> order = {m.to, m.from};
  for (const std::size_t master : masters())
    if (master != m.to && master != m.from) order.push_back(master);
  for (const std::size_t node : order)
    expect_ok(command(node, {"CLUSTER", "SETSLOT", std::to_string(m.slot), "NODE", id(m.to)}),
              "SETSLOT NODE");
  wait_until_ok();
}

void redis_cluster::move_slot(std::uint16_t slot, std::size_t to) {
  const auto m = begin_migration(slot, to);
  migrate_keys(m);
  finish_migration(m);
}

std::size_t redis_cluster::add_master() {
  const std::size_t node = start_node();
  expect_ok(command(first_running(), {"CLUSTER", "MEET", "127.0.0.1", std::to_string(port(node)),
                                      std::to_string(bus_ports_[node])}),
            "CLUSTER MEET");
  wait_until_ok();
  return node;
}

void redis_cluster::reshard(std::size_t from, std::size_t to, std::size_t count) {
  tool_output({redis_cli_program(), "--cluster", "reshard",
               "127.0.0.1:" + std::to_string(port(from)), "--cluster-from", id(from),
               "--cluster-to", id(to), "--cluster-slots", std::to_string(count), "--cluster-yes"});
  wait_until_ok();
}

}  // namespace streamq::test

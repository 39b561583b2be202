#include "support/partition_process_scenario.hpp"

#include "support/async_test.hpp"
#include "support/ledger.hpp"
#include "support/posix_helpers.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace streamq::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using streams::partitions_view;

// The workers' settings (command line of streamq-test-partition-worker). Short lease and
// heartbeat so that a crash is taken over within seconds; handlers long enough that a fault
// finds some in flight (the worker draws each one's time from 0 to twice this).
constexpr std::chrono::milliseconds lease_ttl{1500};
constexpr std::chrono::milliseconds heartbeat{200};
constexpr int handle_ms = 10;
const std::string group = "g";

std::int64_t ms_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count();
}

// One streamq-test-partition-worker. The destructor kills and reaps one still running (a check
// failed midway), so no process outlives the test.
class worker_process {
 public:
  worker_process(const partition_process_options& o, std::string name)
      : name_(std::move(name)), log_(o.log_dir + "/" + name_ + ".log") {
    pid_ = detail::spawn_process({o.worker_program, o.url, o.topic, group, name_,
                                  std::to_string(handle_ms), std::to_string(lease_ttl.count()),
                                  std::to_string(heartbeat.count())},
                                 log_);
  }
  ~worker_process() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    int status = 0;
    detail::waitpid_retry(pid_, &status, 0);
  }
  worker_process(const worker_process&) = delete;
  worker_process& operator=(const worker_process&) = delete;

  const std::string& name() const { return name_; }
  std::string log_tail() const { return detail::tail_of(log_, 25); }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Its wait status once it exited (polled, so the io_context goes on meanwhile), or nothing
  // after `limit`.
  asio::awaitable<std::optional<int>> reap(std::chrono::milliseconds limit) {
    const auto until = clock_type::now() + limit;
    while (pid_ > 0) {
      int status = 0;
      if (detail::waitpid_retry(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        co_return status;
      }
      if (clock_type::now() >= until) break;
      co_await sleep_for(10ms);
    }
    co_return std::nullopt;
  }

 private:
  std::string name_;
  std::string log_;
  pid_t pid_ = -1;
};

// One handler run as the worker recorded it.
struct run_record {
  std::uint64_t label = 0;  // the ledger's sequence number
  std::string key;          // the envelope's partition key
  std::uint64_t key_seq = 0;
  std::string member;
  std::uint32_t partition = 0;
  std::uint64_t epoch = 0;
  std::string entry;  // its stream entry ID (the ms it was added, then a counter)
};

std::optional<run_record> parse_run(const std::string& line) {
  std::istringstream in(line);
  std::string id, key, member, partition, entry;
  std::uint64_t key_seq = 0, epoch = 0;
  if (!(in >> id >> key >> key_seq >> member >> partition >> epoch >> entry)) return std::nullopt;
  const auto label = ledger::parse_label(id);
  if (!label || partition == "?") return std::nullopt;
  return run_record{*label, key, key_seq, member,
                    static_cast<std::uint32_t>(std::stoul(partition)), epoch, entry};
}

std::string key_name(std::size_t k) { return "k" + std::to_string(k); }

std::size_t held_by(const partitions_view& v, const std::string& member) {
  return static_cast<std::size_t>(std::count_if(v.leases.begin(), v.leases.end(),
                                                [&](const auto& l) { return l.owner == member; }));
}

// Every partition held, each by one of `live`.
bool all_held_by(const partitions_view& v, const std::set<std::string>& live) {
  return !v.leases.empty() && std::all_of(v.leases.begin(), v.leases.end(), [&](const auto& l) {
    return live.contains(l.owner);
  });
}

struct scenario_state {
  const partition_process_options& opt;
  std::vector<std::unique_ptr<worker_process>>& workers;

  worker_process& spawn(const std::string& name) {
    workers.push_back(std::make_unique<worker_process>(opt, name));
    return *workers.back();
  }
  void print_logs() const {
    for (const auto& w : workers) MESSAGE("log tail of " << w->name() << ":\n" << w->log_tail());
  }
  // Polls inspect_partitions until `done` holds; the milliseconds it took. Fails the test
  // (with the workers' log tails) after `limit`.
  asio::awaitable<std::int64_t> until_view(client& c,
                                           std::function<bool(const partitions_view&)> done,
                                           std::chrono::milliseconds limit, const char* what) {
    const auto start = clock_type::now();
    for (;;) {
      const auto view = co_await streams::inspect_partitions(c, opt.topic, group);
      if (done(view)) co_return ms_since(start);
      if (clock_type::now() - start > limit) {
        print_logs();
        FAIL("timed out waiting until " << what);
      }
      co_await sleep_for(20ms);
    }
  }
};

asio::awaitable<std::vector<std::string>> read_runs(client& c, const std::string& list) {
  resp::request req;
  req.push("LRANGE", resp::key{list}, 0, -1);
  resp::response<std::vector<std::string>> reply;
  co_await c.async_exec(req, reply);
  co_return reply.get<0>().value();
}

asio::awaitable<long> count_runs(client& c, const std::string& list) {
  resp::request req;
  req.push("LLEN", resp::key{list});
  resp::response<long> reply;
  co_await c.async_exec(req, reply);
  co_return reply.get<0>().value();
}

// The leases a faulted member held when the fault hit: (member, partition, epoch).
using lease_set = std::set<std::tuple<std::string, std::uint32_t, std::uint64_t>>;

// What the faults and rebalances measured.
struct phase_results {
  std::int64_t kill_ms = 0;   // SIGKILL of w1 until every partition was held again
  std::int64_t pause_ms = 0;  // SIGSTOP of w2 until every partition was held again
  std::int64_t join_ms = 0;   // w4's start until it held its share
  lease_set faulted;
  std::vector<std::size_t> published_at;  // messages published when each fault hit
};

std::size_t note_leases(const partitions_view& v, const std::string& member, lease_set& out) {
  std::size_t n = 0;
  for (const auto& l : v.leases)
    if (l.owner == member) {
      out.insert({member, l.partition, l.epoch});
      ++n;
    }
  return n;
}

// Steps 1 to 3 of the header's scenario, while the publisher runs.
asio::awaitable<void> fault_phases(client& c, scenario_state& st, phase_results& out,
                                   std::function<std::size_t()> published,
                                   std::string runs_list) {
  const auto& topic = st.opt.topic;
  const std::size_t parts = st.opt.partitions;
  // Three members share the partitions and are handling messages.
  auto& w1 = st.spawn("w1");
  auto& w2 = st.spawn("w2");
  st.spawn("w3");
  co_await st.until_view(
      c,
      [&](const partitions_view& v) {
        return all_held_by(v, {"w1", "w2", "w3"}) && held_by(v, "w1") >= parts / 3 &&
               held_by(v, "w2") >= parts / 3 && held_by(v, "w3") >= parts / 3;
      },
      20s, "w1, w2 and w3 share the partitions");
  for (int i = 0; i < 500 && co_await count_runs(c, runs_list) < 200; ++i)
    co_await sleep_for(20ms);
  co_await sleep_for(500ms);
  // The earliest a lease can be taken over after its holder stopped renewing it: it was
  // renewed at most a heartbeat before, plus the tick's own round trips (a heartbeat's slack).
  const auto earliest_takeover = (lease_ttl - 2 * heartbeat).count();

  // 1. SIGKILL: w1's leases stay as they are until they run out and the others take them.
  out.published_at.push_back(published());
  w1.signal(SIGKILL);
  const auto killed_at = clock_type::now();
  CHECK(note_leases(co_await streams::inspect_partitions(c, topic, group), "w1", out.faulted) > 0);
  co_await st.until_view(
      c, [&](const partitions_view& v) { return all_held_by(v, {"w2", "w3"}); }, 20s,
      "w2 and w3 hold every partition after w1's SIGKILL");
  out.kill_ms = ms_since(killed_at);
  const auto w1_status = co_await w1.reap(5s);
  REQUIRE(w1_status.has_value());
  CHECK(WIFSIGNALED(*w1_status));
  CHECK(out.kill_ms >= earliest_takeover);  // never two holders by the lease's clock
  MESSAGE("rebalance after SIGKILL of w1: every partition held again after " << out.kill_ms
                                                                             << " ms");
  co_await sleep_for(1s);

  // 2. SIGSTOP past the lease: w3 takes everything; w2, woken, finds its leases gone (its
  // acknowledgements fenced) and gets its share back.
  out.published_at.push_back(published());
  w2.signal(SIGSTOP);
  const auto stopped_at = clock_type::now();
  const auto stopped_unix_ms = unix_ms(std::chrono::system_clock::now());
  CHECK(note_leases(co_await streams::inspect_partitions(c, topic, group), "w2", out.faulted) > 0);
  co_await st.until_view(
      c, [&](const partitions_view& v) { return all_held_by(v, {"w3"}); }, 20s,
      "w3 holds every partition while w2 is stopped");
  out.pause_ms = ms_since(stopped_at);
  CHECK(out.pause_ms >= earliest_takeover);
  MESSAGE("rebalance after SIGSTOP of w2: every partition held again after " << out.pause_ms
                                                                             << " ms");
  co_await sleep_for(heartbeat * 3);  // w3 is handling w2's former partitions meanwhile
  w2.signal(SIGCONT);
  const auto resumed_unix_ms = unix_ms(std::chrono::system_clock::now());
  const auto resume_ms = co_await st.until_view(
      c,
      [&](const partitions_view& v) {
        return all_held_by(v, {"w2", "w3"}) && held_by(v, "w2") >= parts / 2;
      },
      20s, "w2, resumed, holds its share again");
  MESSAGE("w2, stopped for " << ms_since(stopped_at) - resume_ms << " ms (unix ms "
                             << stopped_unix_ms << " to " << resumed_unix_ms
                             << "), held its share again " << resume_ms << " ms after SIGCONT");
  co_await sleep_for(500ms);

  // 3. A fourth member joins.
  out.published_at.push_back(published());
  const auto joined_at = clock_type::now();
  st.spawn("w4");
  co_await st.until_view(
      c,
      [&](const partitions_view& v) {
        return all_held_by(v, {"w2", "w3", "w4"}) && held_by(v, "w4") >= parts / 3;
      },
      20s, "w4 holds its share");
  out.join_ms = ms_since(joined_at);
  MESSAGE("rebalance after w4 started: its share held after " << out.join_ms << " ms");
  co_await sleep_for(1s);
}

// What the run records say (header comment).
struct run_checks {
  std::size_t runs = 0;
  std::size_t malformed = 0;   // records that do not parse
  std::size_t mismatched = 0;  // key or key sequence not what went out under the label
  std::size_t misplaced = 0;   // run on another partition than its key's
  std::size_t order_violations = 0;
  std::size_t excused = 0;    // re-executions around a fault
  std::size_t unexcused = 0;  // re-executions outside one
  std::map<std::string, std::size_t> excused_by;  // per faulted member
};

run_checks check_runs(const std::vector<std::string>& lines,
                      const std::map<std::uint64_t, std::pair<std::string, std::uint64_t>>& sent,
                      std::uint32_t partitions, const lease_set& faulted, ledger& book) {
  run_checks out;
  out.runs = lines.size();
  std::map<std::string, std::uint64_t> highest_first;  // per key
  std::map<std::uint64_t, std::vector<run_record>> runs_of;
  std::map<std::string, std::vector<run_record>> runs_of_key;  // in the order received
  std::vector<std::pair<std::string, std::uint64_t>> violations;
  for (const auto& line : lines) {
    const auto run = parse_run(line);
    if (!run) {
      ++out.malformed;
      MESSAGE("malformed run record: " << line);
      continue;
    }
    book.record_handled(run->label);
    const auto it = sent.find(run->label);
    if (it == sent.end() || it->second != std::pair(run->key, run->key_seq)) ++out.mismatched;
    if (streams::partition_for_key(run->key, partitions) != run->partition) ++out.misplaced;
    auto& runs = runs_of[run->label];
    if (runs.empty()) {
      const auto h = highest_first.find(run->key);
      if (h != highest_first.end() && run->key_seq < h->second) {
        ++out.order_violations;
        violations.emplace_back(run->key, run->key_seq);
      }
      if (h == highest_first.end() || run->key_seq > h->second)
        highest_first[run->key] = run->key_seq;
    }
    runs.push_back(*run);
    runs_of_key[run->key].push_back(*run);
  }
  // Each violation with its key's runs near it, in the order Redis received them.
  for (const auto& [key, seq] : violations) {
    std::string near;
    for (const auto& r : runs_of_key[key])
      if (r.key_seq + 4 >= seq && r.key_seq <= seq + 4)
        near += "\n  seq " + std::to_string(r.key_seq) + " by " + r.member + " on partition " +
                std::to_string(r.partition) + " epoch " + std::to_string(r.epoch) +
                " entry " + r.entry;
    MESSAGE("order violation: " << key << " seq " << seq
                                << " first handled after a later one; runs near it:" << near);
  }
  for (const auto& [label, runs] : runs_of) {
    if (runs.size() < 2) continue;
    const auto faulted_run = std::find_if(runs.begin(), runs.end(), [&](const run_record& r) {
      return faulted.contains({r.member, r.partition, r.epoch});
    });
    const bool by_faulted = faulted_run != runs.end();
    (by_faulted ? out.excused : out.unexcused) += runs.size() - 1;
    if (by_faulted) out.excused_by[faulted_run->member] += runs.size() - 1;
    if (!by_faulted) {
      std::string who;
      for (const auto& r : runs)
        who += " " + r.member + "@" + std::to_string(r.partition) + "/" + std::to_string(r.epoch);
      MESSAGE("re-executed outside a fault: " << ledger::label(label) << " ran on" << who);
    }
  }
  return out;
}

}  // namespace

void run_partition_process_scenario(const partition_process_options& opt) {
  const std::string runs_list = opt.topic + ":partition-runs";
  // Outlives the client loop: its destructor reaps whatever a failed check left running.
  std::vector<std::unique_ptr<worker_process>> workers;
  scenario_state st{opt, workers};
  run_with_client(
      opt.url,
      [&](client& c) -> asio::awaitable<void> {
        REQUIRE(co_await streams::set_partitions(c, opt.topic, opt.partitions) == opt.partitions);
        ledger book(opt.test_name, ledger_scope{.handlers = true, .recovery = false});
        // What went out under each label (key, the key's sequence number), and each key's next.
        std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> sent;
        std::vector<std::uint64_t> next_seq(opt.keys, 0);
        streams::publisher plain(c);
        streams::partitioned_publisher pub(plain);
        bool publishing = true, publish_done = false;
        std::exception_ptr publish_failure;
        // Keys in turn, a few messages each, so that a key has several waiting at once.
        constexpr std::size_t burst = 4;
        auto publish = [&]() -> asio::awaitable<void> {
          for (std::size_t n = 0; publishing; ++n) {
            const std::size_t k = (n / burst) % opt.keys;
            const auto label = book.next_sequence();
            Order order;
            order.set_id(ledger::label(label));
            order.set_amount_cents(static_cast<std::int64_t>(next_seq[k]));
            streams::envelope_options how;
            how.partition_key = key_name(k);
            co_await pub.publish(opt.topic, order, how);
            sent[label] = {key_name(k), next_seq[k]++};
            book.record_publish(label, ledger::outcome::ok);
            co_await sleep_for(1ms);  // steady load, well within what the workers handle
          }
        };
        asio::co_spawn(c.get_executor(), publish(), [&](std::exception_ptr e) {
          publish_failure = e;
          publish_done = true;
        });
        phase_results phases;
        std::exception_ptr failure;
        co_await capture_failure(
            fault_phases(c, st, phases, [&] { return sent.size(); }, runs_list), failure);
        // Publishing stops, also after a failure: the publisher uses this frame's locals.
        publishing = false;
        co_await wait_until([&] { return publish_done; }, 10s);
        if (failure) std::rethrow_exception(failure);
        if (publish_failure) std::rethrow_exception(publish_failure);
        const auto published = sent.size();
        phases.published_at.push_back(published);
        // Published all along: more at each fault than at the one before, and after the last.
        for (std::size_t i = 1; i < phases.published_at.size(); ++i)
          CHECK(phases.published_at[i] > phases.published_at[i - 1]);

        // 4. Everything published gets handled (bounded: what is missing then counts as lost),
        // then the members still running stop gracefully.
        const auto drain_until = clock_type::now() + 20s;
        for (;;) {
          std::set<std::uint64_t> handled;
          for (const auto& line : co_await read_runs(c, runs_list))
            if (const auto run = parse_run(line)) handled.insert(run->label);
          if (handled.size() >= published || clock_type::now() > drain_until) break;
          co_await sleep_for(200ms);
        }
        for (std::size_t i = 1; i < workers.size(); ++i) workers[i]->signal(SIGTERM);
        for (std::size_t i = 1; i < workers.size(); ++i) {
          const auto status = co_await workers[i]->reap(15s);
          CAPTURE(workers[i]->name());
          REQUIRE(status.has_value());
          CHECK(WIFEXITED(*status));
          CHECK(WEXITSTATUS(*status) == 0);
        }

        // The runs in the order Redis received them, the final drain's included.
        const auto lines = co_await read_runs(c, runs_list);
        auto runs = check_runs(lines, sent, opt.partitions, phases.faulted, book);
        for (std::uint32_t p = 0; p < opt.partitions; ++p) {
          const auto partition = streams::partition_topic(opt.topic, p);
          co_await drain_into(c, partition, group, book);
          CAPTURE(partition);
          CHECK(co_await pending_count(c, partition, group) == 0);
        }
        const auto r = book.report();
        const auto rebalance_ms =
            std::max(phases.kill_ms, std::max(phases.pause_ms, phases.join_ms));
        std::string line = r.json();
        line.pop_back();  // its closing brace: this scenario's two figures follow
        line += ",\"order_violations\":" + std::to_string(runs.order_violations) +
                ",\"rebalance_ms\":" + std::to_string(rebalance_ms) + "}";
        std::cout << "LEDGER " << line << std::endl;
        MESSAGE("published " << published << ", handler runs " << runs.runs
                             << ", re-executed around the SIGKILL (w1) " << runs.excused_by["w1"]
                             << " and the SIGSTOP (w2) " << runs.excused_by["w2"]);

        if (runs.order_violations != 0 || r.lost != 0 || runs.unexcused != 0 ||
            runs.malformed != 0 || runs.mismatched != 0 || runs.misplaced != 0)
          st.print_logs();
        CHECK(runs.order_violations == 0);
        CHECK(r.lost == 0);
        CHECK(runs.unexcused == 0);
        CHECK(r.ok == published);
        CHECK(r.duplicated == 0);  // each message stored once
        CHECK(r.unexpected == 0);
        CHECK(r.dead_lettered == 0);
        CHECK(runs.malformed == 0);
        CHECK(runs.mismatched == 0);
        CHECK(runs.misplaced == 0);
      },
      std::chrono::seconds(100));
}

}  // namespace streamq::test

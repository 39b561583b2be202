#pragma once
// The replays started from the dashboard: each one a coroutine owned by this table, with a
// cancellation signal of its own, started only while run() runs, cancelled and awaited when
// it ends. At most max_running run at once; the last `kept` finished ones stay listed.
//
// A replay's status follows its progress reports (replay_options::on_progress), so the page
// shows it moving; a replay without an explicit end ends where each stream ended when it
// started, even while producers publish. Threads: on the client's executor only.

#include <streamq/client.hpp>
#include <streamq/log.hpp>
#include <streamq/streams/replay.hpp>

#include "../streams/support/stop_request.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace streamq::dashboard::detail {

struct replay_status {
  std::uint64_t id = 0;
  enum class state { running, done, failed, cancelled };
  state what = state::running;
  std::string topic;
  std::string into_topic;  // empty for a dry run
  bool dry_run = false;
  std::uint64_t scanned = 0;   // entries read
  std::uint64_t replayed = 0;  // republished (a dry run: matched)
  std::string last_position;   // "ID", or "T#N@ID" for a partition; empty before the first
  std::optional<std::string> error;
};
[[nodiscard]] const char* state_name(replay_status::state s);

class replay_jobs {
 public:
  replay_jobs(client& c, std::size_t max_running, std::size_t kept, logger log);
  ~replay_jobs();
  replay_jobs(const replay_jobs&) = delete;
  replay_jobs& operator=(const replay_jobs&) = delete;

  enum class refusal { none, not_running, too_many };
  struct started {
    refusal refused = refusal::none;
    std::uint64_t id = 0;
  };
  // Starts a replay of `options` into `into_topic` (empty: options.dry_run must be set).
  // Throws std::invalid_argument for options replay() would refuse (before anything runs).
  [[nodiscard]] started start(streams::replay_options options, std::string into_topic);
  // Asks replay `id` to stop (at its current request). False when it is unknown or finished.
  bool cancel(std::uint64_t id);
  [[nodiscard]] std::optional<replay_status> find(std::uint64_t id) const;
  [[nodiscard]] std::vector<replay_status> list() const;  // newest first
  [[nodiscard]] std::size_t running() const noexcept { return active_; }

  // The owner operation: until stop() or cancellation, then cancels every replay and returns
  // once all have ended.
  boost::asio::awaitable<void> run();
  void stop() noexcept { stop_.request(); }

 private:
  struct job {
    replay_status status;
    streams::replay_options options;
    boost::asio::cancellation_signal signal;
    bool cancel_requested = false;
  };
  boost::asio::awaitable<void> run_job(std::shared_ptr<job> j);
  void forget_old();

  client& client_;
  std::size_t max_running_;
  std::size_t kept_;
  logger log_;
  std::map<std::uint64_t, std::shared_ptr<job>> jobs_;
  std::uint64_t next_id_ = 1;
  std::size_t active_ = 0;
  bool accepting_ = false;
  streams::detail::stop_request stop_;
  boost::asio::steady_timer drained_;  // woken when a job ends
};

}  // namespace streamq::dashboard::detail

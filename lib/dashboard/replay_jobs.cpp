// The dashboard's replay jobs: see replay_jobs.hpp.
#include "replay_jobs.hpp"

#include "sansio/replay_plan.hpp"  // parse_entry_id

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <stdexcept>

namespace streamq::dashboard::detail {

namespace asio = boost::asio;
using state = replay_status::state;

const char* state_name(state s) {
  switch (s) {
    case state::running: return "running";
    case state::done: return "done";
    case state::failed: return "failed";
    case state::cancelled: return "cancelled";
  }
  return "failed";
}

namespace {

std::string position_text(const streams::replay_position& p, const std::string& topic) {
  return p.topic == topic ? p.id : p.topic + "@" + p.id;
}

}  // namespace

replay_jobs::replay_jobs(client& c, std::size_t max_running, std::size_t kept, logger log)
    : client_(c),
      max_running_(max_running),
      kept_(kept),
      log_(std::move(log)),
      stop_(c.get_executor()),
      drained_(c.get_executor()) {}

replay_jobs::~replay_jobs() = default;

replay_jobs::started replay_jobs::start(streams::replay_options options, std::string into_topic) {
  if (!accepting_) return {refusal::not_running, 0};
  if (active_ >= max_running_) return {refusal::too_many, 0};
  options.validate();
  if (!into_topic.empty()) streams::validate_name(streams::name_kind::topic, into_topic);
  auto j = std::make_shared<job>();
  j->status.id = next_id_++;
  j->status.topic = options.topic;
  j->status.into_topic = std::move(into_topic);
  j->status.dry_run = options.dry_run;
  j->options = std::move(options);
  jobs_.emplace(j->status.id, j);
  ++active_;
  log_.log(log_level::info, "dashboard", "replay_started", "replay started from the dashboard",
           {{"topic", j->status.topic}, {"into_topic", j->status.into_topic}});
  asio::co_spawn(client_.get_executor(), run_job(j),
                 asio::bind_cancellation_slot(j->signal.slot(), [this, j](std::exception_ptr e) {
                   if (e && j->status.what == state::running) {
                     j->status.what = state::failed;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       j->status.error = x.what();
                     } catch (...) {
                       j->status.error = "unknown exception";
                     }
                   }
                   --active_;
                   forget_old();
                   drained_.cancel();
                 }));
  return {refusal::none, j->status.id};
}

asio::awaitable<void> replay_jobs::run_job(std::shared_ptr<job> j) {
  auto& status = j->status;
  auto options = j->options;
  // The status follows the replay's progress reports, so the page shows it moving.
  const auto dry_run = options.dry_run;
  const auto report = [&status, dry_run](const streams::replay_result& so_far) {
    status.scanned = so_far.read;
    status.replayed = dry_run ? so_far.matched : so_far.delivered;
    if (so_far.last) status.last_position = position_text(*so_far.last, status.topic);
  };
  options.on_progress = report;
  // A dry run delivers nothing; its handler is never called but must be callable.
  auto nothing = [](const v1::Envelope&, const streams::replay_position&) -> asio::awaitable<void> {
    co_return;
  };
  const auto target = options.dry_run ? streams::replay_target::into_handler(nothing)
                                      : streams::replay_target::into_topic(status.into_topic);
  const auto r = co_await streams::replay(client_, std::move(options), target);
  report(r);
  if (r.stop == streams::replay_stop::cancelled || j->cancel_requested) {
    status.what = state::cancelled;
  } else if (r.stop == streams::replay_stop::failed) {
    status.what = state::failed;
    status.error = r.diagnostic.empty() ? r.error.message() : r.error.message() + ": " + r.diagnostic;
    log_.log(log_level::warning, "dashboard", "replay_failed", *status.error,
             {{"topic", status.topic}});
  } else {
    status.what = state::done;
  }
}

bool replay_jobs::cancel(std::uint64_t id) {
  const auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second->status.what != state::running || it->second->cancel_requested)
    return false;
  it->second->cancel_requested = true;
  it->second->signal.emit(asio::cancellation_type::terminal);
  return true;
}

std::optional<replay_status> replay_jobs::find(std::uint64_t id) const {
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second->status;
}

std::vector<replay_status> replay_jobs::list() const {
  std::vector<replay_status> out;
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) out.push_back(it->second->status);
  return out;
}

void replay_jobs::forget_old() {
  std::size_t finished = 0;
  for (const auto& [id, j] : jobs_) finished += j->status.what != state::running ? 1 : 0;
  for (auto it = jobs_.begin(); finished > kept_ && it != jobs_.end();) {
    if (it->second->status.what != state::running) {
      it = jobs_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
}

asio::awaitable<void> replay_jobs::run() {
  if (accepting_) throw std::logic_error("streamq dashboard::run: already running");
  // Once stopping, the steps below must each run to the end: a second cancellation must not
  // throw out of them and leave replays behind.
  co_await asio::this_coro::throw_if_cancelled(false);
  stop_.reset();
  accepting_ = true;
  co_await stop_.wait();
  accepting_ = false;
  for (auto& [id, j] : jobs_)
    if (j->status.what == state::running) j->signal.emit(asio::cancellation_type::terminal);
  while (active_ > 0) {
    drained_.expires_at(asio::steady_timer::time_point::max());
    co_await drained_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace streamq::dashboard::detail

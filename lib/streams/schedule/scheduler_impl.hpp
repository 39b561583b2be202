#pragma once
// The state and coroutines behind streams::scheduler. The rules (how long the poller sleeps,
// when its own scheduling wakes it, what a recurring occurrence does) are in
// sansio/scheduling.hpp; the commands in commands/schedule_requests.hpp and
// commands/recurring_requests.hpp.
//
//   scheduler.cpp       scheduler_config::validate and the public class, which forwards here
//   scheduler_impl.cpp  delayed tasks (schedule, cancel, list, count) and run()'s poller
//   recurring.cpp       recurring tasks: register, list, pause/resume/remove, and firing them

#include <streamq/resp/value.hpp>
#include <streamq/streams/scheduler.hpp>

#include "commands/recurring_requests.hpp"
#include "sansio/scheduling.hpp"
#include "support/failure_log.hpp"
#include "support/stop_request.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// A topic of scheduler_config::topics, as the poller knows it.
struct scheduler_topic {
  std::shared_ptr<const topic_keys> keys;
  std::vector<recurring_task> recurring;                // as read by the latest poll
  std::map<std::string, schedule, std::less<>> parsed;  // spec -> schedule, parsed once
  std::set<std::string> unreadable;  // "<name>|<spec>" of tasks reported as never fired
};

class scheduler_impl {
 public:
  // Validates `config` (std::invalid_argument).
  scheduler_impl(client& c, scheduler_config config);
  ~scheduler_impl();
  scheduler_impl(const scheduler_impl&) = delete;
  scheduler_impl& operator=(const scheduler_impl&) = delete;

  // The public operations, their arguments copied (awaitables start lazily, after the
  // caller's objects may be gone). Exactly one of `due` and `delay` is set.
  boost::asio::awaitable<std::string> schedule_task(
      std::string topic, v1::Envelope envelope,
      std::optional<std::chrono::system_clock::time_point> due,
      std::optional<std::chrono::milliseconds> delay);
  boost::asio::awaitable<bool> cancel_scheduled(std::string topic, std::string id);
  boost::asio::awaitable<std::vector<scheduled_task>> list_scheduled(std::string topic,
                                                                     std::size_t limit);
  boost::asio::awaitable<std::uint64_t> scheduled_count(std::string topic);
  boost::asio::awaitable<void> upsert_recurring(
      std::string topic, std::string name, schedule when,
      std::shared_ptr<const google::protobuf::Message> message, missed_policy on_missed);
  boost::asio::awaitable<std::vector<recurring_task>> list_recurring(std::string topic);
  boost::asio::awaitable<bool> set_recurring_flag(std::string topic, std::string name,
                                                  recurring_change change);
  boost::asio::awaitable<void> run();
  void stop() noexcept { stop_.request(); }

  [[nodiscard]] scheduler_stats stats() const noexcept;
  [[nodiscard]] scheduler_health health() const;
  [[nodiscard]] const scheduler_config& config() const noexcept { return config_; }
  [[nodiscard]] boost::asio::any_io_executor executor() const;

 private:
  struct counters {
    std::atomic<std::uint64_t> scheduled{0}, duplicates{0}, cancelled{0}, moved{0}, polls{0},
        poll_errors{0}, recurring_fired{0}, recurring_skipped{0};
  };

  std::shared_ptr<const topic_keys> keys_of(std::string_view topic);
  // Wakes run() when a task due in `in` (from now) is before its planned wake-up. Any thread.
  void wake_for(std::chrono::milliseconds in);
  boost::asio::awaitable<void> poll_loop();
  // One poll of every topic; returns what it needs of the sleep (poll_sleep).
  boost::asio::awaitable<std::chrono::milliseconds> poll_once();
  // One topic's part of a poll, from the replies of its poll_scheduled call and its HGETALL;
  // throws for its failure.
  boost::asio::awaitable<std::chrono::milliseconds> poll_topic(std::size_t topic_index,
                                                               const resp::value& moved,
                                                               const resp::value& recurring);
  void poll_failed(std::string_view topic, const error_code& ec, std::string_view text);
  void report(const scheduler_event& event);

  // recurring.cpp
  // Reports a recurring task of `t` that is never fired, once per name and `spec`.
  void recurring_unreadable(scheduler_topic& t, const std::string& name, const std::string& spec,
                            std::string_view why);
  // Claims the occurrences of the topic's recurring tasks that are due; returns when the next
  // one is.
  boost::asio::awaitable<std::chrono::milliseconds> fire_recurring(std::size_t topic_index,
                                                                   std::int64_t server_now_ms);
  // The parsed schedule of `task`, or null when it cannot be parsed (reported).
  const schedule* schedule_of(scheduler_topic& t, const recurring_task& task);

  client& client_;
  scheduler_config config_;
  counters counters_;
  std::mutex keys_mutex_;
  std::map<std::string, std::shared_ptr<const topic_keys>, std::less<>> keys_;
  std::vector<std::unique_ptr<scheduler_topic>> topics_;
  boost::asio::steady_timer sleep_;  // run()'s wait between polls; cancelled to wake it
  wake_plan wake_;                   // when sleep_ expires; on run()'s executor
  std::atomic<bool> running_{false};
  stop_request stop_;
  failure_log failures_;
  // Expires with this object: a wake-up dispatched by wake_for() checks it before touching it.
  std::shared_ptr<const void> alive_ = std::make_shared<char>();
};

}  // namespace streamq::streams::detail

#pragma once
// The state and the loop behind streams::topic_trimmer: every interval, one trim_topic() per
// configured topic (maintenance.hpp), failures counted, reported and tried again next round.
//
//   retention.cpp     trimmer_config::validate and the public class, which forwards here
//   trimmer_impl.cpp  run(), its rounds, and the bookkeeping of their results

#include <streamq/streams/retention.hpp>

#include "support/failure_log.hpp"
#include "support/stop_request.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace streamq::streams::detail {

class trimmer_impl {
 public:
  // Validates `config` (std::invalid_argument).
  trimmer_impl(client& c, trimmer_config config);
  trimmer_impl(const trimmer_impl&) = delete;
  trimmer_impl& operator=(const trimmer_impl&) = delete;

  boost::asio::awaitable<void> run();
  void stop() noexcept { stop_.request(); }
  [[nodiscard]] trimmer_stats stats() const;
  [[nodiscard]] trimmer_health health() const;
  [[nodiscard]] const trimmer_config& config() const noexcept { return config_; }
  [[nodiscard]] boost::asio::any_io_executor executor() const { return client_.get_executor(); }

 private:
  boost::asio::awaitable<void> loop();
  // One round; returns false if it was cut short by cancellation.
  boost::asio::awaitable<bool> round();
  void record_failure(std::size_t topic, error_code ec, const std::string& text);
  void record_success(std::size_t topic, std::uint64_t removed);
  void report(const trimmer_event& event);

  client& client_;
  trimmer_config config_;
  std::vector<topic_keys> keys_;  // per topic, in config order
  std::atomic<bool> running_{false};
  stop_request stop_;
  failure_log failures_;
  mutable std::mutex stats_mutex_;
  trimmer_stats stats_;
};

}  // namespace streamq::streams::detail

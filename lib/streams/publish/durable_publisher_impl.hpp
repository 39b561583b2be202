#pragma once
// The state and coroutines behind streams::durable_publisher: the queue of publishes, and
// run()'s loop that sends them in groups (XADDs, then one WAIT) on its dedicated connection.
//
//   durable_publisher.cpp       durability_config::validate and the public class, which
//                               forwards here
//   durable_publisher_impl.cpp  the queue, run() and its group commits

#include <streamq/streams/durable_publisher.hpp>

#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace streamq::streams::detail {

// One publish waiting for its group's round trip (durable_publisher_impl.cpp).
struct durable_pending;
class script_pipeline;  // commands/script.hpp

class durable_publisher_impl {
 public:
  // Validates `config` (std::invalid_argument); picks a producer ID when it has none.
  durable_publisher_impl(client& c, durability_config config);
  ~durable_publisher_impl();
  durable_publisher_impl(const durable_publisher_impl&) = delete;
  durable_publisher_impl& operator=(const durable_publisher_impl&) = delete;

  boost::asio::awaitable<void> run();
  // publish(), its arguments copied.
  boost::asio::awaitable<std::string> submit(std::string topic, v1::Envelope envelope);

  [[nodiscard]] durable_publisher_stats stats() const noexcept { return stats_; }
  [[nodiscard]] const std::string& producer_id() const noexcept { return config_.producer_id; }
  [[nodiscard]] boost::asio::any_io_executor executor() const { return client_.get_executor(); }

 private:
  boost::asio::awaitable<void> flush_loop(redis::connection& conn);
  // Completes a group's publishes from the replies of its round trips, or with `ec`, the error
  // that ended them, for those it left unanswered.
  void complete(std::vector<std::shared_ptr<durable_pending>>& group,
                const script_pipeline& pipeline, const error_code& ec);
  // The keys of a valid topic name, computed once per topic.
  std::shared_ptr<const topic_keys> keys_of(const std::string& topic);

  client& client_;
  durability_config config_;
  durable_publisher_stats stats_;
  std::uint64_t next_sequence_ = 1;
  std::deque<std::shared_ptr<durable_pending>> queue_;
  std::unordered_map<std::string, std::shared_ptr<const topic_keys>> keys_;
  boost::asio::steady_timer wake_;  // flush_loop: something was queued
  bool running_ = false;
};

}  // namespace streamq::streams::detail

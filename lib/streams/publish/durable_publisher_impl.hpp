#pragma once
// The state and coroutines behind streams::durable_publisher: the queue of publishes, and
// run()'s loop that sends them in groups (XADDs, then one WAIT) on dedicated connections: one
// to the configured server standalone; on a Redis Cluster one per master, each group split by
// the master of each publish's topic (WAIT counts only the writes of its own connection).
//
//   durable_publisher.cpp       durability_config::validate and the public class, which
//                               forwards here
//   durable_publisher_impl.cpp  the queue, run(), the connections per node and the group
//                               commits

#include <streamq/streams/durable_publisher.hpp>

#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace streamq::streams::detail {

// One publish waiting for its group's round trip (durable_publisher_impl.cpp).
struct durable_pending;
// One node's dedicated connection and what runs it (durable_publisher_impl.cpp).
struct durable_link;
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
  // The publishes of one group that go to one node, and how their round trip ended.
  struct part {
    std::string node;  // "host:port"; empty: the configured server
    std::shared_ptr<durable_link> link;
    std::vector<std::size_t> calls;  // indexes into the group, in group order
  };

  boost::asio::awaitable<void> flush_loop();
  // One part's XADDs (or scripts) and its WAIT on its node's connection; completes its
  // publishes, and marks in `reroute` (by group index) those the cluster refused unrun.
  // Returns whether the part's round trip failed (its node may be gone).
  boost::asio::awaitable<bool> send_part(const std::vector<std::shared_ptr<durable_pending>>& group,
                                         const part& p, std::vector<bool>& reroute);
  // Completes a part's publishes from the replies of its round trips, or with `ec`, the error
  // that ended them, for those it left unanswered; a publish refused by a cluster fault that
  // may still be sent again is marked in `reroute` instead.
  // `fsync`: the round trips confirmed with WAITAOF rather than WAIT.
  void complete(const std::vector<std::shared_ptr<durable_pending>>& group, const part& p,
                const script_pipeline& pipeline, bool fsync, const error_code& ec,
                std::vector<bool>& reroute);
  // Asks `link`'s master whether it can confirm fsyncs (WAITAOF) and records the answer in
  // the link; returns the error that kept it from answering.
  boost::asio::awaitable<error_code> ask_fsync(durable_link& link);
  // Whether a publish refused with `ec` by a node (`from_master`: one the topology named as a
  // master) goes out again: in cluster mode, a refusal that means it did not run, its caller
  // still waiting, and within its limits (sends, time since its first send).
  [[nodiscard]] bool may_send_again(const durable_pending& d, const error_code& ec,
                                    bool from_master) const;
  // After a cluster fault: reads the topology again and stops the connections to nodes that
  // are no longer masters.
  boost::asio::awaitable<void> follow_topology();
  // The connection to `node` (empty: the configured server), made and started on first use;
  // `slot` is a slot `node` serves.
  std::shared_ptr<durable_link> link_for(const std::string& node, std::uint16_t slot);
  // Cancels a link's connection and waits until its run() ended.
  static boost::asio::awaitable<void> stop_link(std::shared_ptr<durable_link> link);
  // The keys of a valid topic name, computed once per topic.
  std::shared_ptr<const topic_keys> keys_of(const std::string& topic);

  client& client_;
  durability_config config_;
  durable_publisher_stats stats_;
  std::uint64_t next_sequence_ = 1;
  std::deque<std::shared_ptr<durable_pending>> queue_;
  std::unordered_map<std::string, std::shared_ptr<const topic_keys>> keys_;
  // By node ("" for the configured server); run() stops and awaits them all before it ends.
  std::map<std::string, std::shared_ptr<durable_link>> links_;
  // A connection's run() ended by itself (a fatal error such as bad credentials): run() ends.
  bool link_failed_ = false;
  boost::asio::steady_timer wake_;  // flush_loop: something was queued, or a link failed
  bool running_ = false;
};

}  // namespace streamq::streams::detail

#pragma once
// Publishing that survives the loss of the master: each publish is confirmed only once
// `replicas` replicas have it (Redis WAIT). A master that dies after acknowledging a plain
// XADD may take the entry with it when a lagging replica is promoted; an entry a
// durable_publisher confirmed is on the replicas too.
//
//   durable_publisher pub(client, {.replicas = 1, .timeout = std::chrono::milliseconds(500)});
//   co_await (pub.run() || work());  // run() owns the connection WAIT needs
//   co_await pub.publish("orders", order);  // returns once a replica has it
//
// WAIT blocks its connection, so run() owns a dedicated one, and publishes are group-committed:
// everything queued while one XADDs+WAIT round trip is in flight goes out together in the next
// (one WAIT for the whole group).

#include <streamq/client.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace streamq::streams {

struct durability_config {
  std::uint32_t replicas = 1;  // replicas that must have each entry (WAIT numreplicas); >= 1
  // How long WAIT waits for them. When it times out the entries are on the master but not
  // confirmed: publish() throws errc::replication_timeout (never a silent success).
  std::chrono::milliseconds timeout{1000};
  // Added to `timeout` to bound each XADDs+WAIT round trip: a master that is gone fails the
  // publishes (errc::publish_indeterminate) instead of leaving them waiting for a reconnect.
  std::chrono::milliseconds request_timeout{5000};
  std::size_t max_group = 512;  // most publishes one XADDs+WAIT round trip carries
  entry_limits limits{};

  // Throws std::invalid_argument naming the first invalid field.
  void validate() const;
};

struct durable_publisher_stats {
  std::uint64_t confirmed = 0;    // entries on the master and on `replicas` replicas
  std::uint64_t unconfirmed = 0;  // added, but WAIT timed out (replication_timeout)
  std::uint64_t failed = 0;       // refused, or the connection failed
  std::uint64_t round_trips = 0;  // XADDs+WAIT groups sent
};

class durable_publisher {
 public:
  // Throws std::invalid_argument for an invalid configuration.
  durable_publisher(client& c, durability_config config);
  ~durable_publisher();
  durable_publisher(const durable_publisher&) = delete;
  durable_publisher& operator=(const durable_publisher&) = delete;

  // The owner operation: runs the dedicated connection and sends queued publishes until
  // cancelled; then fails what is still queued with client_errc::shut_down and returns.
  boost::asio::awaitable<void> run();

  // Publishes and returns the entry ID once `replicas` replicas confirmed it. Throws
  // boost::system::system_error: errc::invalid_name / message_too_large (nothing sent);
  // errc::replication_timeout (on the master, not confirmed: it may be lost with the master);
  // errc::publish_indeterminate (sent, connection lost before the reply); resp::server_errc
  // (refused, e.g. oom); redis::client_errc::shut_down when run() is not running or stopped.
  // Must be called on the client's executor; `topic` and `message` are copied first.
  boost::asio::awaitable<std::string> publish(std::string_view topic,
                                              const google::protobuf::Message& message);
  boost::asio::awaitable<std::string> publish(std::string_view topic,
                                              const google::protobuf::Message& message,
                                              const envelope_options& options);

  [[nodiscard]] durable_publisher_stats stats() const noexcept { return stats_; }

 private:
  struct pending;
  boost::asio::awaitable<std::string> submit(std::string topic, v1::Envelope envelope);
  boost::asio::awaitable<void> flush_loop(redis::connection& conn);
  // The stream key of a valid topic name, computed once per topic.
  const std::string& stream_of(const std::string& topic);

  client& client_;
  durability_config config_;
  durable_publisher_stats stats_;
  std::deque<std::shared_ptr<pending>> queue_;
  std::unordered_map<std::string, std::string> streams_;  // topic -> stream key
  boost::asio::steady_timer wake_;                        // flush_loop: something was queued
  bool running_ = false;
};

}  // namespace streamq::streams

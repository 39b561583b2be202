#pragma once
// Publishing that survives the loss of the master: each publish is confirmed only once
// `replicas` replicas have it (Redis WAIT), or, asked for, once it is fsynced to the
// append-only file of the master and the replicas (WAITAOF, Redis >= 7.2 and Valkey). A master that dies after acknowledging a plain
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
//
// On a Redis Cluster (client in cluster mode) a WAIT counts only the replicas of the master it
// is sent to, for the writes made on its own connection: run() keeps one dedicated connection
// per master (made when a publish first goes there), splits each group by the master serving
// each topic's slot, and sends every part with a WAIT of its own, the parts concurrently. A
// publish the cluster refused before running it (MOVED, ASK, TRYAGAIN, CLUSTERDOWN; READONLY
// from a former master) goes back to the front of the queue with its sequence number, the
// topology is read again (connections to nodes no longer masters are closed), and it is sent
// where its slot is now: at most cluster_config::max_attempts sends, within timeout +
// request_timeout of its first send; then the server's refusal is what publish() throws.
// A migrating slot's ASK is not followed (that WAIT would count another master's replicas):
// the publish waits for the migration to end that way.
//
// Idempotency keys work as with publisher (envelope_options::idempotency_key, same keys, same
// script): a publish retried with the key of one that already landed (after
// replication_timeout or publish_indeterminate) adds nothing and returns the first entry's ID,
// once `replicas` replicas have everything up to this retry, the first entry included.

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace streamq::streams {

namespace detail {
class durable_publisher_impl;
}  // namespace detail

// What a confirmed publish is known to survive (durability_config::confirm).
enum class confirmation : std::uint8_t {
  // WAIT: `replicas` replicas have the entry in memory. Survives the loss of the master; a
  // power loss of the whole replica set may still take it. Any server.
  replicated,
  // WAITAOF 1 <replicas>: the entry is fsynced to the append-only file of the master and of
  // `replicas` replicas (0 allowed: the master's disk only). Survives the restart of every
  // node. Needs WAITAOF (Redis >= 7.2, Valkey >= 7.2.4) and `appendonly yes` on the master and
  // on the replicas that count. Checked on each master connection before its first publish
  // (a `WAITAOF 1 0` on a connection that wrote nothing answers at once, or refuses): where
  // it cannot be had, publishes fail with errc::fsync_unavailable and nothing is written. On
  // Redis 7.0 the way to the same guarantee is the server's `appendfsync always` with
  // `replicated`.
  fsynced,
  // `fsynced` on each master that can (the same check), `replicated` on one that cannot: the
  // strongest confirmation every server offers, on a fleet being upgraded from Redis 7.0.
  // stats().fsynced counts the publishes confirmed on disk.
  fsynced_if_available,
};

struct durability_config {
  // Replicas that must have each entry (WAIT numreplicas, WAITAOF numreplicas); >= 1, except
  // with confirmation::fsynced, where 0 asks for the master's own fsync only.
  std::uint32_t replicas = 1;
  confirmation confirm = confirmation::replicated;
  // How long WAIT (or WAITAOF) waits for them. When it times out the entries are on the
  // master but not confirmed: publish() throws errc::replication_timeout (never a silent
  // success). With `appendfsync everysec` (Redis' default) an fsync comes up to a second
  // after the write: give a `fsynced` confirmation more than that.
  std::chrono::milliseconds timeout{1000};
  // Added to `timeout` to bound each XADDs+WAIT round trip: a master that is gone fails the
  // publishes (errc::publish_indeterminate) instead of leaving them waiting for a reconnect.
  std::chrono::milliseconds request_timeout{5000};
  std::size_t max_group = 512;  // most publishes one XADDs+WAIT round trip carries
  entry_limits limits{};
  // How long an idempotency key suppresses another publish with the same key on the same
  // topic (shared with publisher: a key either of them used counts for both).
  std::chrono::milliseconds dedup_window{std::chrono::hours(24)};
  // Envelope.producer_id of the messages this publisher numbers; as publisher_config's: empty
  // means new_producer_id(), unique per durable_publisher object.
  std::string producer_id;

  // Throws std::invalid_argument naming the first invalid field.
  void validate() const;
  // Leading part of every Redis key this component uses (names.hpp, default_key_prefix): the
  // same for every component of one deployment. Default "streamq".
  std::string key_prefix{default_key_prefix};
};

struct durable_publisher_stats {
  std::uint64_t confirmed = 0;    // entries on the master and on `replicas` replicas
  std::uint64_t unconfirmed = 0;  // added, but WAIT timed out (replication_timeout)
  std::uint64_t failed = 0;       // refused, or the connection failed
  // XADDs+WAIT round trips (on a cluster: one per master each group went to).
  std::uint64_t round_trips = 0;
  // Of the confirmed and unconfirmed, those that added nothing: their idempotency key had
  // been used, and the first entry's ID was returned.
  std::uint64_t duplicates = 0;
  // Publishes whose caller stopped waiting (cancellation, a deadline): operation_aborted
  // before sending, publish_indeterminate after.
  std::uint64_t cancelled = 0;
  // Of the confirmed, those confirmed fsynced to disk (WAITAOF; confirmation::fsynced and
  // fsynced_if_available).
  std::uint64_t fsynced = 0;
};

class durable_publisher {
 public:
  // Throws std::invalid_argument for an invalid configuration.
  durable_publisher(client& c, durability_config config);
  ~durable_publisher();
  durable_publisher(const durable_publisher&) = delete;
  durable_publisher& operator=(const durable_publisher&) = delete;

  // The owner operation: runs the dedicated connection (one per master on a cluster) and
  // sends queued publishes until cancelled; then fails what is still queued with
  // client_errc::shut_down, stops its connections and returns once they have ended. It also
  // ends when a connection of its own ends by itself (a fatal error: credentials, TLS).
  boost::asio::awaitable<void> run();

  // Publishes and returns the entry ID once `replicas` replicas confirmed it. Throws
  // boost::system::system_error: errc::invalid_name / message_too_large / invalid_utf8 (the
  // field named in what(); nothing sent); errc::replication_timeout (on the master, not
  // confirmed: it may be lost with the master); errc::fsync_unavailable (confirmation::fsynced
  // asked of a master without WAITAOF or AOF; nothing sent); errc::publish_indeterminate (sent, connection
  // lost before the reply); resp::server_errc (refused, e.g. oom; on a cluster, moved, ask,
  // tryagain, clusterdown or readonly once it may not be sent again: see above);
  // redis::client_errc::shut_down when run() is not running or stopped.
  // Must be called on the client's executor; `topic` and `message` are copied first.
  //
  // Cancellation: the wait for the reply honours the caller's (terminal) cancellation, which
  // is how with_deadline and `||` end it. A publish still queued, not yet sent, is taken out of
  // the queue and never sent: asio::error::operation_aborted. One already taken into a
  // round trip (sent, or being sent) cannot be recalled: it fails with
  // errc::publish_indeterminate at once (it may be added and replicated later; retry with an
  // idempotency key), and its reply, when it comes, is dropped. Either way the publisher keeps
  // nothing of it and stays usable; a caller already cancelled when it calls publish gets
  // operation_aborted and nothing is queued. Messages get their sequence number when taken
  // into a round trip, so one that never went out leaves no gap (on a cluster, one refused
  // unrun and cancelled while queued again does leave one: it was numbered, never added).
  boost::asio::awaitable<std::string> publish(std::string_view topic,
                                              const google::protobuf::Message& message);
  boost::asio::awaitable<std::string> publish(std::string_view topic,
                                              const google::protobuf::Message& message,
                                              const envelope_options& options);

  // run() and publish() for any completion token (use_awaitable by default, as_tuple,
  // use_future, deferred, a callback): completion void(error_code[, std::string]) where the
  // coroutine forms throw (detail/async_op.hpp). Arguments are copied when called.
  // Cancellation (terminal only; partial and total are ignored): as described at run() and
  // at publish() above.
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_run(Token&& token = {}) {
    return streamq::detail::start_async(executor(), run(), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish(std::string_view topic, const google::protobuf::Message& message,
                     Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish(topic, message), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish(std::string_view topic, const google::protobuf::Message& message,
                     const envelope_options& options, Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish(topic, message, options), std::forward<Token>(token));
  }

  [[nodiscard]] durable_publisher_stats stats() const noexcept;
  // Envelope.producer_id of what this publisher numbers (the configured one, or a new one).
  [[nodiscard]] const std::string& producer_id() const noexcept;

 private:
  boost::asio::any_io_executor executor() const;

  std::unique_ptr<detail::durable_publisher_impl> impl_;
};

}  // namespace streamq::streams

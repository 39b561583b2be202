#pragma once
// Partitioned topics: a topic with P partitions, each an ordinary topic of its own ("T#0" ..
// "T#P-1", names.hpp) with its own hash tag, so partitions spread over a cluster's slots and
// each has its own stream, groups, retries and dead letters. The count lives under the topic's
// own tag ("streamq:{T}:partitions", docs/wire-format.md) and only grows, to multiples of
// itself, while in use (set_partitions).
//
//   co_await streamq::streams::set_partitions(client, "orders", 8);
//   streamq::streams::partitioned_publisher pub(publisher);       // by key, else round robin
//   co_await pub.publish("orders", order, {.partition_key = customer_id});
//   consumer.subscribe("orders#3", handler);  // one partition, as any topic
//
// Which partition a key goes to is part of the wire format (partition_for_key below), so a
// producer in another language computes the same one.

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams {

class publisher;

// The partition of `key` among `partitions` (> 0): FNV-1a (32 bit) of the key's bytes, modulo
// `partitions`. FNV-1a: h = 2166136261; for each byte b: h = (h xor b) * 16777619 mod 2^32.
// Stable across versions and languages (docs/wire-format.md has test vectors).
[[nodiscard]] std::uint32_t partition_for_key(std::string_view key,
                                              std::uint32_t partitions) noexcept;

// Chooses a message's partition: (envelope, partitions) -> a number below `partitions`. A
// user function's result is checked: one out of range fails the publish with
// errc::invalid_argument, nothing written.
using partition_function = std::function<std::uint32_t(const v1::Envelope&, std::uint32_t)>;

struct partitioner {
  enum class kind : std::uint8_t {
    // partition_for_key(partition_key); a message without a key goes round robin.
    by_key,
    // Each message to the next partition, whatever its key.
    round_robin,
    // `function` decides.
    custom,
  };
  kind how = kind::by_key;
  partition_function function;  // for kind::custom

  static partitioner by_key() { return {}; }
  static partitioner round_robin() { return {kind::round_robin, {}}; }
  static partitioner custom(partition_function f) { return {kind::custom, std::move(f)}; }
};

// Makes `topic` partitioned with `partitions` partitions (1 to max_partitions), or grows it to
// that many; returns the count it has now. A growth may run while publishers and consumers
// run and keeps every key's order (docs/partitions.md, "Growing a topic"): it goes only to a
// multiple of the count (4 to 8 or 12), so a key either stays in its partition p or moves to
// a new partition q with q mod old == p; each old partition is cut (it then refuses publishes
// routed with the old count: partitioned_publisher routes them again by itself), then the
// topic shows the new count, and partitioned_consumer starts a new partition only once its
// group has drained the old one past the cut. One script per partition and one for the topic:
// on a cluster they run in different slots, so a growth can stop midway (connection lost,
// process killed); calling this again with the same count completes it.
// Fails with errc::invalid_argument, nothing changed, for fewer partitions than the topic has
// (a key's messages would be left behind in a partition nobody reads), a count that is not a
// multiple, or while a growth to another count is unfinished (the text names it). Throws
// std::invalid_argument for an invalid topic name (a partition's included) or count;
// otherwise boost::system::system_error (transport, server refusal).
// `key_prefix`: names.hpp's (default_key_prefix without it). Overloads rather than a default
// argument: GCC 12 breaks class-type default arguments of calls inside co_await.
boost::asio::awaitable<std::uint32_t> set_partitions(client& c, std::string_view topic,
                                                     std::uint32_t partitions,
                                                     std::string_view key_prefix);
boost::asio::awaitable<std::uint32_t> set_partitions(client& c, std::string_view topic,
                                                     std::uint32_t partitions);

// How many partitions `topic` has; 0 when it is not partitioned.
boost::asio::awaitable<std::uint32_t> partition_count(client& c, std::string_view topic,
                                                      std::string_view key_prefix);
boost::asio::awaitable<std::uint32_t> partition_count(client& c, std::string_view topic);

struct partitioned_publisher_config {
  partitioner partitioning = partitioner::by_key();
  // A topic's partition count is read on its first publish and again when it is this old, or
  // at once when a partition refuses a publish routed with an older count (a growth cut it).
  // So a growth reaches running publishers within this time, and none of them writes a key to
  // the partition it is leaving meanwhile. Positive.
  std::chrono::milliseconds refresh_interval{5000};

  // Throws std::invalid_argument naming the first invalid field.
  void validate() const;
};

namespace detail {
class partitioned_publisher_impl;
}  // namespace detail

// Publishes to partitioned topics through a publisher (its connection, limits, numbering,
// key prefix and idempotency keys). A topic that is not partitioned is published to as it is,
// so code that uses this works before and after a topic gets partitions.
class partitioned_publisher {
 public:
  // `pub` must outlive this. Throws std::invalid_argument for an invalid configuration.
  explicit partitioned_publisher(publisher& pub, partitioned_publisher_config config = {});
  ~partitioned_publisher();
  partitioned_publisher(const partitioned_publisher&) = delete;
  partitioned_publisher& operator=(const partitioned_publisher&) = delete;

  // Publishes `message` to the partition the partitioner picks and returns the entry ID. The
  // errors are publisher::publish's, plus errc::invalid_name for a topic that names a
  // partition itself, errc::invalid_argument for a custom partition out of range, and
  // errc::partitions_changed when partitions refused it for its routing several times in a row
  // (growths faster than the publish; nothing written). On a partitioned topic each publish is
  // one script (publish_partition-2+.lua: the partition's count checked with the XADD), and a
  // refused one is routed again with the newer count, keeping its sequence number; a topic
  // that is not partitioned gets publisher::publish's plain XADD. Publishes to one partition
  // share that script call, one call in flight per partition at a time: those that start
  // while it is in flight wait for it and go together in the next (a group commit).
  // Cancellation: as publisher::publish (the count's read is a plain request, abandoned with
  // it); a publish waiting for a call that another publish leads fails at once with
  // errc::publish_indeterminate (a call may still write it), and one that leads a call
  // completes it first, since the others' outcomes depend on it (when every publish waiting
  // for the next call was cancelled, it sends that one too). `topic`, `message` and
  // `options` are copied (into the envelope) when called; throws
  // std::invalid_argument at the call for a message lacking required fields.
  boost::asio::awaitable<std::string> publish(std::string_view topic,
                                              const google::protobuf::Message& message,
                                              const envelope_options& options);
  boost::asio::awaitable<std::string> publish(std::string_view topic,
                                              const google::protobuf::Message& message);

  // Publishes the envelopes, each to its partition: one publish_batch per partition, all sent
  // together (on a cluster one round trip per node). All or none per partition, not across
  // partitions: a failure throws the first partition's error, and the others may have landed
  // (their IDs are lost to the caller: use idempotency keys to retry safely). A partition that
  // refuses its part for the routing (a growth) wrote none of it: that part is routed again, as
  // publish() does. Returns the IDs in the envelopes' order.
  boost::asio::awaitable<std::vector<std::string>> publish_batch(
      std::string_view topic, std::span<const v1::Envelope> envelopes);

  // The partition count this publisher uses for `topic` now (0: not partitioned), read from
  // Redis when it has none or an old one.
  boost::asio::awaitable<std::uint32_t> partitions_of(std::string_view topic);

  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish(std::string_view topic, const google::protobuf::Message& message,
                     const envelope_options& options, Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish(topic, message, options),
                                        std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish_batch(std::string_view topic, std::span<const v1::Envelope> envelopes,
                           Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish_batch(topic, envelopes),
                                        std::forward<Token>(token));
  }

 private:
  boost::asio::awaitable<std::string> send(std::string topic, v1::Envelope envelope);
  boost::asio::awaitable<std::vector<std::string>> send_batch(std::string topic,
                                                              std::vector<v1::Envelope> batch);
  boost::asio::any_io_executor executor() const;
  std::unique_ptr<detail::partitioned_publisher_impl> impl_;
};

}  // namespace streamq::streams

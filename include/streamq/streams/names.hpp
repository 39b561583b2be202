#pragma once
// Names of topics, consumer groups and consumers, and the Redis keys a topic uses
// (docs/wire-format.md).
//
// A name is 1 to 128 characters from [A-Za-z0-9._-]. That excludes everything with a meaning
// in a Redis key or command: hash-tag braces ({ }), glob characters (* ? [ ] \), whitespace,
// colons (streamq's key separator), quotes and control bytes. Names are case-sensitive.
//
// A topic name may also name one partition of a partitioned topic: "T#N", T a name as above and
// N the partition's number in decimal (0 to max_partitions - 1, no leading zeros). '#' is in
// no name, so a partition never shares its keys with a topic somebody named; its keys carry
// the hash tag {T#N}, so the partitions of one topic spread over a cluster's slots.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams {

inline constexpr std::size_t max_name_length = 128;

// Partitions a topic may have at most (partitions.hpp).
inline constexpr std::uint32_t max_partitions = 1024;

// What a name names; used in error messages.
enum class name_kind { topic, group, consumer, key_prefix };

// Every key streamq writes starts with a key prefix and a colon. Applications sharing one Redis
// (or one ACL key pattern, `~myapp:*`) give each deployment its own prefix; every component of
// a deployment (publisher, consumer, scheduler, durable publisher, trimmer, dead letters) must
// use the same one. A prefix is 1 to 64 characters from [A-Za-z0-9._-:]: no hash-tag braces,
// which would move the cluster slot away from the topic's {T}.
inline constexpr std::string_view default_key_prefix = "streamq";
inline constexpr std::size_t max_key_prefix_length = 64;

// True when `name` follows the naming rules above.
[[nodiscard]] bool is_valid_name(std::string_view name) noexcept;

// True when `name` is a valid name or names a partition of one ("T#N", see above).
[[nodiscard]] bool is_valid_topic_name(std::string_view name) noexcept;

// Throws std::invalid_argument saying what is wrong, e.g.
// "streamq topic name 'a b': character ' ' is not allowed (allowed: A-Z a-z 0-9 . _ -)".
// name_kind::topic also accepts a partition's name ("T#N").
void validate_name(name_kind kind, std::string_view name);

// The topic name of partition `partition` of `topic`: "T#N". Throws std::invalid_argument for
// an invalid topic name (a partition's included) or a partition >= max_partitions.
[[nodiscard]] std::string partition_topic(std::string_view topic, std::uint32_t partition);

// A partition's topic name taken apart: the partitioned topic's name and the number.
struct partition_name {
  std::string_view topic;
  std::uint32_t partition = 0;
};
// `name` read as "T#N"; nothing for a plain name or an invalid one.
[[nodiscard]] std::optional<partition_name> parse_partition_topic(std::string_view name) noexcept;

// True when `prefix` is a valid key prefix (see default_key_prefix).
[[nodiscard]] bool is_valid_key_prefix(std::string_view prefix) noexcept;
// Empty when `prefix` is valid, else what is wrong with it ("must not be empty", "character
// '{' is not allowed (...)"): for the configurations that name their own field.
[[nodiscard]] std::string key_prefix_problem(std::string_view prefix);
// Throws std::invalid_argument saying what is wrong with `prefix`, e.g. "streamq key prefix
// 'a{b': character '{' is not allowed (allowed: A-Z a-z 0-9 . _ - :)".
void validate_key_prefix(std::string_view prefix);

// Every Redis key of one topic. All contain the hash tag {topic}, so Redis Cluster puts them
// in one slot and a script may touch any of them together. The forms below are for the
// default prefix "streamq"; another prefix P gives "P:{T}:stream" and so on.
class topic_keys {
 public:
  // Throws std::invalid_argument (see validate_name, validate_key_prefix) for an invalid topic
  // name or key prefix.
  explicit topic_keys(std::string_view topic, std::string_view key_prefix = default_key_prefix);

  [[nodiscard]] const std::string& topic() const noexcept { return topic_; }
  [[nodiscard]] const std::string& key_prefix() const noexcept { return key_prefix_; }
  // The topic's messages: "streamq:{T}:stream".
  [[nodiscard]] const std::string& stream() const noexcept { return stream_; }
  // Delayed messages by due time (sorted set): "streamq:{T}:delayed".
  [[nodiscard]] const std::string& delayed() const noexcept { return delayed_; }
  // Their entries (hash): "streamq:{T}:delayed:data".
  [[nodiscard]] const std::string& delayed_data() const noexcept { return delayed_data_; }
  // Prefix of deduplication keys: "streamq:{T}:dedup:".
  [[nodiscard]] const std::string& dedup_prefix() const noexcept { return dedup_prefix_; }
  // Recurring schedules: "streamq:{T}:cron".
  [[nodiscard]] const std::string& cron() const noexcept { return cron_; }
  // Topic metadata (hash): "streamq:{T}:meta".
  [[nodiscard]] const std::string& meta() const noexcept { return meta_; }
  // A partitioned topic's partition count and its history (hash): "streamq:{T}:partitions"
  // (partitions.hpp).
  [[nodiscard]] const std::string& partitions() const noexcept { return partitions_; }

  // The lease of this partition (a topic named "T#N") for one consumer group (hash: owner,
  // epoch, until): "streamq:{T#N}:lease:<group>". Throws like dead_letters().
  [[nodiscard]] std::string lease(std::string_view group) const;
  // The live members of one consumer group of this partitioned topic (sorted set of consumer
  // names by expiry): "streamq:{T}:members:<group>". Throws like dead_letters().
  [[nodiscard]] std::string members(std::string_view group) const;
  // Dead letters of one consumer group: "streamq:{T}:dead:<group>". Throws
  // std::invalid_argument for an invalid group name.
  [[nodiscard]] std::string dead_letters(std::string_view group) const;
  // Messages a consumer group handled with subscription_options::once (sorted set of message
  // keys by handling time): "streamq:{T}:done:<group>". Throws like dead_letters().
  [[nodiscard]] std::string processed(std::string_view group) const;
  // Output messages of one consumer group's effectively-once handlers, committed with their
  // input's acknowledgement and waiting to be published to their topics (stream: fields t =
  // topic, e = envelope, s = the input's entry ID): "streamq:{T}:outbox:<group>"
  // (docs/effectively-once.md). Throws like dead_letters().
  [[nodiscard]] std::string outbox(std::string_view group) const;
  // Entries of one consumer group waiting for a retry (sorted set: member = entry ID, score =
  // due time in server ms): "streamq:{T}:retry:<group>". The entries stay in the group's
  // pending list meanwhile. Throws like dead_letters().
  [[nodiscard]] std::string retries(std::string_view group) const;
  // Deduplication key of one idempotency key: dedup_prefix() + key. Any bytes may follow the
  // prefix; the hash tag stays {T}.
  [[nodiscard]] std::string dedup(std::string_view idempotency_key) const;
  // Prefix of the deduplication keys of scheduled tasks: "streamq:{T}:task-dedup:". Apart from
  // the publisher's, so a publish and a task with the same idempotency key never suppress
  // each other.
  [[nodiscard]] const std::string& task_dedup_prefix() const noexcept { return task_dedup_prefix_; }
  // Deduplication key of one scheduled task's idempotency key: task_dedup_prefix() + key.
  [[nodiscard]] std::string task_dedup(std::string_view idempotency_key) const;

  // Every key above except dedup keys, with dead_letters(), processed(), outbox() and retries()
  // for each of `groups`.
  [[nodiscard]] std::vector<std::string> all_keys(std::span<const std::string> groups = {}) const;

  // The Redis Cluster slot of every key of this topic.
  [[nodiscard]] std::uint16_t slot() const noexcept;

 private:
  std::string topic_;
  std::string key_prefix_;
  std::string stream_;
  std::string delayed_;
  std::string delayed_data_;
  std::string dedup_prefix_;
  std::string task_dedup_prefix_;
  std::string cron_;
  std::string meta_;
  std::string partitions_;
  std::string dead_prefix_;
  std::string done_prefix_;
  std::string retry_prefix_;
};

}  // namespace streamq::streams

// A partitioned topic's count: set_partitions (creating it, or growing it by the protocol of
// docs/partitions.md, "Growing a topic") and partition_count. The steps' scripts are
// commands/partition_requests.hpp's and commands/growth_requests.hpp's.
#include <streamq/streams/error.hpp>
#include <streamq/streams/partitions.hpp>

#include "commands/growth_requests.hpp"
#include "commands/partition_requests.hpp"
#include "commands/send_command.hpp"

#include <boost/system/system_error.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

[[noreturn]] void fail(const detail::send_result& sent, const std::string& what) {
  const std::string why = sent.reply.diagnostic.empty() ? "" : ": " + sent.reply.diagnostic;
  throw boost::system::system_error(sent.ec(), what + why);
}

// A partitioned topic's own name: valid, and not a partition's. Throws std::invalid_argument.
void validate_partitioned_name(std::string_view topic) {
  validate_name(name_kind::topic, topic);
  if (!is_valid_name(topic))
    throw std::invalid_argument("streamq topic name '" + std::string(topic) +
                                "': names a partition; a partition has no partitions");
}

// The growth from `from` to `to` begun by set_partitions-1.lua, or begun by an earlier call
// that stopped midway: every step is idempotent, so running them all again completes it.
// First each old partition is cut (it then refuses publishes routed with the old count, and
// its cut bounds what was routed there with it); only then does the topic show the new count,
// with each new partition's old partition and cut, to publishers and consumers. The other
// order would let a fresh publisher put a key's message in its new partition while a stale
// one still adds the key's next message to the old partition below its cut. One script per
// partition: on a cluster they live in different slots.
asio::awaitable<std::uint32_t> grow(client& c, const topic_keys& keys, std::uint32_t from,
                                    std::uint32_t to) {
  std::vector<std::string> cuts(from);
  for (std::uint32_t p = 0; p < from; ++p) {
    const topic_keys partition(partition_topic(keys.topic(), p), keys.key_prefix());
    const auto sent = co_await detail::send_script(
        c, [&](resp::request& req, bool by_source) {
          detail::build_cut_partition(req, by_source, partition, from, to);
        },
        [&](const resp::value& reply) { return detail::decode_cut_partition(reply, cuts[p]); });
    if (!sent) fail(sent, "set_partitions of '" + keys.topic() + "': cutting " + partition.topic());
  }
  std::uint32_t now = 0;
  const auto sent = co_await detail::send_script(
      c, [&](resp::request& req, bool by_source) {
        detail::build_finish_growth(req, by_source, keys, from, to, cuts);
      },
      [&](const resp::value& reply) { return detail::decode_finish_growth(reply, now); });
  if (!sent) fail(sent, "set_partitions of '" + keys.topic() + "': finishing the growth");
  co_return now;
}

// The public calls below are plain functions that check and copy their arguments into the
// coroutine they return: awaitables start lazily, after the caller's temporaries are gone.
asio::awaitable<std::uint32_t> set_partitions_of(client& c, topic_keys keys,
                                                 std::uint32_t partitions) {
  detail::partitions_set set;
  const auto sent = co_await detail::send_script(
      c, [&](resp::request& req, bool by_source) {
        detail::build_set_partitions(req, by_source, keys, partitions);
      },
      [&](const resp::value& reply) { return detail::decode_set_partitions(reply, set); });
  if (!sent) fail(sent, "set_partitions of '" + keys.topic() + "'");
  if (!set.growing) co_return set.count;
  co_return co_await grow(c, keys, set.count, partitions);
}

asio::awaitable<std::uint32_t> partition_count_of(client& c, topic_keys keys) {
  std::uint32_t count = 0;
  const auto sent = co_await detail::send_command(
      c, [&](resp::request& req) { detail::build_partition_count(req, keys); },
      [&](const resp::value& reply) { return detail::decode_partition_count(reply, count); });
  if (!sent) fail(sent, "partition count of '" + keys.topic() + "'");
  co_return count;
}

}  // namespace

asio::awaitable<std::uint32_t> set_partitions(client& c, std::string_view topic,
                                              std::uint32_t partitions,
                                              std::string_view key_prefix) {
  validate_partitioned_name(topic);
  if (partitions == 0 || partitions > max_partitions)
    throw std::invalid_argument("streamq set_partitions: " + std::to_string(partitions) +
                                " partitions: 1 to " + std::to_string(max_partitions) +
                                " are allowed");
  return set_partitions_of(c, topic_keys(topic, key_prefix), partitions);
}

asio::awaitable<std::uint32_t> partition_count(client& c, std::string_view topic,
                                               std::string_view key_prefix) {
  validate_partitioned_name(topic);
  return partition_count_of(c, topic_keys(topic, key_prefix));
}

asio::awaitable<std::uint32_t> set_partitions(client& c, std::string_view topic,
                                              std::uint32_t partitions) {
  return set_partitions(c, topic, partitions, default_key_prefix);
}

asio::awaitable<std::uint32_t> partition_count(client& c, std::string_view topic) {
  return partition_count(c, topic, default_key_prefix);
}

}  // namespace streamq::streams

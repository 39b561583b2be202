// Partitioned topics: their count (set_partitions, partition_count) and
// partitioned_publisher, which picks each message's partition (sansio/partitioning.hpp) and
// publishes through a publisher.
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <streamq/streams/error.hpp>

#include "commands/partition_requests.hpp"
#include "commands/send_command.hpp"
#include "sansio/partitioning.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

[[noreturn]] void fail(const error_code& ec, const std::string& what) {
  throw boost::system::system_error(ec, what);
}

// A partitioned topic's own name: valid, and not a partition's. For the admin calls: throws
// std::invalid_argument.
void validate_partitioned_name(std::string_view topic) {
  validate_name(name_kind::topic, topic);
  if (!is_valid_name(topic))
    throw std::invalid_argument("streamq topic name '" + std::string(topic) +
                                "': names a partition; a partition has no partitions");
}

// The same for a publish: errc::invalid_name, as publisher's.
void check_partitioned_name(std::string_view topic) {
  if (!is_valid_name(topic))
    fail(errc::invalid_name, "partitioned topic '" + std::string(topic) +
                                 "': not a valid topic name (a partition's name has no partitions)");
}


// The public calls below are plain functions that check and copy their arguments into the
// coroutine they return: awaitables start lazily, after the caller's temporaries are gone.
asio::awaitable<std::uint32_t> set_partitions_of(client& c, topic_keys keys,
                                                 std::uint32_t partitions) {
  std::uint32_t now = 0;
  const auto sent = co_await detail::send_script(
      c, [&](resp::request& req, bool by_source) {
        detail::build_set_partitions(req, by_source, keys, partitions);
      },
      [&](const resp::value& reply) { return detail::decode_set_partitions(reply, now); });
  if (!sent) {
    const std::string why = sent.reply.diagnostic.empty() ? "" : ": " + sent.reply.diagnostic;
    fail(sent.ec(), "set_partitions of '" + keys.topic() + "'" + why);
  }
  co_return now;
}

asio::awaitable<std::uint32_t> partition_count_of(client& c, topic_keys keys) {
  std::uint32_t count = 0;
  const auto sent = co_await detail::send_command(
      c, [&](resp::request& req) { detail::build_partition_count(req, keys); },
      [&](const resp::value& reply) { return detail::decode_partition_count(reply, count); });
  if (!sent) fail(sent.ec(), "partition count of '" + keys.topic() + "'");
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

void partitioned_publisher_config::validate() const {
  if (refresh_interval.count() <= 0)
    throw std::invalid_argument("streamq partitioned_publisher_config.refresh_interval: must be positive");
  if (partitioning.how == partitioner::kind::custom && !partitioning.function)
    throw std::invalid_argument(
        "streamq partitioned_publisher_config.partitioning: custom without a function");
}

namespace detail {

class partitioned_publisher_impl {
 public:
  partitioned_publisher_impl(publisher& pub, partitioned_publisher_config config)
      : pub_(pub), config_(std::move(config)) {
    config_.validate();
  }

  asio::awaitable<std::uint32_t> partitions_of(std::string topic) {
    check_partitioned_name(topic);
    const auto now = std::chrono::steady_clock::now();
    {
      const std::lock_guard lock(mutex_);
      const auto it = counts_.find(topic);
      if (it != counts_.end() && now - it->second.read_at < config_.refresh_interval)
        co_return it->second.count;
    }
    // Concurrent first publishes may each read it: the same answer, and no lock held across
    // the read.
    std::uint32_t count = 0;
    const topic_keys keys(topic, pub_.config().key_prefix);
    const auto sent = co_await send_command(
        pub_.get_client(), [&](resp::request& req) { build_partition_count(req, keys); },
        [&](const resp::value& reply) { return decode_partition_count(reply, count); });
    if (!sent) fail(sent.ec(), "partition count of '" + topic + "'");
    const std::lock_guard lock(mutex_);
    counts_[topic] = cached{count, now};
    co_return count;
  }

  // The partition of one message among `partitions` (> 0); throws errc::invalid_argument for
  // a custom choice out of range.
  std::uint32_t choose(std::string_view key, const v1::Envelope* envelope,
                       std::uint32_t partitions) {
    if (config_.partitioning.how != partitioner::kind::custom)
      return choose_partition(config_.partitioning.how, key, partitions, ticket_++);
    const std::uint32_t chosen = config_.partitioning.function(*envelope, partitions);
    if (chosen >= partitions)
      fail(errc::invalid_argument, "partitioner chose partition " + std::to_string(chosen) +
                                       " of " + std::to_string(partitions));
    return chosen;
  }

  publisher& pub() noexcept { return pub_; }

 private:
  struct cached {
    std::uint32_t count = 0;
    std::chrono::steady_clock::time_point read_at;
  };
  publisher& pub_;
  partitioned_publisher_config config_;
  std::mutex mutex_;  // publish may be called from several threads, as publisher's
  std::map<std::string, cached, std::less<>> counts_;
  std::atomic<std::uint64_t> ticket_{0};
};

}  // namespace detail

partitioned_publisher::partitioned_publisher(publisher& pub, partitioned_publisher_config config)
    : impl_(std::make_unique<detail::partitioned_publisher_impl>(pub, std::move(config))) {}

partitioned_publisher::~partitioned_publisher() = default;

asio::any_io_executor partitioned_publisher::executor() const {
  return impl_->pub().get_client().get_executor();
}

asio::awaitable<std::uint32_t> partitioned_publisher::partitions_of(std::string_view topic) {
  return impl_->partitions_of(std::string(topic));
}

// The public calls are plain functions that copy their arguments into the coroutine they
// return (see set_partitions): the message into its envelope, at the call.
asio::awaitable<std::string> partitioned_publisher::publish(
    std::string_view topic, const google::protobuf::Message& message) {
  return send(std::string(topic), make_envelope(message, envelope_options{}));
}

asio::awaitable<std::string> partitioned_publisher::publish(
    std::string_view topic, const google::protobuf::Message& message,
    const envelope_options& options) {
  return send(std::string(topic), make_envelope(message, options));
}

asio::awaitable<std::vector<std::string>> partitioned_publisher::publish_batch(
    std::string_view topic, std::span<const v1::Envelope> envelopes) {
  return send_batch(std::string(topic), std::vector<v1::Envelope>(envelopes.begin(), envelopes.end()));
}

asio::awaitable<std::string> partitioned_publisher::send(std::string topic, v1::Envelope envelope) {
  const std::uint32_t partitions = co_await impl_->partitions_of(topic);
  const std::string target =
      partitions == 0
          ? topic
          : partition_topic(topic, impl_->choose(envelope.partition_key(), &envelope, partitions));
  co_return co_await impl_->pub().publish_envelope(target, std::move(envelope));
}

asio::awaitable<std::vector<std::string>> partitioned_publisher::send_batch(
    std::string name, std::vector<v1::Envelope> batch) {
  const std::uint32_t partitions = co_await impl_->partitions_of(name);
  if (partitions == 0) co_return co_await impl_->pub().publish_batch(name, batch);
  std::vector<std::uint32_t> chosen;
  chosen.reserve(batch.size());
  for (const auto& e : batch) chosen.push_back(impl_->choose(e.partition_key(), &e, partitions));
  const auto groups = detail::group_by_partition(chosen, partitions);
  // One publish_batch per partition that has messages, all started before any is awaited: on
  // the shared pipelined connection they go out together (on a cluster, one request per node).
  std::vector<std::vector<v1::Envelope>> parts;
  std::vector<std::string> targets;
  std::vector<const std::vector<std::size_t>*> members;
  for (std::uint32_t p = 0; p < partitions; ++p) {
    if (groups[p].empty()) continue;
    auto& part = parts.emplace_back();
    for (const std::size_t i : groups[p]) part.push_back(std::move(batch[i]));
    targets.push_back(partition_topic(name, p));
    members.push_back(&groups[p]);
  }
  const auto ex = co_await asio::this_coro::executor;
  publisher& pub = impl_->pub();
  using part_op = decltype(asio::co_spawn(ex, pub.publish_batch(targets[0], parts[0]),
                                          asio::deferred));
  std::vector<part_op> ops;
  ops.reserve(parts.size());
  for (std::size_t k = 0; k < parts.size(); ++k)
    ops.push_back(asio::co_spawn(ex, pub.publish_batch(targets[k], parts[k]), asio::deferred));
  auto [order, failures, ids] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                    .async_wait(asio::experimental::wait_for_all(),
                                                asio::use_awaitable);
  (void)order;
  for (const auto& f : failures)
    if (f) std::rethrow_exception(f);
  std::vector<std::string> out(batch.size());
  for (std::size_t k = 0; k < parts.size(); ++k)
    for (std::size_t j = 0; j < members[k]->size(); ++j) out[(*members[k])[j]] = std::move(ids[k][j]);
  co_return out;
}

}  // namespace streamq::streams

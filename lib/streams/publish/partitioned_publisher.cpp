// partitioned_publisher: picks each message's partition (sansio/partitioning.hpp) and writes
// it with publish_partition-2+.lua, which refuses a publish routed with a count the partition
// no longer takes (a growth cut it); then the count is read again and the message routed
// again (sansio/growth.hpp). Numbering, checks and counters are the publisher's.
//
// Single publishes to one partition go out together, one script call at a time per partition
// (a group commit): the first becomes the leader, lets the executor run the publishes already
// waiting to run, and sends all that joined meanwhile; publishes that come while its call is
// in flight wait for it, and one of them leads the next call with all of them. A script call
// costs Redis several times an XADD; shared, it costs each publish a fraction of that. An idle
// partition's publish is sent at once; a busy one's waits at most one call.
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include <streamq/redis/error.hpp>
#include <streamq/streams/error.hpp>

#include "commands/partition_requests.hpp"
#include "commands/send_command.hpp"
#include "publish/publish_tracing.hpp"
#include "publish/publishing.hpp"
#include "sansio/growth.hpp"
#include "sansio/partitioning.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <stdexcept>
#include <utility>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

[[noreturn]] void fail(const error_code& ec, const std::string& what) {
  throw boost::system::system_error(ec, what);
}

// A partitioned topic's name for a publish: errc::invalid_name, as publisher's.
void check_partitioned_name(std::string_view topic) {
  if (!is_valid_name(topic))
    fail(errc::invalid_name, "partitioned topic '" + std::string(topic) +
                                 "': not a valid topic name (a partition's name has no partitions)");
}

}  // namespace

void partitioned_publisher_config::validate() const {
  if (refresh_interval.count() <= 0)
    throw std::invalid_argument("streamq partitioned_publisher_config.refresh_interval: must be positive");
  if (partitioning.how == partitioner::kind::custom && !partitioning.function)
    throw std::invalid_argument(
        "streamq partitioned_publisher_config.partitioning: custom without a function");
}

namespace detail {

// The entries of one partition's publish_partition call, and what came of it.
struct partition_part {
  std::uint32_t routed = 0;  // the count its entries were routed with
  std::uint32_t partition = 0;
  std::vector<std::size_t> members;  // indexes into the batch, in order
  send_result sent;
  batch_result added;
  std::uint32_t current = 0;  // the partition's count, when it refused the routing
};

// One single publish joined with others to the same partition (send()).
struct joined_publish {
  explicit joined_publish(const asio::any_io_executor& ex)
      : done(ex, asio::steady_timer::time_point::max()) {}
  v1::Envelope envelope;
  std::string bytes;        // the entry's envelope field, numbered
  asio::steady_timer done;  // cancelled once `sent` is set, or once it is to lead
  bool finished = false;
  // Under partitioned_publisher_impl::mutex_: chosen to lead the next call (woken by `done`),
  // or gone (its publish was cancelled while it waited, its entry still to be sent).
  bool lead = false;
  bool abandoned = false;
  send_result sent;         // the joint call's outcome
  std::string id;           // the entry's ID, when it succeeded
  std::uint32_t current = 0;  // the partition's count, when it refused the routing
};

using joined_target = std::tuple<std::string, std::uint32_t, std::uint32_t>;  // topic, routed, p

// The publishes to one partition waiting for the next call. Present in joined_ while a leader
// is at work (gathering, sending, or handing over to one of them).
struct joined_queue {
  std::vector<std::shared_ptr<joined_publish>> waiting;
};

class partitioned_publisher_impl {
 public:
  partitioned_publisher_impl(publisher& pub, partitioned_publisher_config config)
      : pub_(pub), config_(std::move(config)) {
    config_.validate();
  }

  asio::awaitable<std::uint32_t> partitions_of(std::string topic) {
    check_partitioned_name(topic);
    {
      const std::lock_guard lock(mutex_);
      const auto it = counts_.find(topic);
      if (it != counts_.end() &&
          std::chrono::steady_clock::now() - it->second.read_at < config_.refresh_interval)
        co_return it->second.count;
    }
    co_return co_await read_count(std::move(topic));
  }

  // Reads the topic's count and keeps it. Concurrent first publishes may each read it: the
  // same answer, and no lock held across the read.
  asio::awaitable<std::uint32_t> read_count(std::string topic) {
    const auto now = std::chrono::steady_clock::now();
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
  std::uint32_t choose(std::string_view key, const v1::Envelope& envelope,
                       std::uint32_t partitions) {
    if (config_.partitioning.how != partitioner::kind::custom)
      return choose_partition(config_.partitioning.how, key, partitions, ticket_++);
    const std::uint32_t chosen = config_.partitioning.function(envelope, partitions);
    if (chosen >= partitions)
      fail(errc::invalid_argument, "partitioner chose partition " + std::to_string(chosen) +
                                       " of " + std::to_string(partitions));
    return chosen;
  }

  asio::awaitable<std::string> send(std::string topic, v1::Envelope envelope);
  asio::awaitable<std::vector<std::string>> send_batch(std::string topic,
                                                       std::vector<v1::Envelope> batch);

  publisher& pub() noexcept { return pub_; }
  // The publisher's tracing of a publish to `topic` (publish/publish_tracing.hpp).
  publish_spans spans_for(std::string_view topic) const { return pub_.spans_for(topic); }

 private:
  // One publish_partition call: the batch's entries `part.members` to `part.partition`.
  // Never throws for what Redis answered: the caller reads `part`.
  asio::awaitable<void> send_part(const std::string& topic,
                                  const std::vector<v1::Envelope>& batch,
                                  const std::vector<std::string>& bytes, partition_part& part);
  // The leader's part of send(): takes what joined `target` and sends it in one call; each
  // joined publish learns its outcome. Then hands over to a publish that came meanwhile, or
  // sends what cancelled ones left, until nothing waits.
  asio::awaitable<void> send_joined(joined_target target);
  // One call with what waits for `target` now; false when nothing did.
  asio::awaitable<bool> send_waiting(const joined_target& target);
  // Leads `target`'s calls from this publish, out of reach of its cancellation: the waiting
  // publishes' outcomes depend on it, and each call's request bounds its time.
  asio::awaitable<void> lead(const joined_target& target);
  // Counts a part that did not land, as publisher counts its failures; returns its error.
  error_code count_failure(const partition_part& part);
  static std::string what_failed(const partition_part& part) {
    return part.sent.transport ? "publish to partition " + std::to_string(part.partition)
                               : part.sent.reply.diagnostic;
  }
  [[noreturn]] void fail_part(const partition_part& part) {
    const error_code ec = count_failure(part);
    fail(ec, what_failed(part));
  }

  struct cached {
    std::uint32_t count = 0;
    std::chrono::steady_clock::time_point read_at;
  };
  publisher& pub_;
  partitioned_publisher_config config_;
  std::mutex mutex_;  // publish may be called from several threads, as publisher's
  std::map<std::string, cached, std::less<>> counts_;
  std::atomic<std::uint64_t> ticket_{0};
  // Publishes waiting to be sent with their leader's call; under mutex_. A target is present
  // while a leader works for it.
  std::map<joined_target, joined_queue> joined_;
};

asio::awaitable<void> partitioned_publisher_impl::send_joined(joined_target target) {
  for (;;) {
    if (!co_await send_waiting(target)) co_return;
    const std::lock_guard lock(mutex_);
    auto it = joined_.find(target);
    auto& waiting = it->second.waiting;
    if (waiting.empty()) {
      joined_.erase(it);  // the next publish leads the next call
      co_return;
    }
    // Those that came while the call was in flight go next, led by one of them: this
    // publish's own outcome is known, and its caller waits no longer. Cancelled ones cannot
    // lead; when only they are left, this leader sends them.
    const auto next = std::find_if(waiting.begin(), waiting.end(),
                                   [](const auto& w) { return !w->abandoned; });
    if (next != waiting.end()) {
      (*next)->lead = true;
      asio::dispatch((*next)->done.get_executor(), [waiter = *next] { waiter->done.cancel(); });
      co_return;
    }
  }
}

asio::awaitable<bool> partitioned_publisher_impl::send_waiting(const joined_target& target) {
  // Publishes already waiting to run on this executor join this call.
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  std::vector<std::shared_ptr<joined_publish>> batch;
  {
    const std::lock_guard lock(mutex_);
    const auto it = joined_.find(target);
    batch.swap(it->second.waiting);
    if (batch.empty()) {
      joined_.erase(it);
      co_return false;
    }
  }
  partition_part part;
  part.routed = std::get<1>(target);
  part.partition = std::get<2>(target);
  std::vector<v1::Envelope> envelopes;
  std::vector<std::string> bytes;
  envelopes.reserve(batch.size());
  bytes.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    part.members.push_back(i);
    envelopes.push_back(std::move(batch[i]->envelope));
    bytes.push_back(std::move(batch[i]->bytes));
  }
  try {
    co_await send_part(std::get<0>(target), envelopes, bytes, part);
  } catch (const std::exception&) {
    // Whatever it was (it may have been written): every waiter learns it, and the partition's
    // next call is led as usual, rather than its publishes waiting for good.
    part.sent = send_result{redis::client_errc::outcome_unknown, {}};
  }
  if (part.sent) {
    pub_.duplicates_ += part.added.duplicates;
    pub_.published_ += part.members.size() - part.added.duplicates;
  } else if (part.sent.transport || part.sent.reply.ec != errc::partitions_changed) {
    count_failure(part);  // a refused routing is counted by its own publish, if it fails
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& w = *batch[i];
    w.sent = part.sent;
    w.current = part.current;
    if (part.sent) w.id = std::move(part.added.ids[i]);
    // Kept for a refused routing: the publish chooses its partition again.
    w.envelope = std::move(envelopes[i]);
    w.bytes = std::move(bytes[i]);
    // On the waiter's executor: a publish may come from another one.
    asio::dispatch(w.done.get_executor(), [waiter = batch[i]] {
      waiter->finished = true;
      waiter->done.cancel();
    });
  }
  co_return true;
}

asio::awaitable<void> partitioned_publisher_impl::lead(const joined_target& target) {
  co_await asio::co_spawn(
      co_await asio::this_coro::executor, send_joined(target),
      asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable));
}

asio::awaitable<void> partitioned_publisher_impl::send_part(const std::string& topic,
                                                            const std::vector<v1::Envelope>& batch,
                                                            const std::vector<std::string>& bytes,
                                                            partition_part& part) {
  // The publisher's own cache of a topic's keys: no key strings built per publish.
  const auto keys_ptr = pub_.keys_of(partition_topic(topic, part.partition));
  const topic_keys& keys = *keys_ptr;
  std::vector<std::string> dedup_keys;  // of the keyed entries, in order
  std::vector<std::string_view> entries;  // per entry: keyed flag, envelope (not copied)
  entries.reserve(part.members.size() * 2);
  for (const std::size_t i : part.members) {
    const bool keyed = !batch[i].idempotency_key().empty();
    if (keyed) dedup_keys.push_back(keys.dedup(batch[i].idempotency_key()));
    entries.emplace_back(keyed ? "1" : "0");
    entries.emplace_back(bytes[i]);
  }
  part.sent = co_await send_script(
      pub_.get_client(),
      [&](resp::request& req, bool by_source) {
        build_publish_partition(req, by_source, keys, part.routed, dedup_keys,
                                pub_.config().dedup_window, entries);
      },
      [&](const resp::value& reply) {
        return decode_publish_partition(reply, part.members.size(), part.added, part.current);
      });
}

error_code partitioned_publisher_impl::count_failure(const partition_part& part) {
  const std::size_t n = part.members.size();
  if (part.sent.transport) {  // maybe sent: a lost reply means "maybe published"
    const error_code ec = part.sent.transport == redis::client_errc::outcome_unknown
                              ? error_code(errc::publish_indeterminate)
                              : part.sent.transport;
    (ec == errc::publish_indeterminate ? pub_.indeterminate_ : pub_.failed_) += n;
    return ec;
  }
  // A reply of another shape came after the script ran: not counted as failures.
  if (part.sent.reply.ec != errc::malformed_entry) pub_.failed_ += n;
  return part.sent.reply.ec;
}

asio::awaitable<std::string> partitioned_publisher_impl::send(std::string topic,
                                                              v1::Envelope envelope) {
  std::uint32_t partitions = co_await partitions_of(topic);
  // Traced by the public call already: sent as it is (publisher::send).
  if (partitions == 0) co_return co_await pub_.send(topic, std::move(envelope));
  partition_part part;
  part.members = {0};
  part.routed = partitions;
  // Chosen before it is numbered: a custom choice out of range takes no sequence number.
  part.partition = choose(envelope.partition_key(), envelope, part.routed);
  // Numbered once: a message routed again keeps its sequence.
  const auto ex = co_await asio::this_coro::executor;
  auto self = std::make_shared<joined_publish>(ex);
  self->bytes = std::move(pub_.prepare(envelope)[3]);
  self->envelope = std::move(envelope);
  // The first attempt joins the publishes to this partition that start together with it.
  const joined_target target{topic, part.routed, part.partition};
  bool leads = false;
  {
    const std::lock_guard lock(mutex_);
    auto [it, created] = joined_.try_emplace(target);
    it->second.waiting.push_back(self);
    leads = created;
  }
  if (leads) {
    co_await lead(target);
  } else {
    co_await self->done.async_wait(asio::as_tuple(asio::use_awaitable));
    {
      const std::lock_guard lock(mutex_);
      leads = self->lead;
      // Cancelled while waiting: the entry stays for a later call, which another leads.
      if (!leads && !self->finished) self->abandoned = true;
    }
    // Chosen to lead the next call (its own entry in it), even if cancelled meanwhile.
    if (leads) co_await lead(target);
  }
  if (!self->finished)  // this publish was cancelled; a leader may still write it
    fail(errc::publish_indeterminate, "publish to partition " + std::to_string(part.partition) +
                                          " cancelled while joined to others");
  if (self->sent) co_return std::move(self->id);
  part.sent = self->sent;
  part.current = self->current;
  if (part.sent.transport || part.sent.reply.ec != errc::partitions_changed)
    fail(part.sent.transport == redis::client_errc::outcome_unknown
             ? error_code(errc::publish_indeterminate)
             : part.sent.ec(),
         what_failed(part));  // counted by the leader
  // Refused for its routing (nothing written): routed again on its own.
  std::vector<std::string> bytes{std::move(self->bytes)};
  std::vector<v1::Envelope> batch;
  batch.push_back(std::move(self->envelope));
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) co_await send_part(topic, batch, bytes, part);
    if (part.sent.reply.ec != errc::partitions_changed || part.sent.transport ||
        attempt == max_reroutes)
      break;
    const std::uint32_t reread = co_await read_count(topic);
    const auto next = reroute_count(part.routed, reread, part.current);
    if (!next) break;
    part.routed = *next;
    part.partition = choose(batch[0].partition_key(), batch[0], part.routed);
  }
  if (!part.sent) fail_part(part);
  ++(part.added.duplicates > 0 ? pub_.duplicates_ : pub_.published_);
  co_return std::move(part.added.ids.front());
}

asio::awaitable<std::vector<std::string>> partitioned_publisher_impl::send_batch(
    std::string name, std::vector<v1::Envelope> batch) {
  std::uint32_t partitions = co_await partitions_of(name);
  if (partitions == 0) co_return co_await pub_.send_batch(name, std::move(batch));
  if (batch.empty()) co_return std::vector<std::string>{};
  // The first round's partitions, chosen before anything is numbered: a custom choice out of
  // range refuses the batch without taking sequence numbers.
  std::vector<std::uint32_t> chosen(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    chosen[i] = choose(batch[i].partition_key(), batch[i], partitions);
  // Every envelope is checked before any is numbered or sent, as publisher::publish_batch
  // does: one bad envelope refuses all. Numbered once: entries routed again keep theirs.
  std::vector<bool> unnumbered(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::string what;
    bool needs_number = false;
    if (auto ec = check_for_publish(batch[i], pub_.config().producer_id, pub_.config().limits,
                                    what, needs_number)) {
      pub_.failed_ += batch.size();
      fail(ec, "batch entry " + std::to_string(i) + ": " + what);
    }
    unnumbered[i] = needs_number;
  }
  std::uint64_t sequence = pub_.next_sequence_.fetch_add(
      static_cast<std::uint64_t>(std::count(unnumbered.begin(), unnumbered.end(), true)));
  std::vector<std::string> bytes;
  bytes.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (unnumbered[i]) batch[i].set_sequence(sequence++);
    bytes.push_back(std::move(encode_checked_entry(batch[i])[3]));
  }
  std::vector<std::string> out(batch.size());
  std::vector<std::size_t> left(batch.size());  // not written yet, in batch order
  std::vector<std::uint32_t> routed(batch.size(), partitions);  // per entry: its count
  for (std::size_t i = 0; i < batch.size(); ++i) left[i] = i;
  const auto ex = co_await asio::this_coro::executor;
  for (int attempt = 0;; ++attempt) {
    // One publish_partition per partition (and count routed with) that has messages, in batch
    // order within each, all started before any is awaited: on the shared pipelined
    // connection they go out together (on a cluster, one request per node).
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<std::size_t>> groups;
    for (const std::size_t i : left) {
      if (attempt > 0) chosen[i] = choose(batch[i].partition_key(), batch[i], routed[i]);
      groups[{routed[i], chosen[i]}].push_back(i);
    }
    std::vector<partition_part> parts;
    parts.reserve(groups.size());
    for (auto& [target, members] : groups) {
      auto& part = parts.emplace_back();
      part.routed = target.first;
      part.partition = target.second;
      part.members = std::move(members);
    }
    using part_op =
        decltype(asio::co_spawn(ex, send_part(name, batch, bytes, parts[0]), asio::deferred));
    std::vector<part_op> ops;
    ops.reserve(parts.size());
    for (auto& part : parts)
      ops.push_back(asio::co_spawn(ex, send_part(name, batch, bytes, part), asio::deferred));
    auto [order, failures] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                 .async_wait(asio::experimental::wait_for_all(),
                                             asio::use_awaitable);
    (void)order;
    for (const auto& f : failures)
      if (f) std::rethrow_exception(f);
    // All or none per partition: a part the partition refused for its routing wrote nothing
    // and goes again (sansio/growth.hpp's reroute_count); the others are done, or failed.
    left.clear();
    std::vector<const partition_part*> refused;
    error_code first_failure;
    std::string first_what;
    for (auto& part : parts) {
      if (part.sent) {
        for (std::size_t j = 0; j < part.members.size(); ++j)
          out[part.members[j]] = std::move(part.added.ids[j]);
        pub_.duplicates_ += part.added.duplicates;
        pub_.published_ += part.members.size() - part.added.duplicates;
      } else if (!part.sent.transport && part.sent.reply.ec == errc::partitions_changed &&
                 attempt < max_reroutes) {
        refused.push_back(&part);
      } else if (const error_code ec = count_failure(part); !first_failure) {
        first_failure = ec;
        first_what = what_failed(part);
      }
    }
    if (!refused.empty() && !first_failure) {
      const std::uint32_t reread = co_await read_count(name);
      for (const partition_part* part : refused) {
        const auto next = reroute_count(part->routed, reread, part->current);
        if (!next) {
          if (const error_code ec = count_failure(*part); !first_failure) {
            first_failure = ec;
            first_what = what_failed(*part);
          }
          continue;
        }
        for (const std::size_t i : part->members) routed[i] = *next;
        left.insert(left.end(), part->members.begin(), part->members.end());
      }
    } else {
      for (const partition_part* part : refused)
        left.insert(left.end(), part->members.begin(), part->members.end());
    }
    if (first_failure) {
      // The first failure is thrown; those that would have gone again are not written either.
      pub_.failed_ += left.size();
      fail(first_failure, first_what);
    }
    if (left.empty()) break;
    std::sort(left.begin(), left.end());
  }
  co_return out;
}

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
// return: the message into its envelope, at the call.
asio::awaitable<std::string> partitioned_publisher::publish(
    std::string_view topic, const google::protobuf::Message& message) {
  static const envelope_options none{};
  return publish(topic, message, none);
}

asio::awaitable<std::string> partitioned_publisher::publish(
    std::string_view topic, const google::protobuf::Message& message,
    const envelope_options& options) {
  // The trace as publisher::publish_envelope writes it, the publish span around the routing.
  v1::Envelope envelope = make_envelope(message, options);
  detail::publish_spans spans = impl_->spans_for(topic);
  spans.begin(envelope, options.trace);
  return detail::traced(std::move(spans), send(std::string(topic), std::move(envelope)));
}

asio::awaitable<std::vector<std::string>> partitioned_publisher::publish_batch(
    std::string_view topic, std::span<const v1::Envelope> envelopes) {
  std::vector<v1::Envelope> batch(envelopes.begin(), envelopes.end());
  detail::publish_spans spans = impl_->spans_for(topic);
  for (auto& envelope : batch) spans.begin(envelope);
  return detail::traced(std::move(spans), send_batch(std::string(topic), std::move(batch)));
}

asio::awaitable<std::string> partitioned_publisher::send(std::string topic, v1::Envelope envelope) {
  return impl_->send(std::move(topic), std::move(envelope));
}

asio::awaitable<std::vector<std::string>> partitioned_publisher::send_batch(
    std::string name, std::vector<v1::Envelope> batch) {
  return impl_->send_batch(std::move(name), std::move(batch));
}

}  // namespace streamq::streams

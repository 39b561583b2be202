#pragma once
// A member of a consumer group on a partitioned topic (partitions.hpp): within the group each
// partition is read by one member at a time, holding a lease with an epoch (fencing token),
// and the partitions are spread fairly over the live members.
//
//   partitioned_consumer member(client, {.consumer = {.group = "billing", .name = "pod-7"}});
//   member.subscribe<Order>("orders", handle_order);
//   co_await member.run();  // until cancelled: then releases its partitions and leaves
//
// How it works (docs/partitions.md): every `heartbeat` the member records itself in the
// group's member set (expiring after lease_ttl) and reads who is alive; partition p belongs to
// the live member at p mod M in name order. For each partition it should own it takes the
// partition's lease (kept in the partition's own slot, so later scripts on that partition can
// check the epoch), renews it each heartbeat, and runs a consumer (consumer.hpp) for that
// partition alone, under the member's name. A partition it should no longer own (a member
// joined) is stopped (in-flight handlers get consumer.shutdown_grace) and its lease released;
// the member it now belongs to takes it at its next heartbeat. A member that crashes stops
// renewing: its leases expire after lease_ttl and its partitions move on. A member that cannot
// renew in time (Redis unreachable, the process paused) stops the partition's consumer before
// its lease can have expired, so two members never run one partition's handlers together by
// their own clocks.
//
// A partition's acknowledgements, retries, dead letters and once-only records check the
// lease's owner and epoch in the same script as the write: a member paused past its lease and
// woken cannot write for entries its successor now answers for (they stay pending;
// consumer_event ownership_lost).
//
// Per-key ordering (subscription_options::per_key_concurrency) holds per partition: its holder
// takes over what the group left pending on it when it starts, and blocks the keys of entries
// waiting for a retry there (docs/partitions.md). It also holds across a growth of the topic:
// the holder of a partition the growth made starts its consumer only once the group has
// handled (acknowledged or dead-lettered) everything the old partition q mod P_old had at the
// growth; until then it holds the lease, checks each heartbeat and reports waiting_for_drain.

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/streams/consumer.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams {

// Something about the member's partitions an operator may want to hear. Also logged through
// consumer.log (info for acquired/released, warning for the others).
struct partition_event {
  enum class kind : std::uint8_t {
    acquired,           // the lease was taken; the partition's consumer started
    released,           // given up to another member (rebalance) or on stop
    lost,               // the lease was found held by another, or could not be renewed in time
    membership_failed,  // the heartbeat failed (`code`): the last member list is kept meanwhile
    lease_failed,       // taking, renewing or releasing a lease failed (`code`); retried
    consumer_failed,    // a partition's consumer run() ended by an error (`detail`); restarted
    // The lease of a partition a growth made was taken, but its consumer waits until the group
    // has drained the old partition it takes keys from past that partition's cut
    // (docs/partitions.md, "Growing a topic"); `detail` says which and what is left (reported
    // when that changes; `code` when the check itself failed). `acquired` follows.
    waiting_for_drain,
  };
  kind what;
  std::string topic;        // the partitioned topic
  std::uint32_t partition = 0;
  std::uint64_t epoch = 0;  // the lease's epoch, where one is concerned
  error_code code{};
  std::string detail;
};

struct partitioned_consumer_config {
  // The group (required), the member's name (empty: "<host>-<pid>-<random>", as consumer's),
  // and the settings of each partition's consumer.
  consumer_config consumer;
  // How often the member records itself alive, reads the members, renews its leases and
  // takes or gives up partitions. A joining member gets its share within about two heartbeats
  // plus the time the previous owners take to drain (consumer.shutdown_grace at most).
  std::chrono::milliseconds heartbeat{1000};
  // How long a lease (and a membership) lasts without renewal: a crashed member's partitions
  // move on after this. At least 3 heartbeats.
  std::chrono::milliseconds lease_ttl{10000};
  // A partition's consumer is stopped this long before its lease could expire when renewals
  // fail, so that its handlers end before another member may start. Below lease_ttl minus a
  // heartbeat.
  std::chrono::milliseconds lease_margin{3000};
  // Receives partition_event reports, on the client's executor; must not block.
  std::function<void(const partition_event&)> on_event{};

  // Throws std::invalid_argument naming the first invalid field.
  void validate() const;
};

// One partition the member holds now.
struct owned_partition {
  std::uint32_t partition = 0;
  std::uint64_t epoch = 0;

  friend bool operator==(const owned_partition&, const owned_partition&) = default;
};

// Who holds what in one group of a partitioned topic (inspect_partitions).
struct partition_lease {
  std::uint32_t partition = 0;
  std::string owner;           // empty: nobody holds it (never taken, or released)
  std::uint64_t epoch = 0;     // the last epoch granted (0: never taken)
  std::int64_t until_ms = 0;   // when the holder's lease expires (server ms); 0 when free
};
struct group_member {
  std::string name;
  std::int64_t expires_ms = 0;  // server ms; gone after the next heartbeat of any member
};
struct partitions_view {
  std::uint32_t partitions = 0;  // the topic's count (0: not partitioned)
  // The target of a growth begun and not finished (its grower stopped midway: run
  // set_partitions with this count to complete it); 0: none (docs/partitions.md).
  std::uint32_t growing = 0;
  std::vector<group_member> members;
  std::vector<partition_lease> leases;  // one per partition, ascending
};

// The members of `group` on the partitioned `topic` and every partition's lease: the count
// (and an unfinished growth's target), then the member set and the leases in one request (on
// a cluster, one per node). Throws
// std::invalid_argument for invalid names, boost::system::system_error otherwise.
// Overloads rather than a default key prefix: GCC 12 and class-type defaults in co_await.
boost::asio::awaitable<partitions_view> inspect_partitions(client& c, std::string_view topic,
                                                           std::string_view group,
                                                           std::string_view key_prefix);
boost::asio::awaitable<partitions_view> inspect_partitions(client& c, std::string_view topic,
                                                           std::string_view group);

namespace detail {
class partitioned_consumer_impl;
}  // namespace detail

class partitioned_consumer {
 public:
  // Subscribes one partition's consumer to the partition's topic name (subscribe() makes it).
  using subscriber = std::function<void(consumer&, std::string_view)>;

  // Throws std::invalid_argument for an invalid configuration.
  partitioned_consumer(client& c, partitioned_consumer_config config);
  ~partitioned_consumer();
  partitioned_consumer(const partitioned_consumer&) = delete;
  partitioned_consumer& operator=(const partitioned_consumer&) = delete;

  // The handler of the partitioned topic (one topic per member; before run()); as
  // consumer::subscribe, for every partition this member comes to own. The handler is copied
  // into each partition's consumer.
  template <class T, class Handler>
  void subscribe(std::string_view topic, Handler handler) {
    subscribe<T>(topic, std::move(handler), subscription_options{});
  }
  template <class T, class Handler>
  void subscribe(std::string_view topic, Handler handler, const subscription_options& options) {
    set_subscription(topic, [handler, options](consumer& c, std::string_view partition) {
      c.subscribe<T>(partition, handler, options);
    });
  }

  // The owner operation: reads the topic's partition count (throws
  // boost::system::system_error with errc::invalid_argument when the topic has none), then
  // keeps the member's share of partitions running until cancelled. On cancellation (or
  // stop()) it stops every partition's consumer (each drains as consumer::run does), releases
  // the leases, leaves the member set and returns. The count is read again each heartbeat, so a
  // growth spreads too.
  boost::asio::awaitable<void> run();
  // Asks a running run() to stop as cancelling it does. Callable from any thread.
  void stop() noexcept;

  // The partitions held now, ascending (those whose consumer waits for a growth's drain, with
  // their lease held, included). Call on the client's executor.
  [[nodiscard]] std::vector<owned_partition> owned() const;
  // The member's name (the configured one, or the generated one).
  [[nodiscard]] const std::string& name() const noexcept;
  // Counters summed over the partitions' consumers, those stopped included. Call on the
  // client's executor.
  [[nodiscard]] consumer_stats stats() const;
  // The member's counters for its partitioned topic: one entry, named after the topic (not
  // its partitions: "orders", never "orders#3"), once subscribed. Summed over every partition
  // consumer this member has run, those stopped included, so they never go down; in_flight
  // over the running ones. Safe from any thread once subscribed (subscribe() must not run
  // concurrently): a mutex is taken here and when a partition's consumer starts or retires,
  // never per message.
  [[nodiscard]] std::vector<topic_consumer_stats> topic_stats() const;
  // For readiness, from any thread: running (run() is active), the client's shared
  // connection, handlers in flight, and the last failure of the member (a heartbeat, a lease,
  // a drain check, a partition's consumer ending by an error: the partition_events with a
  // code, and consumer_failed) or of any of its partition consumers' requests, whichever came
  // last; errors counts them all.
  [[nodiscard]] consumer_health health() const;
  // How many partitions the member holds now (owned().size()), from any thread.
  [[nodiscard]] std::uint32_t partitions_owned() const noexcept;
  [[nodiscard]] const partitioned_consumer_config& config() const noexcept;

  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_run(Token&& token = {}) {
    return streamq::detail::start_async(executor(), run(), std::forward<Token>(token));
  }

 private:
  void set_subscription(std::string_view topic, subscriber s);
  boost::asio::any_io_executor executor() const;

  std::unique_ptr<detail::partitioned_consumer_impl> impl_;
};

}  // namespace streamq::streams

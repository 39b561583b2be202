#pragma once
// Consuming typed messages in consumer groups with at-least-once delivery.
//
//   consumer c(client, {.group = "billing"});
//   c.subscribe<shop::Order>("orders", [](const shop::Order& o, message_context& ctx)
//       -> asio::awaitable<void> { ...; co_return; });
//   co_await c.run();  // until cancelled: then drains in-flight handlers and returns
//
// A handler returns awaitable<void> (returning acknowledges) or awaitable<outcome> (ack, retry
// after a delay, dead letter, drop: outcome.hpp). One that throws is retried with exponential
// backoff (retry_policy), unless the error is permanent (is_permanent(), e.g. a system_error
// with errc::permanent_failure), in which case the message goes to the dead-letter stream at
// once, as do messages that do not decode as T (poison).
//
// Delivery model (docs/wire-format.md, section 8): each consumer group gets each message once.
// A failed message stays in its group's pending list under its own entry ID while its retry
// waits in Redis (the group's retry set), so no other group sees it again, its position in
// the stream is kept, and the wait occupies no handler slot. When it is due, any consumer of
// the group takes it over (XCLAIM, which counts the delivery) and runs it. The attempt number
// is Redis's delivery count, on every path: first read, retry, own-pending recovery at start
// and claims from dead consumers; max_deliveries and retry_policy::max_attempts hold on each.

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/log.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/outcome.hpp>
#include <streamq/streams/outputs.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace streamq::streams {

namespace detail {
class consumer_impl;
class partitioned_consumer_impl;
}

struct retry_policy {
  std::uint32_t max_attempts = 5;         // handler runs at most this often; then dead letter
  // The delay before retry n (n = 1, 2, ...) is base * 2^(n-1), capped at `cap`, then scaled
  // down by up to `jitter` (a fraction) at random, so that failures do not retry in lockstep.
  std::chrono::milliseconds base{100};    // delay before the first retry
  std::chrono::milliseconds cap{30'000};  // delays double up to this
  double jitter = 0.5;                    // each delay drawn from [d*(1-jitter), d]
};

// Something an operator should hear about. None of these stop the consumer. Every event also
// goes to consumer_config::log (level warning, or error for the *_failed kinds and losses).
struct consumer_event {
  enum class kind : std::uint8_t {
    data_loss_detected,       // a consumer group vanished (Redis restarted empty?); recreated
    entries_lost,             // pending entries whose data was trimmed or deleted unhandled
    unsafe_eviction_policy,   // maxmemory-policy may evict queue keys (with warn-only config)
    eviction_policy_unknown,  // the policy could not be read (CONFIG and INFO denied)
    dead_lettered,            // a message was moved to the dead-letter stream
    ownership_lost,           // an in-flight entry had been taken over by another consumer
    // Failures of the consumer's own requests. The entries concerned stay pending in the
    // group (nothing is lost) and come back; `code` says why. Persistent ones (NOPERM, ...)
    // mean a configuration problem: they are reported each time.
    ack_failed,             // XACK refused (or its outcome stayed unknown until stop)
    retry_failed,           // a retry could not be scheduled
    dead_letter_failed,     // a dead letter could not be written
    claim_failed,           // taking over idle entries or due retries failed
    keepalive_failed,       // refreshing the claims of running handlers failed
    recovery_failed,        // re-reading this consumer's own pending entries failed
    cleanup_failed,         // removing idle consumers of the group failed
    read_failed,            // XREADGROUP failed other than by connection trouble
    // Redis Cluster: a topic's slot moved (resharding, failover) or its node became
    // unreachable; the blocking readers (one per hash slot of the topics) were sent to the
    // masters the topology read after it names. Nothing is lost; told at info level. `code`
    // is what the read met.
    topics_rerouted,
    // subscription_options::per_key_concurrency 1: a dead-lettered message released its key
    // (the later messages of the key run now) or holds it (dead_letter_releases_key false).
    key_released,
    key_held,
    // subscription_options::effectively_once: publishing outputs from the group's outbox
    // failed (`code`); they stay in the outbox and are published again (idempotently). Also
    // an outbox entry that cannot be read back (it is left in place and passed by).
    output_relay_failed,
  };
  kind what;
  std::string topic;
  std::string detail;
  error_code code{};  // the error, for the *_failed kinds
};

struct consumer_config {
  std::string group{};                   // required; a valid name (names.hpp)
  std::string name{};                    // consumer name; empty: "<host>-<pid>-<random>"
  std::size_t concurrency = 16;          // handlers running at once
  std::size_t max_batch = 128;           // most entries one XREADGROUP asks for
  std::chrono::milliseconds block{500};  // XREADGROUP BLOCK; also bounds stop latency
  retry_policy retry{};
  // Entries pending longer than this on any consumer are taken over (XAUTOCLAIM): their
  // consumer is presumed dead. Live consumers refresh the claim of entries whose handlers
  // are still running every claim_idle / 3, so long handlers are not taken over.
  std::chrono::milliseconds claim_idle{30'000};
  std::chrono::milliseconds claim_interval{5'000};  // how often to look for them
  // How often the group's retry set is looked at for retries due that this consumer did not
  // schedule (those of consumers that died or stopped); its own are taken when due.
  std::chrono::milliseconds retry_poll_interval{1'000};
  // An entry delivered more often than this (it keeps crashing consumers) is dead-lettered
  // instead of being handled again.
  std::uint32_t max_deliveries = 10;
  // Consumers of the group idle this long that own no pending entries are removed (by the
  // claim loop, atomically: never one that still owns entries). Zero disables.
  std::chrono::milliseconds remove_idle_consumers_after{std::chrono::hours(1)};
  // A handler still running after this long is cancelled (through its cancellation slot: every
  // co_await in it throws operation_aborted) and counts as a failure (errc::handler_timeout),
  // retried per `retry`. message_context::deadline tells the handler when; the cut comes
  // within a tenth of the timeout (10 ms to 1 s) after it. Zero: no limit.
  std::chrono::milliseconds handler_timeout{std::chrono::minutes(30)};
  // On stop, in-flight handlers get this long to finish; unfinished ones stay pending and
  // are recovered by another consumer (or this one on restart).
  std::chrono::milliseconds shutdown_grace{10'000};
  // A new group reads the stream from its start (true: the backlog is work) or only
  // entries added after it was created (false: event-bus style).
  bool start_from_beginning = true;
  entry_limits limits{};
  // At start, a maxmemory-policy other than noeviction makes run() throw
  // errc::unsafe_eviction_policy (true) or only reports an event (false).
  bool refuse_unsafe_eviction_policy = true;
  // Receives consumer_event reports, on the client's executor; must not block. Whether set or
  // not, every event also goes to `log`.
  std::function<void(const consumer_event&)> on_event{};
  // Where events and errors are logged (log.hpp); empty: one JSON object per line on stderr.
  logger log{};
  // Leading part of every Redis key this component uses (names.hpp, default_key_prefix): the
  // same for every component of one deployment. Default "streamq".
  std::string key_prefix{default_key_prefix};
  // The tracing hook (tracing.hpp, docs/tracing.md): receive and process spans per message,
  // retry and dead-letter spans under the process span. Null (the default): none; the
  // handler's message_context::trace is then the trace the message carries.
  std::shared_ptr<tracer> tracing{};

  // Throws std::invalid_argument naming the first invalid field. Durations must lie within
  // [0, 1 year] (so that deadlines computed from them cannot overflow).
  void validate() const;
};

// What a handler knows about the message it handles.
struct message_context {
  std::string_view topic;
  std::string_view entry_id;               // the stream entry ID (the same on every retry)
  std::uint32_t attempt = 0;               // 0 on the first run, +1 per earlier delivery
  std::string_view group;                  // the consumer group
  std::string_view consumer;               // this consumer's name
  std::uint64_t deliveries = 1;            // Redis's delivery count of the entry (1, 2, ...)
  std::size_t worker = 0;                  // which of the `concurrency` workers runs it
  const v1::Envelope* envelope = nullptr;  // headers, message_id, created_at, ...
  // When the handler will be cancelled (consumer_config::handler_timeout); time_point::max()
  // without a timeout. Pass it on to calls with their own deadlines.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // subscription_options::effectively_once: where the handler puts the messages it produces
  // (outputs.hpp); they are written only if the run succeeds, together with its
  // acknowledgement. nullptr otherwise.
  handler_outputs* outputs = nullptr;
  // The handler's trace context (docs/tracing.md): the process span's with a tracer
  // (consumer_config::tracing), else the one the message's traceparent header carries (a new
  // trace when it has none that is valid). Always valid().
  trace_context trace{};
  [[nodiscard]] const google::protobuf::Map<std::string, std::string>& headers() const {
    return envelope->headers();
  }
  // Options whose publish continues this message's trace: publish(topic, m, publish_options()).
  [[nodiscard]] envelope_options publish_options() const {
    envelope_options options;
    options.trace = trace;
    return options;
  }
};

struct consumer_stats {
  std::uint64_t delivered = 0;          // entries handed to handlers (incl. retries, recoveries)
  std::uint64_t acked = 0;              // handled successfully and acknowledged
  std::uint64_t retried = 0;            // failures scheduled for another attempt
  std::uint64_t retries_taken = 0;      // due retries this consumer took over and ran
  std::uint64_t dropped = 0;            // outcome::drop: acknowledged without a dead letter
  std::uint64_t ack_failures = 0;       // entries whose XACK was refused (they stay pending)
  std::uint64_t errors = 0;             // failed requests of any kind (see consumer_event)
  std::uint64_t dead_lettered = 0;      // moved to the dead-letter stream
  std::uint64_t claimed = 0;            // taken over from idle consumers
  std::uint64_t lost = 0;               // pending entries whose data was gone (trimmed/deleted)
  std::uint64_t data_loss_events = 0;   // group vanished (e.g. Redis restarted empty)
  std::uint64_t in_flight = 0;          // handlers running now
  std::uint64_t claims_refreshed = 0;   // claim keep-alives of long-running handlers' entries
  std::uint64_t ownership_lost = 0;     // in-flight entries another consumer had taken over
  std::uint64_t skipped_processed = 0;  // `once` messages already handled: acked, not re-run
  // effectively_once: outputs committed with their input (into their stream or the outbox),
  // and outbox outputs published to their topics (a repeat suppressed by its key included).
  std::uint64_t outputs_committed = 0;
  std::uint64_t outputs_relayed = 0;
  // Handler run times: bucket b counts runs that took [2^b, 2^(b+1)) microseconds (bucket 0
  // also takes runs under 1 µs; the last one everything longer), successful or not.
  std::array<std::uint64_t, 32> handler_latency_log2_us{};
  // The upper bound, in µs, of the bucket holding quantile q (0..1) of the runs; 0 if none.
  [[nodiscard]] std::uint64_t handler_latency_quantile_us(double q) const noexcept;
};

// One subscription's share of consumer_stats (consumer::topic_stats()): the counters an
// operator watches per topic, kept next to the consumer-wide ones at the same cost (a relaxed
// atomic store each).
struct topic_consumer_stats {
  std::string topic;
  std::uint64_t delivered = 0;
  std::uint64_t acked = 0;
  std::uint64_t retried = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t claimed = 0;
  std::uint64_t lost = 0;
  std::uint64_t in_flight = 0;
  std::array<std::uint64_t, 32> handler_latency_log2_us{};  // as consumer_stats'
  std::uint64_t handler_latency_sum_us = 0;                 // total run time of those runs
};

// What the server says about one subscribed topic and this consumer's group.
struct topic_status {
  std::string topic;
  std::uint64_t length = 0;          // entries in the stream (XLEN)
  std::uint64_t pending = 0;         // delivered to the group, not yet acknowledged
  std::optional<std::uint64_t> lag;  // entries not yet delivered to the group (Redis 7);
                                     // unknown after XDEL/trimming ahead of the group
  std::uint64_t consumers = 0;       // consumers registered in the group
  std::string last_delivered_id;
};

struct consumer_health {
  bool running = false;                     // run() is active
  redis::connection_state connection{};     // the client's shared connection
  redis::error_code last_connection_error;  // why it last failed, if it did
  std::uint64_t in_flight = 0;
  // The consumer's last failed request (see consumer_event's *_failed kinds): what, why, when.
  error_code last_error;
  std::string last_error_detail;
  std::chrono::system_clock::time_point last_error_at{};
  std::uint64_t errors = 0;
  [[nodiscard]] bool healthy() const noexcept {
    return running && connection == redis::connection_state::connected;
  }
};

// How one subscription handles its messages.
struct subscription_options {
  // Skip duplicates that arrive after a success. A success is recorded (under the envelope's
  // idempotency key, else its message ID) in the same Lua script as its acknowledgement, and
  // a message found recorded before its handler starts is acknowledged without running it.
  // That covers duplicates that come after the first copy succeeded: a producer's retried
  // publish, a dead letter republished although it had succeeded, a message published again
  // by an upstream retry. What it does NOT cover, exactly:
  //  - duplicates handled at the same time: the check (before the handler) and the record
  //    (after it) are separate round trips, so two copies whose handlers overlap, on one
  //    consumer or two, both run;
  //  - a crash (or a lost acknowledgement) after the handler but before the record: the
  //    entry is delivered again and runs again (at-least-once);
  //  - duplicates arriving after remember_for.
  // Handlers must still be idempotent for those; `once` only makes repeats rare. Costs one
  // extra round trip per message (the check), and the record shares the acknowledgement's.
  bool once = false;
  // How long a record is kept (once, effectively_once): duplicates arriving later run the
  // handler again. Positive.
  std::chrono::milliseconds remember_for{std::chrono::hours(24)};
  // This topic's retry policy; unset: consumer_config::retry. Validated as that one is.
  std::optional<retry_policy> retry;
  // At most this many of this topic's messages queued or running at once, within
  // consumer_config::concurrency for all topics together; 0: no limit of its own. A topic whose
  // downstream takes only a few calls at a time gets a small limit here without slowing the
  // others: its reads, claims and retries stop while it is full.
  std::size_t concurrency = 0;
  // Per-key control over the envelope's partition_key (docs/partitions.md, "Per-key
  // ordering"); messages without a key are never held back. 0: none. 1: messages with the same
  // key run one at a time in entry-ID (publish) order, also across retries: a message that fails
  // holds back the later messages of its key (other keys keep flowing) until it succeeds or is
  // dead-lettered. N > 1: at most N messages of one key at once, in no particular order.
  // The order holds among the messages one consumer receives: on a partitioned topic
  // (partitioned_consumer: each partition has one owner), or with one consumer in the group.
  std::size_t per_key_concurrency = 0;
  // With per_key_concurrency 1, a message that is dead-lettered releases its key (the later
  // ones run; a key_released event says so), or (false) keeps them waiting until the dead
  // letter is requeued and succeeds, or the consumer stops.
  bool dead_letter_releases_key = true;
  // Messages held back behind their key, most kept at once for this topic: past it this topic's
  // reads pause (its retries and claims go on, so the keys can move). At least 1.
  std::size_t max_held_back = 1024;
  // Effectively-once processing (outputs.hpp, docs/effectively-once.md): the handler's outputs
  // (message_context::outputs) are written together with the input's acknowledgement and a
  // processed-ID record, in one script that first checks this consumer still owns the input
  // (and, on a partition, the lease's epoch). A crash at any point neither loses nor
  // duplicates an output; a message found recorded (as with `once`) is acknowledged without
  // running. Outputs to a topic in another cluster slot (or a partitioned one) go through the
  // group's outbox and are published from there with their derived idempotency keys: publish
  // with the same key prefix, and keep publisher dedup_window (24 h, the relay's) above the
  // longest time an outbox may wait. Costs one round trip before the handler (the record's
  // check) and one script per message instead of a batched XACK.
  bool effectively_once = false;
  // How often a consumer looks into the outbox for outputs left by a consumer that stopped or
  // crashed after committing (its own commits wake the relay at once). Positive.
  std::chrono::milliseconds outbox_poll{1000};
  // Told each step of an effectively-once commit (outputs.hpp: commit_step) with the input's
  // entry ID, on the consumer's executor; must not block. For tracing and fault tests.
  std::function<void(commit_step, std::string_view)> on_commit_step{};
};

class consumer {
 public:
  using raw_handler =
      std::function<boost::asio::awaitable<outcome>(const v1::Envelope&, message_context&)>;

  // Throws std::invalid_argument for an invalid configuration.
  consumer(client& c, consumer_config config);
  ~consumer();
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  // Registers the handler of `topic` (one per topic; before run()). Payloads that do not
  // parse as T, or whose envelope names another type, are dead-lettered as decode_failed.
  template <class T, class Handler>
  void subscribe(std::string_view topic, Handler handler) {
    subscribe<T>(topic, std::move(handler), subscription_options{});
  }
  template <class T, class Handler>
  void subscribe(std::string_view topic, Handler handler, const subscription_options& options) {
    subscribe_raw(topic, T::descriptor()->full_name(), options,
                  [h = std::move(handler)](const v1::Envelope& envelope,
                                           message_context& ctx) -> boost::asio::awaitable<outcome> {
                    T message;
                    if (!message.ParseFromString(envelope.payload()))
                      throw boost::system::system_error(
                          errc::decode_failed,
                          "payload does not parse as " + T::descriptor()->full_name());
                    if constexpr (std::is_same_v<decltype(h(message, ctx)),
                                                 boost::asio::awaitable<void>>) {
                      co_await h(message, ctx);
                      co_return outcome::ack();
                    } else {
                      co_return co_await h(message, ctx);
                    }
                  });
  }

  // The type-erased form: `type_name` is the full protobuf name the envelope must carry.
  // `handler` returns awaitable<outcome> or awaitable<void>.
  template <class Handler>
  void subscribe_raw(std::string_view topic, std::string type_name, Handler handler) {
    subscribe_raw(topic, std::move(type_name), subscription_options{}, std::move(handler));
  }
  template <class Handler>
  void subscribe_raw(std::string_view topic, std::string type_name,
                     const subscription_options& options, Handler handler) {
    if constexpr (std::is_invocable_r_v<boost::asio::awaitable<void>, Handler&,
                                        const v1::Envelope&, message_context&>) {
      subscribe_erased(topic, std::move(type_name), options,
                       [h = std::move(handler)](const v1::Envelope& envelope, message_context& ctx)
                           -> boost::asio::awaitable<outcome> {
                         co_await h(envelope, ctx);
                         co_return outcome::ack();
                       });
    } else {
      subscribe_erased(topic, std::move(type_name), options, raw_handler(std::move(handler)));
    }
  }

  // The owner operation. Creates the groups (MKSTREAM), re-reads this consumer's own
  // pending entries, then reads, dispatches, acknowledges, retries and recovers until it is
  // cancelled. On cancellation it sends no further read, lets the one in flight end (within
  // `block`, so its entries are handled rather than left pending), gives in-flight handlers
  // shutdown_grace to finish, flushes acknowledgements and returns. Throws only for configuration errors found
  // against the server (e.g. NOPERM); connection trouble is waited out.
  boost::asio::awaitable<void> run();

  // Asks a running run() to stop gracefully (as cancelling it does) and return. Callable from
  // any thread; before run() (or after it returned) it does nothing, so a later run() runs.
  void stop() noexcept;

  // Safe from any thread: a snapshot of counters kept with atomics.
  [[nodiscard]] consumer_stats stats() const noexcept;
  [[nodiscard]] consumer_health health() const noexcept;
  // The counters of each subscription, in subscription order. Safe from any thread once the
  // subscriptions are made (subscribe() must not run concurrently).
  [[nodiscard]] std::vector<topic_consumer_stats> topic_stats() const;
  // Pending count, lag and length per subscribed topic (XINFO GROUPS, XLEN; one round
  // trip). Throws boost::system::system_error on errors.
  boost::asio::awaitable<std::vector<topic_status>> inspect();
  // run() and inspect() for any completion token (use_awaitable by default, as_tuple,
  // use_future, deferred, a callback): completion void(error_code[, T]) where the coroutine
  // forms throw (detail/async_op.hpp).
  // Cancellation (terminal only; partial and total are ignored): async_run stops gracefully
  // as described at run() and completes without an error; async_inspect stops at its request
  // and completes with operation_aborted or the request's error.
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_run(Token&& token = {}) {
    return streamq::detail::start_async(executor(), run(), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_inspect(Token&& token = {}) {
    return streamq::detail::start_async(executor(), inspect(), std::forward<Token>(token));
  }
  [[nodiscard]] const consumer_config& config() const noexcept;
  [[nodiscard]] const std::string& name() const noexcept;

 private:
  // Sets a partition's lease on the consumer it runs (acknowledgements check it).
  friend class detail::partitioned_consumer_impl;

  boost::asio::any_io_executor executor() const;
  void subscribe_erased(std::string_view topic, std::string type_name,
                        const subscription_options& options, raw_handler handler);
  std::unique_ptr<detail::consumer_impl> impl_;
};

}  // namespace streamq::streams

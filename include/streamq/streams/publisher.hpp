#pragma once
// Publishing typed messages to topics. A publisher is a thin, stateless-per-call layer over
// the client's shared pipelined connection: any number of coroutines may publish at once and
// their XADDs share writes.

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <concepts>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams {

namespace detail {
class envelope_draft;
class partitioned_publisher_impl;
class publish_spans;
struct publish_counters;
}  // namespace detail

struct publisher_config {
  // Messages over these limits are refused before anything is written, so an oversized
  // message can never break the shared pipeline (Redis closes connections that send a bulk
  // over proto-max-bulk-len). Consumers must use the same limits.
  entry_limits limits;
  // How long an idempotency key (envelope_options) suppresses another publish with the same
  // key on the same topic. Covers producer retries after errc::publish_indeterminate.
  std::chrono::milliseconds dedup_window{std::chrono::hours(24)};
  // Envelope.producer_id of every message this publisher numbers (Envelope.sequence counts
  // 1, 2, 3... per publisher object, over all topics). Empty (the default): new_producer_id(),
  // different for every publisher object, so two publishers, or one restarted, never seem to
  // share one counter. A gap in one producer's sequence is a numbered publish that did not
  // land: refused by Redis (the caller got the error), suppressed as a duplicate, or lost.
  // Publishes refused before sending (invalid_utf8, message_too_large) take no number. A name
  // given here must be used by one live publisher at a time; its sequence starts again at 1
  // with each publisher object. 1 to 128 printable ASCII characters, no spaces.
  std::string producer_id;
  // Leading part of every Redis key this component uses (names.hpp, default_key_prefix): the
  // same for every component of one deployment. Default "streamq".
  std::string key_prefix{default_key_prefix};
  // The tracing hook (tracing.hpp, docs/tracing.md): a producer span per published message,
  // its current() the parent of publishes that carry no trace. Null (the default): none.
  std::shared_ptr<tracer> tracing{};
  // Writes the headers traceparent (55 bytes) and tracestate into every envelope: about 70
  // bytes a message with their map entries, without a tracestate. Off: no trace headers are
  // written (publish spans are still made with a tracer; they are not linked to consumers).
  bool inject_trace_context = true;
};

struct publisher_stats {
  std::uint64_t published = 0;      // entries confirmed by Redis
  std::uint64_t failed = 0;         // refused before writing, or refused by Redis
  std::uint64_t indeterminate = 0;  // written, reply lost (publish_indeterminate)
  std::uint64_t duplicates = 0;     // suppressed: the idempotency key was already published
};

// One topic's publishes through this publisher's publish, publish_envelope(_checked) and
// publish_batch calls (publisher::topic_stats()). A batch counts as many messages as it holds
// and as one latency sample. published + duplicates is what Redis confirmed.
struct publisher_topic_stats {
  std::string topic;
  std::uint64_t published = 0;      // entries added
  std::uint64_t failed = 0;         // refused before writing, or refused by Redis
  std::uint64_t indeterminate = 0;  // written, reply lost (publish_indeterminate)
  std::uint64_t duplicates = 0;     // suppressed by their idempotency key
  // Call durations, start to reply: bucket b counts calls that took [2^b, 2^(b+1)) µs (as
  // consumer_stats::handler_latency_log2_us), failed ones included; and their sum.
  std::array<std::uint64_t, 32> latency_log2_us{};
  std::uint64_t latency_sum_us = 0;
};

// What an idempotent publish did.
struct publish_receipt {
  std::string id;          // the entry ID (the first one's, for a duplicate)
  bool duplicate = false;  // nothing was added: the key was published before
};

class publisher {
 public:
  // Throws std::invalid_argument naming the field for an invalid configuration.
  explicit publisher(client& c, publisher_config config = {});

  // Publishes `message` to `topic` and returns the stream entry ID.
  // Throws boost::system::system_error with:
  //  - errc::invalid_name for a bad topic name, errc::message_too_large over the limits,
  //    errc::invalid_utf8 for an envelope string (header, key, ID) that is not UTF-8, its
  //    field named in what() (all before anything is written);
  //  - errc::publish_indeterminate when the XADD was written but the connection was lost
  //    before Redis replied: it may be in the stream; a blind retry may duplicate it;
  //  - a resp::server_errc when Redis refused it (e.g. oom under maxmemory);
  //  - a redis::client_errc for other transport failures (nothing was written).
  // Safe from any coroutine; the calls pipeline on the client's shared connection.
  // `topic`, `message` and `options` are read (copied) before this returns, so temporaries
  // are fine, also for an awaitable co_spawned later. (Two overloads instead of a defaulted
  // argument: GCC 12 breaks class-type default arguments of calls inside co_await.)
  boost::asio::awaitable<std::string> publish(std::string_view topic,
                                              const google::protobuf::Message& message,
                                              const envelope_options& options);
  boost::asio::awaitable<std::string> publish(std::string_view topic,
                                              const google::protobuf::Message& message);

  // Publishes an envelope as it is (attempt, headers, IDs kept). A zero sequence is filled
  // from this publisher's counter, with producer_id set to this publisher's; an envelope that
  // has a sequence keeps it and its producer_id (a message written again keeps its origin).
  // With an idempotency key, the duplicate check and the XADD are one Lua script: any number
  // of concurrent publishers of one key add exactly one entry, and all get its ID.
  boost::asio::awaitable<std::string> publish_envelope(std::string_view topic,
                                                       v1::Envelope envelope);
  // As publish_envelope, also telling whether the entry was a suppressed duplicate.
  boost::asio::awaitable<publish_receipt> publish_envelope_checked(std::string_view topic,
                                                                   v1::Envelope envelope);

  // Publishes all envelopes in one round trip, all or none: one Lua script checks everything
  // that could make an XADD fail (the type of every key it touches, the stream's room for new
  // IDs) before its first write, then adds the entries in order; under maxmemory Redis
  // refuses it at that first write. So when this throws, no entry was added: the envelopes
  // are checked like publish's before anything is sent (the whole batch is refused for one
  // bad envelope), a refusal by Redis (e.g. WRONGTYPE, oom) added nothing, and
  // errc::publish_indeterminate means all were added or none. Returns the entry IDs in
  // order; an envelope whose idempotency key was already used (also earlier in the same
  // batch) gets the first entry's ID and adds nothing. Sequence numbers of one batch are
  // consecutive. The topic and the envelopes are copied before this returns.
  boost::asio::awaitable<std::vector<std::string>> publish_batch(
      std::string_view topic, std::span<const v1::Envelope> envelopes);
  // The same for typed messages, each in a new envelope (as publish() makes one): one round
  // trip, all or none. Throws std::invalid_argument at the call for a message lacking
  // required fields.
  template <class T>
    requires(std::derived_from<T, google::protobuf::Message> && !std::same_as<T, v1::Envelope>)
  boost::asio::awaitable<std::vector<std::string>> publish_batch(std::string_view topic,
                                                                 std::span<const T> messages) {
    std::vector<v1::Envelope> envelopes;
    envelopes.reserve(messages.size());
    for (const T& m : messages) envelopes.push_back(make_envelope(m, envelope_options{}));
    return publish_messages(topic, std::move(envelopes));
  }

  // The operations above for any completion token (use_awaitable by default, as_tuple,
  // use_future, deferred, a callback): completion void(error_code, T) where the coroutine
  // forms throw (detail/async_op.hpp). Arguments are copied when called.
  // Cancellation (terminal only; partial and total are ignored): a publish not yet written is
  // withdrawn (operation_aborted, nothing added); one already written completes with
  // errc::publish_indeterminate at once (it may still be added: retry with an idempotency
  // key).
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish(std::string_view topic, const google::protobuf::Message& message,
                     Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish(topic, message),
                                        std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish(std::string_view topic, const google::protobuf::Message& message,
                     const envelope_options& options, Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish(topic, message, options),
                                        std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish_envelope(std::string_view topic, v1::Envelope envelope, Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish_envelope(topic, std::move(envelope)),
                                        std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish_envelope_checked(std::string_view topic, v1::Envelope envelope,
                                      Token&& token = {}) {
    return streamq::detail::start_async(
        executor(), publish_envelope_checked(topic, std::move(envelope)), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_publish_batch(std::string_view topic, std::span<const v1::Envelope> envelopes,
                           Token&& token = {}) {
    return streamq::detail::start_async(executor(), publish_batch(topic, envelopes),
                                        std::forward<Token>(token));
  }

  [[nodiscard]] publisher_stats stats() const noexcept;
  // Per topic published to (valid names only), in name order. Safe from any thread.
  [[nodiscard]] std::vector<publisher_topic_stats> topic_stats() const;
  // The configuration, with producer_id filled in when it was left empty.
  [[nodiscard]] const publisher_config& config() const noexcept { return config_; }
  [[nodiscard]] const std::string& producer_id() const noexcept { return config_.producer_id; }
  // The client it publishes through.
  [[nodiscard]] client& get_client() const noexcept { return client_; }

 private:
  // partitioned_publisher numbers, checks and counts its publishes here (prepare, the
  // counters), while it sends them with its own script: a partition's write checks the count
  // it was routed with (docs/partitions.md, "Growing a topic").
  friend class detail::partitioned_publisher_impl;

  // One publish of a v1::Envelope or of a typed message's detail::envelope_draft (defined and
  // used in publisher.cpp only).
  template <class Source>
  boost::asio::awaitable<std::string> send(std::string topic, Source source);
  boost::asio::awaitable<publish_receipt> send_checked(std::string topic, v1::Envelope envelope);
  // The script of a keyed publish (idempotency key check and XADD), counted.
  boost::asio::awaitable<publish_receipt> send_keyed(const topic_keys& keys,
                                                     std::string_view idempotency_key,
                                                     const entry_fields& fields);
  boost::asio::awaitable<std::vector<std::string>> send_batch(std::string topic,
                                                              std::vector<v1::Envelope> batch);
  boost::asio::awaitable<std::vector<std::string>> publish_messages(
      std::string_view topic, std::vector<v1::Envelope> envelopes);
  boost::asio::any_io_executor executor() const;
  // The trace of a publish to `topic` (publish/publish_tracing.hpp).
  detail::publish_spans spans_for(std::string_view topic) const;
  // Checks `envelope` (strings, size; throws before anything is written) and numbers it.
  entry_fields prepare(v1::Envelope& envelope);
  entry_fields prepare(detail::envelope_draft& draft);
  // Counts a request that failed (publish_indeterminate if it was written) and throws.
  [[noreturn]] void fail_sent(error_code ec);
  // The keys of `topic`, built once per topic (every publish needs the stream key), when its
  // name is checked (errc::invalid_name).
  std::shared_ptr<const topic_keys> keys_of(std::string_view topic);
  // The per-topic counters of `topic` (topic_stats()), made on first use; null for an invalid
  // name (its publish fails and no series is made for it).
  std::shared_ptr<detail::publish_counters> counters_of(std::string_view topic);

  client& client_;
  publisher_config config_;
  std::atomic<std::uint64_t> next_sequence_{1};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> indeterminate_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  mutable std::mutex keys_mutex_;  // publish() may be called from several threads
  std::map<std::string, std::shared_ptr<const topic_keys>, std::less<>> keys_;
  std::map<std::string, std::shared_ptr<detail::publish_counters>, std::less<>> counters_;
};

}  // namespace streamq::streams

#pragma once
// Publishing typed messages to topics. A publisher is a thin, stateless-per-call layer over
// the client's shared pipelined connection: any number of coroutines may publish at once and
// their XADDs share writes.

#include <streamq/client.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams {

struct publisher_config {
  // Messages over these limits are refused before anything is written, so an oversized
  // message can never break the shared pipeline (Redis closes connections that send a bulk
  // over proto-max-bulk-len). Consumers must use the same limits.
  entry_limits limits;
  // How long an idempotency key (envelope_options) suppresses another publish with the same
  // key on the same topic. Covers producer retries after errc::publish_indeterminate.
  std::chrono::milliseconds dedup_window{std::chrono::hours(24)};
};

struct publisher_stats {
  std::uint64_t published = 0;      // entries confirmed by Redis
  std::uint64_t failed = 0;         // refused before writing, or refused by Redis
  std::uint64_t indeterminate = 0;  // written, reply lost (publish_indeterminate)
  std::uint64_t duplicates = 0;     // suppressed: the idempotency key was already published
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
  //  - errc::invalid_name for a bad topic name, errc::message_too_large over the limits
  //    (both before anything is written);
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

  // Publishes an envelope as it is (attempt, headers, IDs kept; a zero sequence is filled).
  // With an idempotency key, the duplicate check and the XADD are one Lua script: any number
  // of concurrent publishers of one key add exactly one entry, and all get its ID.
  boost::asio::awaitable<std::string> publish_envelope(std::string_view topic,
                                                       v1::Envelope envelope);
  // As publish_envelope, also telling whether the entry was a suppressed duplicate.
  boost::asio::awaitable<publish_receipt> publish_envelope_checked(std::string_view topic,
                                                                   v1::Envelope envelope);

  // Publishes all envelopes in one round trip, atomically (MULTI/EXEC): either every entry
  // is added, in order, or none (the errors of publish, for the first failure). The
  // envelopes are read when the awaitable runs: they must outlive it (the topic is copied).
  boost::asio::awaitable<std::vector<std::string>> publish_batch(
      std::string_view topic, std::span<const v1::Envelope> envelopes);

  [[nodiscard]] publisher_stats stats() const noexcept;
  [[nodiscard]] const publisher_config& config() const noexcept { return config_; }

 private:
  boost::asio::awaitable<std::string> send(std::string topic, v1::Envelope envelope);
  boost::asio::awaitable<publish_receipt> send_checked(std::string topic, v1::Envelope envelope);
  boost::asio::awaitable<std::vector<std::string>> send_batch(
      std::string topic, std::span<const v1::Envelope> envelopes);
  void prepare(v1::Envelope& envelope);
  // The keys of `topic`, built once per topic (every publish needs the stream key).
  std::shared_ptr<const topic_keys> keys_of(std::string_view topic);

  client& client_;
  publisher_config config_;
  std::atomic<std::uint64_t> next_sequence_{1};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> indeterminate_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  std::mutex keys_mutex_;  // publish() may be called from several threads
  std::map<std::string, std::shared_ptr<const topic_keys>, std::less<>> keys_;
};

}  // namespace streamq::streams

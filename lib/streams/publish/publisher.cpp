#include <streamq/redis/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/publisher.hpp>

#include "commands/publish_requests.hpp"
#include "commands/send_command.hpp"
#include "publish/envelope_writer.hpp"
#include "publish/publish_counters.hpp"
#include "publish/publish_tracing.hpp"
#include "publish/publishing.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <stdexcept>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void fail(error_code ec, const std::string& what = {}) {
  throw boost::system::system_error(ec, what);
}

// A lost reply after writing means "maybe published", which the caller must know.
error_code publish_error(error_code ec) {
  if (ec == redis::client_errc::outcome_unknown) return errc::publish_indeterminate;
  return ec;
}

// The idempotency key of what send() publishes, once prepared into `fields`.
std::string_view idempotency_key_of(const v1::Envelope& envelope, const entry_fields&) {
  return envelope.idempotency_key();
}
std::string_view idempotency_key_of(const detail::envelope_draft& draft,
                                    const entry_fields& fields) {
  return draft.idempotency_key(fields[3]);
}

// `op` (one publish call of `messages` messages) counted into its topic's counters with its
// duration; `counters` null (an invalid topic name): not counted.
template <class T>
asio::awaitable<T> counted(std::shared_ptr<detail::publish_counters> counters,
                           std::uint64_t messages, asio::awaitable<T> op) {
  if (!counters) co_return co_await std::move(op);
  const auto started = std::chrono::steady_clock::now();
  try {
    T result = co_await std::move(op);
    counters->succeeded(messages, std::chrono::steady_clock::now() - started);
    co_return result;
  } catch (const boost::system::system_error& e) {
    counters->failed_with(e.code(), messages, std::chrono::steady_clock::now() - started);
    throw;
  }
}

}  // namespace

publisher::publisher(client& c, publisher_config config) : client_(c), config_(std::move(config)) {
  if (config_.limits.max_payload_bytes == 0)
    throw std::invalid_argument(
        "streamq publisher_config.limits.max_payload_bytes: must be positive");
  if (config_.dedup_window.count() <= 0)
    throw std::invalid_argument("streamq publisher_config.dedup_window: must be positive");
  if (config_.producer_id.empty()) config_.producer_id = new_producer_id();
  if (auto why = producer_id_problem(config_.producer_id); !why.empty())
    throw std::invalid_argument("streamq publisher_config.producer_id: " + why);
  if (auto why = key_prefix_problem(config_.key_prefix); !why.empty())
    throw std::invalid_argument("streamq publisher_config.key_prefix: " + why);
}

publisher_stats publisher::stats() const noexcept {
  return {published_.load(), failed_.load(), indeterminate_.load(), duplicates_.load()};
}

std::vector<publisher_topic_stats> publisher::topic_stats() const {
  const std::lock_guard lock(keys_mutex_);
  std::vector<publisher_topic_stats> out;
  out.reserve(counters_.size());
  for (const auto& [topic, counters] : counters_) out.push_back(counters->snapshot(topic));
  return out;
}

std::shared_ptr<detail::publish_counters> publisher::counters_of(std::string_view topic) {
  const std::lock_guard lock(keys_mutex_);
  auto it = counters_.find(topic);
  if (it == counters_.end()) {
    if (!is_valid_topic_name(topic)) return nullptr;
    it = counters_.emplace(std::string(topic), std::make_shared<detail::publish_counters>()).first;
  }
  return it->second;
}

std::shared_ptr<const topic_keys> publisher::keys_of(std::string_view topic) {
  const std::lock_guard lock(keys_mutex_);
  auto it = keys_.find(topic);
  if (it == keys_.end()) {
    // Checked once per topic: only valid names are kept.
    if (!is_valid_topic_name(topic)) fail(errc::invalid_name, std::string(topic));
    it = keys_.emplace(std::string(topic), std::make_shared<const topic_keys>(topic, config_.key_prefix))
             .first;
  }
  return it->second;
}

entry_fields publisher::prepare(v1::Envelope& envelope) {
  std::string what;
  bool unnumbered = false;
  if (auto ec = detail::check_for_publish(envelope, config_.producer_id, config_.limits, what,
                                          unnumbered)) {
    ++failed_;
    fail(ec, what);
  }
  // Numbered only once it passed: a refused publish leaves no gap in the sequence.
  if (unnumbered) envelope.set_sequence(next_sequence_.fetch_add(1));
  return detail::encode_checked_entry(envelope);
}

// The same for a typed message, written and checked at the call (envelope_draft): the
// refusal found there is raised and counted here, where prepare(v1::Envelope&) finds it.
entry_fields publisher::prepare(detail::envelope_draft& draft) {
  if (const auto ec = draft.refusal()) {
    ++failed_;
    fail(ec, draft.what());
  }
  return draft.number(next_sequence_.fetch_add(1));
}

void publisher::fail_sent(error_code ec) {
  ec = publish_error(ec);
  ++(ec == errc::publish_indeterminate ? indeterminate_ : failed_);
  fail(ec);
}

// The message is read here, at the call: its envelope is written now, without a v1::Envelope
// (make_envelope() and encode_entry() would build one and serialize twice), and checked as
// make_envelope() + prepare() would; what they would throw at the call is thrown here, the
// rest when the publish runs.
asio::awaitable<std::string> publisher::publish(std::string_view topic,
                                                const google::protobuf::Message& message,
                                                const envelope_options& options) {
  // The trace headers are written with the draft (the tracestate is the parent's), its
  // traceparent once the publish span, which names the draft's message ID, has started.
  detail::publish_spans spans = spans_for(topic);
  std::optional<trace_context> parent;
  if (config_.inject_trace_context || config_.tracing) parent = spans.parent(options);
  detail::envelope_draft draft(message, options, config_.producer_id, config_.limits,
                               config_.inject_trace_context,
                               parent ? std::string_view(parent->tracestate) : std::string_view());
  if (auto context = spans.begin(parent, draft.message_id())) draft.set_trace(*context);
  return detail::traced(std::move(spans),
                        counted(counters_of(topic), 1, send(std::string(topic), std::move(draft))));
}

asio::awaitable<std::string> publisher::publish(std::string_view topic,
                                                const google::protobuf::Message& message) {
  static const envelope_options none{};
  return publish(topic, message, none);
}

detail::publish_spans publisher::spans_for(std::string_view topic) const {
  return detail::publish_spans(config_.tracing.get(), config_.inject_trace_context, topic);
}

// The public calls are plain functions that copy the topic name into the coroutine they
// return: awaitables start lazily, and a co_spawn'ed publish may start after the caller's
// string is gone.
asio::awaitable<std::string> publisher::publish_envelope(std::string_view topic,
                                                         v1::Envelope envelope) {
  // The envelope's own traceparent is its publish span's parent: a relayed or requeued
  // message keeps its trace.
  detail::publish_spans spans = spans_for(topic);
  spans.begin(envelope);
  return detail::traced(std::move(spans),
                        counted(counters_of(topic), 1, send(std::string(topic), std::move(envelope))));
}

asio::awaitable<publish_receipt> publisher::publish_envelope_checked(std::string_view topic,
                                                                     v1::Envelope envelope) {
  detail::publish_spans spans = spans_for(topic);
  spans.begin(envelope);
  return detail::traced(std::move(spans), counted(counters_of(topic), 1,
                                                  send_checked(std::string(topic),
                                                               std::move(envelope))));
}

asio::awaitable<std::vector<std::string>> publisher::publish_batch(
    std::string_view topic, std::span<const v1::Envelope> envelopes) {
  // Copied now: the awaitable may run after the caller's envelopes are gone.
  return publish_messages(topic, std::vector<v1::Envelope>(envelopes.begin(), envelopes.end()));
}

asio::awaitable<std::vector<std::string>> publisher::publish_messages(
    std::string_view topic, std::vector<v1::Envelope> envelopes) {
  const std::uint64_t messages = envelopes.size();
  detail::publish_spans spans = spans_for(topic);
  for (auto& envelope : envelopes) spans.begin(envelope);
  return detail::traced(std::move(spans),
                        counted(counters_of(topic), messages,
                                send_batch(std::string(topic), std::move(envelopes))));
}

asio::any_io_executor publisher::executor() const {
  return client_.get_executor();
}

// `Source`: a v1::Envelope (publish_envelope) or a detail::envelope_draft (publish).
template <class Source>
asio::awaitable<std::string> publisher::send(std::string topic, Source source) {
  const auto keys = keys_of(topic);
  const auto fields = prepare(source);
  if (const std::string_view key = idempotency_key_of(source, fields); !key.empty()) {
    auto receipt = co_await send_keyed(*keys, key, fields);
    co_return std::move(receipt.id);
  }
  // The common case without a key, kept free of the script machinery: one XADD, its reply
  // read from the parser's nodes.
  resp::request req;
  detail::build_xadd(req, *keys, fields);
  detail::xadd_reply reply;
  auto [ec] = co_await client_.async_exec(req, reply, use_tuple);
  if (ec) fail_sent(ec);
  if (const auto& result = reply.result(); !result) {
    ++failed_;
    fail(result.ec, result.diagnostic);
  }
  ++published_;
  co_return std::move(reply.id());
}

asio::awaitable<publish_receipt> publisher::send_checked(std::string topic, v1::Envelope envelope) {
  if (envelope.idempotency_key().empty()) {
    std::string id = co_await send(std::move(topic), std::move(envelope));
    co_return publish_receipt{std::move(id), false};
  }
  const auto keys = keys_of(topic);
  const auto fields = prepare(envelope);
  co_return co_await send_keyed(*keys, envelope.idempotency_key(), fields);
}

asio::awaitable<publish_receipt> publisher::send_keyed(const topic_keys& keys,
                                                       std::string_view idempotency_key,
                                                       const entry_fields& fields) {
  detail::dedup_result added;
  const auto result = co_await detail::send_script(
      client_,
      [&](resp::request& req, bool by_source) {
        detail::build_dedup_publish(req, by_source, keys, idempotency_key, config_.dedup_window,
                                    fields);
      },
      [&](const resp::value& reply) { return detail::decode_dedup_publish(reply, added); });
  if (result.transport) fail_sent(result.transport);
  if (!result.reply) {
    // A reply of another shape came after the script ran: not counted as a failure.
    if (result.reply.ec != errc::malformed_entry) ++failed_;
    fail(result.reply.ec, result.reply.diagnostic);
  }
  ++(added.duplicate ? duplicates_ : published_);
  if (added.duplicate) detail::publish_counters::add(counters_of(keys.topic())->duplicates, 1);
  co_return publish_receipt{std::move(added.id), added.duplicate};
}

asio::awaitable<std::vector<std::string>> publisher::send_batch(std::string topic,
                                                                std::vector<v1::Envelope> batch) {
  const auto keys = keys_of(topic);
  if (batch.empty()) co_return std::vector<std::string>{};
  // Every envelope is checked before any is numbered or sent: one bad envelope refuses all.
  std::vector<bool> unnumbered(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::string what;
    bool needs_number = false;
    if (auto ec = detail::check_for_publish(batch[i], config_.producer_id, config_.limits, what,
                                            needs_number)) {
      failed_ += batch.size();
      fail(ec, "batch entry " + std::to_string(i) + ": " + what);
    }
    unnumbered[i] = needs_number;
  }
  const auto count =
      static_cast<std::uint64_t>(std::count(unnumbered.begin(), unnumbered.end(), true));
  std::uint64_t sequence = next_sequence_.fetch_add(count);
  std::vector<std::string> dedup_keys;  // of the keyed entries, in order
  std::vector<std::string> entries;     // per entry: keyed flag, envelope
  dedup_keys.reserve(batch.size());
  entries.reserve(batch.size() * 2);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (unnumbered[i]) batch[i].set_sequence(sequence++);
    const bool keyed = !batch[i].idempotency_key().empty();
    if (keyed) dedup_keys.push_back(keys->dedup(batch[i].idempotency_key()));
    entries.emplace_back(keyed ? "1" : "0");
    entries.push_back(std::move(detail::encode_checked_entry(batch[i])[3]));
  }
  detail::batch_result added;
  const auto result = co_await detail::send_script(
      client_,
      [&](resp::request& req, bool by_source) {
        detail::build_publish_batch(req, by_source, *keys, dedup_keys, config_.dedup_window,
                                    entries);
      },
      [&](const resp::value& reply) {
        return detail::decode_publish_batch(reply, batch.size(), added);
      });
  if (result.transport) {  // maybe sent
    const error_code ec = publish_error(result.transport);
    (ec == errc::publish_indeterminate ? indeterminate_ : failed_) += batch.size();
    fail(ec);
  }
  if (!result.reply) {
    // Refused by Redis before the script's first write: nothing was added. A reply of another
    // shape came after it ran: not counted as failures.
    if (result.reply.ec != errc::malformed_entry) failed_ += batch.size();
    fail(result.reply.ec, result.reply.diagnostic);
  }
  duplicates_ += added.duplicates;
  published_ += batch.size() - added.duplicates;
  if (added.duplicates > 0)
    detail::publish_counters::add(counters_of(keys->topic())->duplicates, added.duplicates);
  co_return std::move(added.ids);
}

// partitioned_publisher sends an envelope to a topic that is not partitioned through send().
template asio::awaitable<std::string> publisher::send<v1::Envelope>(std::string, v1::Envelope);

}  // namespace streamq::streams

#include <streamq/redis/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/publisher.hpp>

#include "scheduler_scripts.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

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

}  // namespace

publisher::publisher(client& c, publisher_config config) : client_(c), config_(config) {
  if (config_.limits.max_payload_bytes == 0)
    throw std::invalid_argument(
        "streamq publisher_config.limits.max_payload_bytes: must be positive");
  if (config_.dedup_window.count() <= 0)
    throw std::invalid_argument("streamq publisher_config.dedup_window: must be positive");
}

publisher_stats publisher::stats() const noexcept {
  return {published_.load(), failed_.load(), indeterminate_.load(), duplicates_.load()};
}

std::shared_ptr<const topic_keys> publisher::keys_of(std::string_view topic) {
  if (!is_valid_name(topic)) fail(errc::invalid_name, std::string(topic));
  const std::lock_guard lock(keys_mutex_);
  auto it = keys_.find(topic);
  if (it == keys_.end())
    it = keys_.emplace(std::string(topic), std::make_shared<const topic_keys>(topic)).first;
  return it->second;
}

void publisher::prepare(v1::Envelope& envelope) {
  if (envelope.sequence() == 0) envelope.set_sequence(next_sequence_.fetch_add(1));
  if (auto ec = check_limits(envelope, config_.limits)) {
    ++failed_;
    fail(ec, "message of " + std::to_string(envelope.payload().size()) + " payload bytes");
  }
}

asio::awaitable<std::string> publisher::publish(std::string_view topic,
                                                const google::protobuf::Message& message,
                                                const envelope_options& options) {
  return publish_envelope(topic, make_envelope(message, options));
}

asio::awaitable<std::string> publisher::publish(std::string_view topic,
                                                const google::protobuf::Message& message) {
  return publish_envelope(topic, make_envelope(message, envelope_options{}));
}

// The public calls are plain functions that copy the topic name into the coroutine they
// return: awaitables start lazily, and a co_spawn'ed publish may start after the caller's
// string is gone.
asio::awaitable<std::string> publisher::publish_envelope(std::string_view topic,
                                                         v1::Envelope envelope) {
  return send(std::string(topic), std::move(envelope));
}

asio::awaitable<publish_receipt> publisher::publish_envelope_checked(std::string_view topic,
                                                                     v1::Envelope envelope) {
  return send_checked(std::string(topic), std::move(envelope));
}

asio::awaitable<std::vector<std::string>> publisher::publish_batch(
    std::string_view topic, std::span<const v1::Envelope> envelopes) {
  return send_batch(std::string(topic), envelopes);
}

asio::awaitable<std::string> publisher::send(std::string topic, v1::Envelope envelope) {
  if (!envelope.idempotency_key().empty()) {
    auto receipt = co_await send_checked(std::move(topic), std::move(envelope));
    co_return std::move(receipt.id);
  }
  // The common case without a key, kept free of the script machinery: one XADD.
  const auto keys = keys_of(topic);
  prepare(envelope);
  resp::request req;
  req.push("XADD", resp::key{keys->stream()}, "*", encode_entry(envelope));
  resp::response<std::string> id;
  auto [ec] = co_await client_.async_exec(req, id, use_tuple);
  if (ec) {
    ec = publish_error(ec);
    ++(ec == errc::publish_indeterminate ? indeterminate_ : failed_);
    fail(ec);
  }
  if (!id.get<0>().has_value()) {
    ++failed_;
    fail(id.get<0>().error(), id.get<0>().diagnostic());
  }
  ++published_;
  co_return std::move(id.get<0>()).value();
}

asio::awaitable<publish_receipt> publisher::send_checked(std::string topic, v1::Envelope envelope) {
  const auto keys = keys_of(topic);
  prepare(envelope);
  const bool keyed = !envelope.idempotency_key().empty();
  resp::response<resp::value> reply;
  error_code ec;
  if (keyed) {
    auto build = [&](resp::request& req, bool by_source) {
      detail::dedup_publish_script().push(req, by_source, 3, resp::key{keys->stream()},
                                          resp::key{keys->dedup(envelope.idempotency_key())},
                                          resp::key{keys->meta()}, config_.dedup_window.count(),
                                          encode_entry(envelope));
    };
    ec = co_await detail::exec_script(client_, reply, build);
  } else {
    resp::request req;
    req.push("XADD", resp::key{keys->stream()}, "*", encode_entry(envelope));
    std::tie(ec) = co_await client_.async_exec(req, reply, use_tuple);
  }
  if (ec) {
    ec = publish_error(ec);
    ++(ec == errc::publish_indeterminate ? indeterminate_ : failed_);
    fail(ec);
  }
  auto& result = reply.get<0>();
  if (!result.has_value()) {
    ++failed_;
    fail(result.error(), result.diagnostic());
  }
  publish_receipt receipt;
  if (!keyed) {
    receipt.id = std::move(result.value().text);
  } else {
    auto& parts = result.value().elements;
    if (parts.size() != 2) fail(resp::adapt_errc::size_mismatch, "dedup publish reply");
    receipt.duplicate = parts[0].text == "0";
    receipt.id = std::move(parts[1].text);
  }
  ++(receipt.duplicate ? duplicates_ : published_);
  co_return receipt;
}

asio::awaitable<std::vector<std::string>> publisher::send_batch(
    std::string topic, std::span<const v1::Envelope> envelopes) {
  const auto keys = keys_of(topic);
  if (envelopes.empty()) co_return std::vector<std::string>{};
  resp::request req;
  req.push("MULTI");
  for (v1::Envelope envelope : envelopes) {  // a copy: the sequence may be filled in
    prepare(envelope);
    if (envelope.idempotency_key().empty()) {
      req.push("XADD", resp::key{keys->stream()}, "*", encode_entry(envelope));
    } else {
      // EVAL, not EVALSHA: a NOSCRIPT inside EXEC could not be retried on its own.
      detail::dedup_publish_script().push(req, true, 3, resp::key{keys->stream()},
                                          resp::key{keys->dedup(envelope.idempotency_key())},
                                          resp::key{keys->meta()}, config_.dedup_window.count(),
                                          encode_entry(envelope));
    }
  }
  req.push("EXEC");
  resp::generic_response replies;
  auto [ec] = co_await client_.async_exec(req, replies, use_tuple);
  if (ec) {
    ec = publish_error(ec);
    (ec == errc::publish_indeterminate ? indeterminate_ : failed_) += envelopes.size();
    fail(ec);
  }
  // A command refused while queueing (e.g. OOM) aborts the whole transaction: report it.
  for (const auto& reply : replies.values())
    if (reply.is_error()) {
      failed_ += envelopes.size();
      fail(resp::classify_server_error(reply.text), reply.text);
    }
  const resp::value& exec = replies.values().back();
  if (exec.is_null() || exec.elements.size() != envelopes.size()) {
    failed_ += envelopes.size();
    fail(resp::server_errc::execabort, "transaction discarded");
  }
  std::vector<std::string> ids;
  ids.reserve(envelopes.size());
  std::size_t duplicates = 0;
  for (const auto& element : exec.elements) {
    if (element.is_error()) {  // e.g. OOM inside the transaction; never hide one
      failed_ += envelopes.size();
      fail(resp::classify_server_error(element.text), element.text);
    }
    if (element.elements.size() == 2) {  // a deduplicated publish: {added, id}
      duplicates += element.elements[0].text == "0" ? 1 : 0;
      ids.push_back(element.elements[1].text);
    } else {
      ids.push_back(element.text);
    }
  }
  duplicates_ += duplicates;
  published_ += envelopes.size() - duplicates;
  co_return ids;
}

}  // namespace streamq::streams

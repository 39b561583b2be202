// streams::durable_publisher: its configuration's checks, and the public class, which forwards
// to durable_publisher_impl (durable_publisher_impl.hpp).
#include <streamq/streams/durable_publisher.hpp>

#include "publish/durable_publisher_impl.hpp"
#include "publish/publishing.hpp"

#include <stdexcept>
#include <string>

namespace streamq::streams {

void durability_config::validate() const {
  auto invalid = [](const std::string& field, const std::string& why) {
    throw std::invalid_argument("streamq durability_config." + field + ": " + why);
  };
  if (replicas == 0 && confirm != confirmation::fsynced)
    invalid("replicas", "must be at least 1 (else use publisher, or confirmation::fsynced)");
  if (timeout.count() <= 0) invalid("timeout", "must be positive");
  if (request_timeout.count() <= 0) invalid("request_timeout", "must be positive");
  if (max_group == 0) invalid("max_group", "must be positive");
  if (limits.max_payload_bytes == 0) invalid("limits.max_payload_bytes", "must be positive");
  if (dedup_window.count() <= 0) invalid("dedup_window", "must be positive");
  if (!producer_id.empty())
    if (auto why = producer_id_problem(producer_id); !why.empty()) invalid("producer_id", why);
  if (auto why = key_prefix_problem(key_prefix); !why.empty()) invalid("key_prefix", why);
}

durable_publisher::durable_publisher(client& c, durability_config config)
    : impl_(std::make_unique<detail::durable_publisher_impl>(c, std::move(config))) {}

durable_publisher::~durable_publisher() = default;

boost::asio::any_io_executor durable_publisher::executor() const {
  return impl_->executor();
}

durable_publisher_stats durable_publisher::stats() const noexcept {
  return impl_->stats();
}

const std::string& durable_publisher::producer_id() const noexcept {
  return impl_->producer_id();
}

boost::asio::awaitable<void> durable_publisher::run() {
  return impl_->run();
}

// The envelope is made at the call; the coroutine takes copies of everything.
boost::asio::awaitable<std::string> durable_publisher::publish(
    std::string_view topic, const google::protobuf::Message& message) {
  return impl_->submit(std::string(topic), make_envelope(message, envelope_options{}));
}

boost::asio::awaitable<std::string> durable_publisher::publish(
    std::string_view topic, const google::protobuf::Message& message,
    const envelope_options& options) {
  return impl_->submit(std::string(topic), make_envelope(message, options));
}

}  // namespace streamq::streams

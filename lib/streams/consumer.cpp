#include <streamq/streams/consumer.hpp>

#include "consumer_impl.hpp"

#include <stdexcept>

namespace streamq::streams {

namespace {
[[noreturn]] void invalid(std::string_view field, std::string_view why) {
  throw std::invalid_argument("streamq consumer_config." + std::string(field) + ": " +
                              std::string(why));
}
}  // namespace

std::uint64_t consumer_stats::handler_latency_quantile_us(double q) const noexcept {
  std::uint64_t total = 0;
  for (auto n : handler_latency_log2_us) total += n;
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < handler_latency_log2_us.size(); ++b) {
    seen += handler_latency_log2_us[b];
    if (seen >= rank) return std::uint64_t{2} << b;
  }
  return std::uint64_t{2} << (handler_latency_log2_us.size() - 1);
}

void consumer_config::validate() const {
  if (!is_valid_name(group)) invalid("group", "'" + group + "' is not a valid name");
  if (!is_valid_name(name)) invalid("name", "'" + name + "' is not a valid name");
  if (concurrency == 0) invalid("concurrency", "must be positive");
  if (max_batch == 0) invalid("max_batch", "must be positive");
  if (block.count() <= 0) invalid("block", "must be positive");
  if (retry.max_attempts == 0) invalid("retry.max_attempts", "must be positive");
  if (retry.base.count() <= 0) invalid("retry.base", "must be positive");
  if (retry.cap < retry.base) invalid("retry.cap", "must be >= retry.base");
  if (!(retry.jitter >= 0.0 && retry.jitter <= 1.0)) invalid("retry.jitter", "must be in [0, 1]");
  if (claim_idle.count() <= 0) invalid("claim_idle", "must be positive");
  if (claim_interval.count() <= 0) invalid("claim_interval", "must be positive");
  if (max_deliveries == 0) invalid("max_deliveries", "must be positive");
  if (remove_idle_consumers_after.count() < 0)
    invalid("remove_idle_consumers_after", "must be >= 0");
  if (handler_timeout.count() < 0) invalid("handler_timeout", "must be >= 0 (0: no limit)");
  if (shutdown_grace.count() < 0) invalid("shutdown_grace", "must be >= 0");
}

consumer::consumer(client& c, consumer_config config)
    : impl_(std::make_unique<detail::consumer_impl>(c, std::move(config))) {}

consumer::~consumer() = default;

void consumer::subscribe_raw(std::string_view topic, std::string type_name, raw_handler handler) {
  impl_->subscribe(topic, std::move(type_name), subscription_options{}, std::move(handler));
}

void consumer::subscribe_raw(std::string_view topic, std::string type_name,
                             const subscription_options& options, raw_handler handler) {
  if (options.once && options.remember_for.count() <= 0)
    throw std::invalid_argument("streamq subscription_options.remember_for: must be positive");
  impl_->subscribe(topic, std::move(type_name), options, std::move(handler));
}

boost::asio::awaitable<void> consumer::run() {
  return impl_->run();
}

consumer_stats consumer::stats() const noexcept {
  return impl_->stats_;
}

consumer_health consumer::health() const noexcept {
  return impl_->health();
}

boost::asio::awaitable<std::vector<topic_status>> consumer::inspect() {
  return impl_->inspect();
}
const consumer_config& consumer::config() const noexcept {
  return impl_->config_;
}
const std::string& consumer::name() const noexcept {
  return impl_->config_.name;
}

}  // namespace streamq::streams

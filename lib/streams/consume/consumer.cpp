#include <streamq/streams/consumer.hpp>

#include "consume/consumer_impl.hpp"

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

namespace {
// Durations beyond this are refused: deadlines are computed as now + duration, which overflows
// for values near milliseconds::max(). A year is far past any sensible setting.
constexpr std::chrono::milliseconds longest{std::chrono::hours(24 * 366)};

void check_duration(std::string_view field, std::chrono::milliseconds value, bool positive) {
  if (positive ? value.count() <= 0 : value.count() < 0)
    invalid(field, positive ? "must be positive" : "must be >= 0");
  if (value > longest) invalid(field, "must be at most a year");
}
}  // namespace

namespace {
void check_retry(std::string_view prefix, const retry_policy& retry) {
  const std::string p(prefix);
  if (retry.max_attempts == 0) invalid(p + ".max_attempts", "must be positive");
  check_duration(p + ".base", retry.base, true);
  check_duration(p + ".cap", retry.cap, true);
  if (retry.cap < retry.base) invalid(p + ".cap", "must be >= " + p + ".base");
  if (!(retry.jitter >= 0.0 && retry.jitter <= 1.0)) invalid(p + ".jitter", "must be in [0, 1]");
}
}  // namespace

void consumer_config::validate() const {
  if (!is_valid_name(group)) invalid("group", "'" + group + "' is not a valid name");
  if (!is_valid_name(name)) invalid("name", "'" + name + "' is not a valid name");
  if (concurrency == 0) invalid("concurrency", "must be positive");
  if (auto why = key_prefix_problem(key_prefix); !why.empty()) invalid("key_prefix", why);
  if (max_batch == 0) invalid("max_batch", "must be positive");
  check_duration("block", block, true);
  check_retry("retry", retry);
  check_duration("claim_idle", claim_idle, true);
  check_duration("claim_interval", claim_interval, true);
  check_duration("retry_poll_interval", retry_poll_interval, true);
  if (max_deliveries == 0) invalid("max_deliveries", "must be positive");
  check_duration("remove_idle_consumers_after", remove_idle_consumers_after, false);
  check_duration("handler_timeout", handler_timeout, false);
  check_duration("shutdown_grace", shutdown_grace, false);
}

consumer::consumer(client& c, consumer_config config)
    : impl_(std::make_unique<detail::consumer_impl>(c, std::move(config))) {}

consumer::~consumer() = default;

void consumer::subscribe_erased(std::string_view topic, std::string type_name,
                                const subscription_options& options, raw_handler handler) {
  if ((options.once || options.effectively_once) && options.remember_for.count() <= 0)
    throw std::invalid_argument("streamq subscription_options.remember_for: must be positive");
  if (options.per_key_concurrency > 0 && options.max_held_back == 0)
    throw std::invalid_argument("streamq subscription_options.max_held_back: must be positive");
  if (options.effectively_once &&
      (options.outbox_poll.count() <= 0 || options.outbox_poll > std::chrono::hours(24)))
    throw std::invalid_argument(
        "streamq subscription_options.outbox_poll: must lie within (0, 24 h]");
  if (options.retry) {
    try {
      check_retry("retry", *options.retry);
    } catch (const std::invalid_argument& e) {  // named as the subscription's field
      std::string what = e.what();
      what.replace(0, std::string_view("streamq consumer_config").size(),
                   "streamq subscription_options");
      throw std::invalid_argument(what);
    }
  }
  impl_->subscribe(topic, std::move(type_name), options, std::move(handler));
}

boost::asio::awaitable<void> consumer::run() {
  return impl_->run();
}

void consumer::stop() noexcept {
  impl_->stop();
}

boost::asio::any_io_executor consumer::executor() const { return impl_->executor(); }

consumer_stats consumer::stats() const noexcept {
  return impl_->stats();
}

std::vector<topic_consumer_stats> consumer::topic_stats() const {
  return impl_->topic_stats();
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

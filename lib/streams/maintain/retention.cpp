// streams::topic_trimmer: its configuration's checks, and the public class, which forwards to
// trimmer_impl (trimmer_impl.hpp).
#include <streamq/streams/retention.hpp>

#include "maintain/trimmer_impl.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace streamq::streams {

namespace {

[[noreturn]] void invalid(std::string_view field, std::string_view why) {
  throw std::invalid_argument("streamq trimmer_config." + std::string(field) + ": " +
                              std::string(why));
}

}  // namespace

void trimmer_config::validate() const {
  const std::string too_long = "must be at most " + std::to_string(max_duration.count()) + " ms";
  if (topics.empty()) invalid("topics", "at least one topic is needed");
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < topics.size(); ++i) {
    const std::string field = "topics[" + std::to_string(i) + "]";
    const topic_retention& t = topics[i];
    try {
      validate_name(name_kind::topic, t.topic);
    } catch (const std::invalid_argument& e) {
      invalid(field + ".topic", e.what());
    }
    if (!seen.insert(t.topic).second)
      invalid(field + ".topic", "'" + t.topic + "' is listed twice (one policy per topic)");
    if (t.policy.max_age.count() < 0)
      invalid(field + ".policy.max_age", "must be >= 0 (0: no age limit)");
    if (t.policy.max_age > max_duration) invalid(field + ".policy.max_age", too_long);
    if (t.policy.max_length == 0 && t.policy.max_age.count() == 0)
      invalid(field + ".policy", "set max_length or max_age (a policy with neither trims nothing)");
  }
  if (auto why = key_prefix_problem(key_prefix); !why.empty()) invalid("key_prefix", why);
  if (interval.count() <= 0) invalid("interval", "must be positive");
  if (interval > max_duration) invalid("interval", too_long);
  if (trim_timeout.count() <= 0) invalid("trim_timeout", "must be positive");
  if (trim_timeout > max_duration) invalid("trim_timeout", too_long);
  if (error_report_interval.count() <= 0) invalid("error_report_interval", "must be positive");
  if (error_report_interval > max_duration) invalid("error_report_interval", too_long);
}

topic_trimmer::topic_trimmer(client& c, trimmer_config config)
    : impl_(std::make_unique<detail::trimmer_impl>(c, std::move(config))) {}

topic_trimmer::~topic_trimmer() = default;

boost::asio::any_io_executor topic_trimmer::executor() const {
  return impl_->executor();
}

trimmer_stats topic_trimmer::stats() const {
  return impl_->stats();
}

trimmer_health topic_trimmer::health() const {
  return impl_->health();
}

const trimmer_config& topic_trimmer::config() const noexcept {
  return impl_->config();
}

void topic_trimmer::stop() noexcept {
  impl_->stop();
}

boost::asio::awaitable<void> topic_trimmer::run() {
  return impl_->run();
}

}  // namespace streamq::streams

#include <streamq/deadline.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/streams/retention.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void invalid(std::string_view field, std::string_view why) {
  throw std::invalid_argument("streamq trimmer_config." + std::string(field) + ": " +
                              std::string(why));
}

// Checked between awaits: a cancellation that arrives while the coroutine runs (rather
// than waits) is only recorded in this state.
bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

// An error reply from Redis (or a reply of an unexpected shape) concerns one topic only;
// any other failure is the connection's and would hit the next topic as well.
bool answered_by_server(const error_code& ec) {
  // A std::error_code inside a boost one keeps its category only once converted back.
  const std::error_code std_ec = ec;
  return std_ec.category() == resp::server_category() ||
         std_ec.category() == resp::adapt_category();
}

// Clears the running flag however run() ends (no braced initialisation in coroutines:
// GCC 12 mis-compiles some of it, so this has a constructor).
class running_guard {
 public:
  explicit running_guard(bool& flag) : flag_(flag) { flag_ = true; }
  ~running_guard() { flag_ = false; }
  running_guard(const running_guard&) = delete;
  running_guard& operator=(const running_guard&) = delete;

 private:
  bool& flag_;
};

}  // namespace

void trimmer_config::validate() const {
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
    if (t.policy.max_length == 0 && t.policy.max_age.count() == 0)
      invalid(field + ".policy", "set max_length or max_age (a policy with neither trims nothing)");
  }
  if (interval.count() <= 0) invalid("interval", "must be positive");
  if (trim_timeout.count() <= 0) invalid("trim_timeout", "must be positive");
}

topic_trimmer::topic_trimmer(client& c, trimmer_config config)
    : client_(c), config_(std::move(config)) {
  config_.validate();
  keys_.reserve(config_.topics.size());
  stats_.topics.reserve(config_.topics.size());
  for (const auto& t : config_.topics) {
    keys_.emplace_back(t.topic);
    stats_.topics.emplace_back().topic = t.topic;
  }
}

trimmer_stats topic_trimmer::stats() const {
  const std::lock_guard lock(stats_mutex_);
  return stats_;
}

void topic_trimmer::record_failure(std::size_t topic, error_code ec) {
  if (ec == redis::client_errc::timeout) {
    // Timed out waiting for a connection: say why there is none.
    const auto& conn = client_.shared_connection();
    if (conn.state() != redis::connection_state::connected && conn.last_error())
      ec = conn.last_error();
  }
  const std::lock_guard lock(stats_mutex_);
  ++stats_.errors;
  ++stats_.topics[topic].errors;
  stats_.last_error = ec;
}

asio::awaitable<void> topic_trimmer::run() {
  if (running_)
    throw boost::system::system_error(asio::error::already_started, "topic_trimmer::run");
  const running_guard guard(running_);
  const auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!cancelled(cs)) {
    const auto started = std::chrono::steady_clock::now();
    const bool finished = co_await round();
    if (!finished) break;
    {
      const std::lock_guard lock(stats_mutex_);
      ++stats_.rounds;
    }
    // Checked before every wait: a cancellation that arrived while this coroutine ran is
    // only recorded, never delivered to a later wait (which would throw operation_aborted
    // at once, as throw_if_cancelled is left on).
    if (cancelled(cs)) break;
    timer.expires_at(started + config_.interval);
    co_await timer.async_wait(use_tuple);
  }
}

asio::awaitable<bool> topic_trimmer::round() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (cancelled(cs)) co_return false;
    error_code ec;
    std::uint64_t removed = 0;
    try {
      removed = co_await with_deadline(trim_topic(client_, keys_[i], config_.topics[i].policy),
                                       config_.trim_timeout);
    } catch (const boost::system::system_error& e) {
      ec = e.code();
    }
    // A failure after cancellation is the cancellation's doing (an aborted or timed-out
    // call): not an error of the trimmer.
    if (cancelled(cs)) co_return false;
    if (ec) {
      record_failure(i, ec);
      if (!answered_by_server(ec)) break;  // the next round tries again
      continue;
    }
    const std::lock_guard lock(stats_mutex_);
    stats_.topics[i].entries_trimmed += removed;
    stats_.entries_trimmed += removed;
  }
  co_return true;
}

}  // namespace streamq::streams

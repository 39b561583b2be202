#include <streamq/deadline.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <stdexcept>

namespace streamq::streams {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

// One publish waiting for its group's round trip.
struct durable_publisher::pending {
  explicit pending(const asio::any_io_executor& ex)
      : done(ex, asio::steady_timer::time_point::max()) {}
  std::string stream;
  entry_fields fields;
  asio::steady_timer done;  // cancelled when `finished`
  bool finished = false;
  error_code ec;
  std::string id;

  void finish(error_code e, std::string entry_id) {
    ec = e;
    id = std::move(entry_id);
    finished = true;
    done.cancel();
  }
};

void durability_config::validate() const {
  auto invalid = [](const std::string& field, const std::string& why) {
    throw std::invalid_argument("streamq durability_config." + field + ": " + why);
  };
  if (replicas == 0) invalid("replicas", "must be at least 1 (else use publisher)");
  if (timeout.count() <= 0) invalid("timeout", "must be positive");
  if (request_timeout.count() <= 0) invalid("request_timeout", "must be positive");
  if (max_group == 0) invalid("max_group", "must be positive");
  if (limits.max_payload_bytes == 0) invalid("limits.max_payload_bytes", "must be positive");
}

durable_publisher::durable_publisher(client& c, durability_config config)
    : client_(c), config_(config), wake_(c.get_executor()) {
  config_.validate();
}

durable_publisher::~durable_publisher() = default;

asio::awaitable<std::string> durable_publisher::publish(std::string_view topic,
                                                        const google::protobuf::Message& message) {
  return submit(std::string(topic), make_envelope(message, envelope_options{}));
}

asio::awaitable<std::string> durable_publisher::publish(std::string_view topic,
                                                        const google::protobuf::Message& message,
                                                        const envelope_options& options) {
  return submit(std::string(topic), make_envelope(message, options));
}

asio::awaitable<std::string> durable_publisher::submit(std::string topic, v1::Envelope envelope) {
  if (!is_valid_name(topic)) {
    ++stats_.failed;
    throw boost::system::system_error(errc::invalid_name, "durable publish to '" + topic + "'");
  }
  if (auto ec = check_limits(envelope, config_.limits)) {
    ++stats_.failed;
    throw boost::system::system_error(ec, "durable publish");
  }
  if (!running_) {
    ++stats_.failed;
    throw boost::system::system_error(redis::client_errc::shut_down, "durable_publisher::run()");
  }
  auto p = std::make_shared<pending>(client_.get_executor());
  p->stream = stream_of(topic);
  p->fields = encode_entry(envelope);
  queue_.push_back(p);
  wake_.cancel();
  while (!p->finished) co_await p->done.async_wait(use_tuple);
  if (p->ec) throw boost::system::system_error(p->ec, "durable publish");
  co_return std::move(p->id);
}

const std::string& durable_publisher::stream_of(const std::string& topic) {
  auto it = streams_.find(topic);
  if (it == streams_.end()) it = streams_.emplace(topic, topic_keys(topic).stream()).first;
  return it->second;
}

asio::awaitable<void> durable_publisher::run() {
  if (running_) throw std::logic_error("streamq durable_publisher: run() twice");
  running_ = true;
  co_await asio::this_coro::throw_if_cancelled(false);
  auto conn = client_.make_dedicated_connection("durable");
  auto flushing = [&]() -> asio::awaitable<void> {
    try {
      co_await flush_loop(*conn);
    } catch (...) {  // nothing in flush_loop throws but bad_alloc; end run() cleanly anyway
    }
  };
  co_await (conn->async_run(use_tuple) || flushing());
  running_ = false;
  for (auto& p : queue_) p->finish(redis::client_errc::shut_down, "");
  stats_.failed += queue_.size();
  queue_.clear();
}

asio::awaitable<void> durable_publisher::flush_loop(redis::connection& conn) {
  co_await asio::this_coro::throw_if_cancelled(false);
  wake_.expires_at(asio::steady_timer::time_point::max());
  while (true) {
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    if (queue_.empty()) {
      co_await wake_.async_wait(use_tuple);
      continue;
    }
    std::vector<std::shared_ptr<pending>> group;
    while (!queue_.empty() && group.size() < config_.max_group) {
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    resp::request req;
    for (const auto& p : group) req.push("XADD", resp::key{p->stream}, "*", p->fields);
    req.push("WAIT", config_.replicas, config_.timeout.count());
    resp::generic_response replies;
    auto [ec] = co_await with_deadline(conn.async_exec(req, replies, use_tuple),
                                       config_.timeout + config_.request_timeout);
    ++stats_.round_trips;
    if (ec) {
      // Written or maybe written (a timeout may strike after the write): indeterminate.
      const bool maybe_written =
          ec == redis::client_errc::outcome_unknown || ec == redis::client_errc::timeout;
      const error_code why = maybe_written ? error_code(errc::publish_indeterminate) : ec;
      for (auto& p : group) p->finish(why, "");
      stats_.failed += group.size();
      continue;
    }
    const auto& acks = replies.values().back();
    const bool confirmed =
        !acks.is_error() && std::strtoull(acks.text.c_str(), nullptr, 10) >= config_.replicas;
    for (std::size_t i = 0; i < group.size(); ++i) {
      const auto& reply = replies.values().at(i);
      if (reply.is_error()) {
        ++stats_.failed;
        group[i]->finish(error_code(make_error_code(resp::classify_server_error(reply.text))), "");
      } else if (!confirmed) {
        ++stats_.unconfirmed;
        group[i]->finish(errc::replication_timeout, reply.text);
      } else {
        ++stats_.confirmed;
        group[i]->finish(error_code(), reply.text);
      }
    }
  }
}

}  // namespace streamq::streams

// streams::durable_publisher's queue and run(): publishes are group-committed, one XADDs+WAIT
// round trip per group, on run()'s dedicated connection (durable_publisher_impl.hpp). A group
// whose keyed publishes meet a server without their script takes one more round trip
// (exec_script_pipeline: those publishes by source, and a WAIT again).
#include "publish/durable_publisher_impl.hpp"

#include <streamq/detail/race.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/streams/error.hpp>

#include "commands/publish_requests.hpp"
#include "commands/script.hpp"
#include "publish/publishing.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <span>
#include <stdexcept>

namespace streamq::streams::detail {
namespace asio = boost::asio;
using streamq::detail::race;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

struct durable_pending {
  explicit durable_pending(const asio::any_io_executor& ex)
      : done(ex, asio::steady_timer::time_point::max()) {}
  std::shared_ptr<const topic_keys> keys;
  v1::Envelope envelope;
  bool unnumbered = false;  // gets its sequence number when sent (in one group only)
  entry_fields fields;      // encoded when sent
  bool queued = true;       // false while in a round trip (sent, or about to be)
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

durable_publisher_impl::durable_publisher_impl(client& c, durability_config config)
    : client_(c), config_(std::move(config)), wake_(c.get_executor()) {
  config_.validate();
  if (config_.producer_id.empty()) config_.producer_id = new_producer_id();
}

durable_publisher_impl::~durable_publisher_impl() = default;

asio::awaitable<std::string> durable_publisher_impl::submit(std::string topic,
                                                            v1::Envelope envelope) {
  auto refuse = [&](error_code ec, const std::string& what) {
    ++stats_.failed;
    throw boost::system::system_error(ec, "durable publish: " + what);
  };
  if (!is_valid_name(topic)) refuse(errc::invalid_name, "topic '" + topic + "'");
  std::string what;
  bool unnumbered = false;
  if (auto ec = check_for_publish(envelope, config_.producer_id, config_.limits, what, unnumbered))
    refuse(ec, what);
  if (!running_) refuse(redis::client_errc::shut_down, "durable_publisher::run() is not running");
  // A caller cancelled already would never see the wait below end (the signal came before the
  // wait was there to receive it): nothing is queued for it.
  if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
    ++stats_.cancelled;
    throw boost::system::system_error(asio::error::operation_aborted, "durable publish");
  }
  auto p = std::make_shared<durable_pending>(client_.get_executor());
  p->keys = keys_of(topic);
  p->envelope = std::move(envelope);
  p->unnumbered = unnumbered;
  queue_.push_back(p);
  wake_.cancel();
  // Ends when finish() cancels the timer, or when the caller's cancellation does.
  co_await p->done.async_wait(use_tuple);
  if (!p->finished) {
    ++stats_.cancelled;
    if (p->queued) {
      std::erase(queue_, p);
      throw boost::system::system_error(asio::error::operation_aborted, "durable publish");
    }
    throw boost::system::system_error(errc::publish_indeterminate,
                                      "durable publish abandoned after it was sent");
  }
  if (p->ec) throw boost::system::system_error(p->ec, "durable publish");
  co_return std::move(p->id);
}

std::shared_ptr<const topic_keys> durable_publisher_impl::keys_of(const std::string& topic) {
  auto it = keys_.find(topic);
  if (it == keys_.end())
    it = keys_.emplace(topic, std::make_shared<const topic_keys>(topic, config_.key_prefix)).first;
  return it->second;
}

asio::awaitable<void> durable_publisher_impl::run() {
  if (running_) throw std::logic_error("streamq durable_publisher: run() twice");
  running_ = true;
  co_await asio::this_coro::throw_if_cancelled(false);
  auto conn = client_.make_dedicated_connection("durable");
  auto run_connection = [&]() -> asio::awaitable<void> { co_await conn->async_run(use_tuple); };
  // Nothing in flush_loop throws but bad_alloc; race() ends run() cleanly on it anyway.
  co_await race(run_connection(), flush_loop(*conn));
  running_ = false;
  for (auto& p : queue_) p->finish(redis::client_errc::shut_down, "");
  stats_.failed += queue_.size();
  queue_.clear();
}

asio::awaitable<void> durable_publisher_impl::flush_loop(redis::connection& conn) {
  co_await asio::this_coro::throw_if_cancelled(false);
  wake_.expires_at(asio::steady_timer::time_point::max());
  while (true) {
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    if (queue_.empty()) {
      co_await wake_.async_wait(use_tuple);
      continue;
    }
    std::vector<std::shared_ptr<durable_pending>> group;
    while (!queue_.empty() && group.size() < config_.max_group) {
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    for (const auto& p : group) {
      p->queued = false;
      // Numbered when first sent, in queue order: a publish that never goes out (cancelled,
      // shut down) leaves no gap in the sequence.
      if (p->unnumbered) p->envelope.set_sequence(next_sequence_++);
      p->fields = encode_checked_entry(p->envelope);
    }
    // Each publish one call, then one WAIT for all: in every round trip (a second one sends
    // the keyed publishes the server answered NOSCRIPT, by source).
    script_pipeline pipeline(group.size(), 1);
    auto build = [&](resp::request& req, std::span<const std::size_t> calls, bool by_source) {
      for (const std::size_t i : calls) {
        const durable_pending& p = *group[i];
        if (p.envelope.idempotency_key().empty())
          build_xadd(req, *p.keys, p.fields);
        else
          build_dedup_publish(req, by_source, *p.keys, p.envelope.idempotency_key(),
                              config_.dedup_window, p.fields);
      }
      build_wait(req, config_.replicas, config_.timeout);
    };
    auto send = [&](const resp::request& req,
                    resp::generic_response& replies) -> asio::awaitable<error_code> {
      auto [ec] = co_await with_deadline(conn.async_exec(req, replies, use_tuple),
                                         config_.timeout + config_.request_timeout);
      co_return ec;
    };
    const error_code ec = co_await exec_script_pipeline(pipeline, send, build);
    stats_.round_trips += pipeline.rounds() + (ec ? 1 : 0);
    complete(group, pipeline, ec);
  }
}

void durable_publisher_impl::complete(std::vector<std::shared_ptr<durable_pending>>& group,
                                      const script_pipeline& pipeline, const error_code& ec) {
  // Written or maybe written (a timeout may strike after the write): indeterminate.
  const bool maybe_written =
      ec == redis::client_errc::outcome_unknown || ec == redis::client_errc::timeout;
  const error_code unanswered = maybe_written ? error_code(errc::publish_indeterminate) : ec;
  for (std::size_t i = 0; i < group.size(); ++i) {
    auto& p = group[i];
    const std::size_t round = pipeline.answered_in(i);
    if (round == 0) {  // its round trip failed
      ++stats_.failed;
      p->finish(unanswered ? unanswered : error_code(errc::malformed_entry), "");
      continue;
    }
    command_result result;
    dedup_result added;
    if (p->envelope.idempotency_key().empty())
      result = decode_xadd(pipeline.reply(i), added.id);
    else
      result = decode_dedup_publish(pipeline.reply(i), added);
    if (!result) {
      ++stats_.failed;
      p->finish(result.ec, "");
      continue;
    }
    stats_.duplicates += added.duplicate ? 1 : 0;
    // The WAIT of the round trip that wrote it: it counts the replicas that have every write
    // before it on this connection, this one included.
    std::uint64_t replicas = 0;
    const auto wait = pipeline.trailer(round);
    const bool confirmed =
        wait.size() == 1 && decode_wait(wait.front(), replicas) && replicas >= config_.replicas;
    if (!confirmed) {
      ++stats_.unconfirmed;
      p->finish(errc::replication_timeout, std::move(added.id));
    } else {
      ++stats_.confirmed;
      p->finish(error_code(), std::move(added.id));
    }
  }
}

}  // namespace streamq::streams::detail

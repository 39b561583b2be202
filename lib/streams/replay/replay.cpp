// The replay runner (streams/replay.hpp, docs/replay.md): carries out what sansio/replay_plan
// decides (ranges, merge order, filter, pacing, retries) with the requests of
// commands/replay_requests. One coroutine, one request at a time: entries are delivered in
// order, and the position it reports is exact.
#include <streamq/redis/deadline.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/replay.hpp>

#include "commands/replay_requests.hpp"
#include "commands/send_command.hpp"
#include "sansio/replay_plan.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <functional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace streamq::streams {
namespace asio = boost::asio;

void replay_options::validate() const {
  if (auto problem = detail::options_problem(*this); !problem.empty())
    throw std::invalid_argument("streamq replay_options." + problem);
}

namespace detail {
namespace {

using steady = std::chrono::steady_clock;
// One try of a request: its error (success: none). Its decoded output goes where the callable
// was told to put it.
using attempt = std::function<asio::awaitable<error_code>()>;

struct replay_source {
  std::string topic;  // "T" or "T#N"
  std::uint32_t partition = 0;
  std::string stream;
};

void validate_target(const replay_target& target) {
  switch (target.what) {
    case replay_target::kind::handler:
      if (!target.handler) throw std::invalid_argument("streamq replay_target.handler: empty");
      return;
    case replay_target::kind::topic:
      if (!is_valid_topic_name(target.topic))
        throw std::invalid_argument("streamq replay_target.topic: not a valid topic name");
      return;
    case replay_target::kind::group:
      if (!is_valid_name(target.group))
        throw std::invalid_argument("streamq replay_target.group: not a valid group name");
      return;
  }
  throw std::invalid_argument("streamq replay_target.what: unknown kind");
}

asio::awaitable<void> pause(steady::duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

class replay_run {
 public:
  replay_run(client& c, replay_options options, replay_target target)
      : client_(c),
        options_(std::move(options)),
        target_(std::move(target)),
        pacer_(options_.max_per_second) {}

  asio::awaitable<replay_result> run() {
    // Read once, here: awaiting anything after a cancellation throws, this does not.
    cancel_state_ = co_await asio::this_coro::cancellation_state;
    std::exception_ptr failure;
    try {
      co_await resolve_sources();
      co_await plan_sources();
      const bool creates = target_.what == replay_target::kind::group && !options_.dry_run;
      if (creates) co_await create_groups();
      report_progress(steady::now());
      co_await replay_entries();
    } catch (...) {
      failure = std::current_exception();
    }
    finish(failure);
    co_return std::move(result_);
  }

 private:
  [[nodiscard]] bool cancelled() const {
    return cancel_state_.cancelled() != asio::cancellation_type::none;
  }

  void finish(const std::exception_ptr& failure) {
    if (!failure) return;
    if (cancelled()) {
      result_.stop = replay_stop::cancelled;
      result_.error = asio::error::operation_aborted;
      return;
    }
    result_.stop = replay_stop::failed;
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& e) {
      result_.error = e.code();
      result_.diagnostic = e.what();
    } catch (const std::exception& e) {
      // Only the handler throws anything else.
      result_.error = errc::handler_failed;
      result_.diagnostic = e.what();
    }
  }

  // Runs `op` until it succeeds or retry_delay gives up; throws its last error.
  asio::awaitable<void> retrying(attempt op) {
    std::optional<steady::time_point> since;
    for (unsigned retries = 0;; ++retries) {
      diagnostic_.clear();
      const error_code ec = co_await op();
      if (!ec) co_return;
      if (cancelled()) throw boost::system::system_error(asio::error::operation_aborted);
      const auto now = steady::now();
      if (!since) since = now;
      const auto delay = retry_delay(
          ec, std::chrono::duration_cast<std::chrono::milliseconds>(now - *since),
          options_.retry_for, retries);
      if (!delay) throw boost::system::system_error(ec, diagnostic_);
      ++result_.retries;
      co_await pause(*delay);
    }
  }

  // One command (several when `decode` takes a span of replies) under the request deadline:
  // its error, the server's text in diagnostic_.
  template <class Build, class Decode>
  asio::awaitable<error_code> command(const Build& build, const Decode& decode) {
    try {
      send_result sent;
      if constexpr (std::is_invocable_v<Decode, const resp::value&>)
        sent = co_await with_deadline(send_command(client_, build, decode),
                                      options_.request_timeout);
      else
        sent = co_await with_deadline(send_commands(client_, build, decode),
                                      options_.request_timeout);
      diagnostic_ = sent.reply.diagnostic;
      co_return sent.ec();
    } catch (const boost::system::system_error& e) {
      co_return e.code();  // the deadline passed
    }
  }

  asio::awaitable<void> resolve_sources() {
    const auto& prefix = options_.key_prefix;
    if (const auto named = parse_partition_topic(options_.topic)) {
      sources_.push_back(
          {options_.topic, named->partition, topic_keys(options_.topic, prefix).stream()});
      co_return;
    }
    std::uint32_t partitions = 0;
    co_await retrying([&]() -> asio::awaitable<error_code> {
      try {
        partitions = co_await with_deadline(partition_count(client_, options_.topic, prefix),
                                            options_.request_timeout);
        co_return error_code{};
      } catch (const boost::system::system_error& e) {
        co_return e.code();
      }
    });
    if (partitions == 0) {
      sources_.push_back({options_.topic, 0, topic_keys(options_.topic, prefix).stream()});
      co_return;
    }
    for (std::uint32_t p = 0; p < partitions; ++p) {
      auto name = partition_topic(options_.topic, p);
      auto stream = topic_keys(name, prefix).stream();
      sources_.push_back({std::move(name), p, std::move(stream)});
    }
  }

  // Each stream's first and last entries now, hence its range (the end is fixed here, so the
  // replay ends while producers keep publishing).
  asio::awaitable<void> plan_sources() {
    const auto requested = requested_end(options_);
    for (const auto& s : sources_) {
      std::optional<std::string> first;
      std::optional<std::string> last;
      co_await retrying([&]() -> asio::awaitable<error_code> {
        co_return co_await command(
            [&](resp::request& req) { build_stream_bounds(req, s.stream); },
            [&](std::span<const resp::value> replies) {
              return decode_stream_bounds(replies, first, last);
            });
      });
      const auto start = start_of(options_, s.partition);
      const auto range =
          plan_range(start, requested, first ? parse_entry_id(*first) : std::nullopt,
                     last ? parse_entry_id(*last) : std::nullopt);
      result_.streams.push_back({s.topic, first.value_or(""),
                                 range.end ? range.end->text() : std::string(),
                                 range.trimmed_before});
      result_.trimmed_before = result_.trimmed_before || range.trimmed_before;
      merge_.add_source(start, range.end);
    }
  }

  // XGROUP CREATE on every source stream, each tried once (a retried create whose first try
  // landed would look like somebody else's group). A refusal undoes the ones made before it.
  asio::awaitable<void> create_groups() {
    error_code failed;
    std::string why;
    for (const auto& s : sources_) {
      const auto position = group_position(start_of(options_, s.partition));
      failed = co_await command(
          [&](resp::request& req) {
            build_create_replay_group(req, s.stream, target_.group, position);
          },
          [&](const resp::value& reply) { return decode_create_replay_group(reply); });
      if (failed) {
        why = diagnostic_;
        break;
      }
      result_.groups_created.push_back(s.topic);
    }
    if (!failed) co_return;
    for (const auto& topic : result_.groups_created) {
      const auto stream = topic_keys(topic, options_.key_prefix).stream();
      co_await retrying([&]() -> asio::awaitable<error_code> {
        co_return co_await command(
            [&](resp::request& req) { build_destroy_replay_group(req, stream, target_.group); },
            [&](const resp::value& reply) { return decode_destroy_replay_group(reply); });
      });
    }
    result_.groups_created.clear();
    throw boost::system::system_error(failed, why);
  }

  asio::awaitable<void> replay_entries() {
    for (;;) {
      const auto next = merge_.next();
      if (next.what == replay_merge::action::kind::done) co_return;
      if (next.what == replay_merge::action::kind::read) {
        co_await read_page(next.source);
        continue;
      }
      const auto& source = sources_[next.source];
      auto entry = merge_.take(next.source);
      co_await process(source, std::move(entry));
      if (options_.on_progress) {
        if (const auto now = steady::now(); now - progress_at_ >= options_.progress_interval)
          report_progress(now);
      }
      if (options_.max_messages != 0 && handled_ >= options_.max_messages) {
        result_.stop = replay_stop::limit_reached;
        co_return;
      }
    }
  }

  void report_progress(steady::time_point now) {
    if (!options_.on_progress) return;
    progress_at_ = now;
    options_.on_progress(result_);
  }

  asio::awaitable<void> read_page(std::size_t source) {
    const auto& stream = sources_[source].stream;
    const auto start = merge_.start_arg(source);
    const auto end = merge_.end_arg(source);
    std::vector<stream_entry> page;
    co_await retrying([&]() -> asio::awaitable<error_code> {
      co_return co_await command(
          [&](resp::request& req) {
            build_replay_page(req, stream, start, end, options_.page_size);
          },
          [&](const resp::value& reply) { return decode_replay_page(reply, page); });
    });
    std::vector<replay_entry> entries;
    entries.reserve(page.size());
    for (auto& e : page) entries.push_back({std::move(e.id), std::move(e.fields)});
    merge_.on_page(source, std::move(entries), options_.page_size);
  }

  asio::awaitable<void> process(const replay_source& source, replay_entry entry) {
    ++result_.read;
    replay_position position{source.topic, source.partition, std::move(entry.id)};
    v1::Envelope envelope;
    if (decode_entry(entry.fields, envelope, options_.limits)) {
      ++result_.undecodable;
    } else if (!matches(options_.filter, envelope)) {
      ++result_.filtered;
    } else {
      // Counted once delivered: a failed delivery leaves the counts (and `last`) before it.
      const auto bytes = envelope.ByteSizeLong();
      if (!options_.dry_run && target_.what != replay_target::kind::group)
        co_await deliver(envelope, position);
      ++result_.matched;
      result_.bytes += bytes;
      ++handled_;
    }
    result_.last = std::move(position);
  }

  asio::awaitable<void> deliver(v1::Envelope& envelope, const replay_position& position) {
    if (const auto wait = pacer_.before_next(steady::now()); wait > steady::duration::zero())
      co_await pause(wait);
    if (target_.what == replay_target::kind::handler) {
      co_await target_.handler(envelope, position);
      ++result_.delivered;
      co_return;
    }
    envelope.set_idempotency_key(replay_idempotency_key(position.topic, position.id));
    publish_receipt receipt;
    co_await retrying([&]() -> asio::awaitable<error_code> {
      try {
        receipt = co_await with_deadline(target_publisher().publish_envelope_checked(
                                             target_.topic, envelope),
                                         options_.request_timeout);
        co_return error_code{};
      } catch (const boost::system::system_error& e) {
        diagnostic_ = e.what();
        co_return e.code();
      }
    });
    if (receipt.duplicate)
      ++result_.duplicates;
    else
      ++result_.delivered;
  }

  // The publisher of a topic target: the envelope goes out as it was (no trace headers added).
  publisher& target_publisher() {
    if (!publisher_) {
      publisher_config config;
      config.limits = options_.limits;
      config.key_prefix = options_.key_prefix;
      config.inject_trace_context = false;
      publisher_.emplace(client_, std::move(config));
    }
    return *publisher_;
  }

  client& client_;
  replay_options options_;
  replay_target target_;
  replay_pacer pacer_;
  asio::cancellation_state cancel_state_;
  std::vector<replay_source> sources_;
  replay_merge merge_;
  std::optional<publisher> publisher_;
  steady::time_point progress_at_;  // of the last on_progress call
  std::uint64_t handled_ = 0;  // matched entries delivered (or counted, dry): max_messages
  std::string diagnostic_;     // the text of the last failed request
  replay_result result_;
};

}  // namespace
}  // namespace detail

asio::awaitable<replay_result> replay(client& c, replay_options options, replay_target target) {
  options.validate();
  detail::validate_target(target);
  detail::replay_run run(c, std::move(options), std::move(target));
  co_return co_await run.run();
}

}  // namespace streamq::streams

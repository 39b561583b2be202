// The session half of connection_impl: the owner loop, connecting and the handshake, and
// the reader, writer and health-check coroutines that alone touch the transport.
#include "handshake_reply.hpp"
#include "connection_impl.hpp"
#include "sentinel/sentinel_link.hpp"

#include <streamq/detail/race.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <tuple>

namespace streamq::redis::detail {
namespace asio = boost::asio;
using streamq::detail::race;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t min_read_space = 16 * 1024;
constexpr std::size_t keep_read_buffer = 1024 * 1024;  // shrink back after a huge reply

// Checked between awaits with a state fetched once per coroutine (GCC 12 miscompiles
// co_await inside short-circuit conditions, so none is used there).
bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

// A race child that produces an error code: stores it where the caller reads the winner's.
asio::awaitable<void> into(error_code& out, asio::awaitable<error_code> op) {
  out = co_await std::move(op);
}

// Waits for a timer; race children return void.
asio::awaitable<void> expiry(asio::steady_timer& timer) {
  co_await timer.async_wait(use_tuple);
}

}  // namespace

// ---- the owner loop --------------------------------------------------------------------

asio::awaitable<error_code> connection_impl::run() {
  if (running_) co_return asio::error::already_started;
  running_ = true;
  if (!sentinel_mode()) co_return co_await run_sessions();
  // Sentinel mode: a watch on the sentinels runs beside the sessions and ends with them.
  error_code result;
  auto watch = [this]() -> asio::awaitable<void> {
    co_await sentinel::watch_master(
        config_, sentinel_order_,
        [this](const sentinel::master_address& named) { on_sentinel_master(named); });
  };
  co_await race(into(result, run_sessions()), watch());
  co_return result;
}

asio::awaitable<error_code> connection_impl::run_sessions() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  co_await asio::this_coro::throw_if_cancelled(false);

  error_code result;
  while (true) {
    if (stopping_ || cancelled(cs)) {
      result = client_errc::shut_down;
      break;
    }
    set_state(connection_state::connecting);
    // Whatever a failed handshake left in the read buffer belongs to the old socket.
    reset_read_state();
    error_code ec = co_await connect_and_handshake();
    if (ec) set_last_error(ec);
    if (stopping_ || cancelled(cs)) {
      transport_.close();
      result = client_errc::shut_down;
      break;
    }
    if (!ec) {
      failures_ = 0;
      atomic_stats::bump(stats_.connects);
      set_state(connection_state::connected);
      std::array<error_code, 3> ended;  // reader, writer, health checker: why each stopped
      const auto raced = co_await race(into(ended[0], reader()), into(ended[1], writer()),
                                       into(ended[2], health_checker()), wait_for_stop());
      ec = raced.winner < ended.size() ? ended[raced.winner] : error_code();
      if (stopping_ || cancelled(cs)) {
        end_session(client_errc::outcome_unknown);
        result = client_errc::shut_down;
        break;
      }
      atomic_stats::bump(stats_.connection_losses);
      set_last_error(ec);
      end_session(client_errc::outcome_unknown);
    } else {
      transport_.close();
      if (is_fatal(ec)) {
        result = ec;
        break;
      }
    }
    if (!config_.reconnect.enabled) {
      result = ec;
      break;
    }
    if (!config_.keep_unwritten_on_disconnect) fail_unwritten(client_errc::not_connected);
    asio::steady_timer backoff(ex_, next_backoff());
    co_await race(expiry(backoff), wait_for_stop());
  }

  set_state(connection_state::stopped);
  stopping_ = true;
  final_error_ = result;
  fail_written(client_errc::outcome_unknown);
  fail_unwritten(result);
  running_ = false;
  co_return result;
}

asio::awaitable<void> connection_impl::wait_for_stop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  if (stopping_ || cancelled(cs)) co_return;
  co_await stop_timer_.async_wait(use_tuple);
}

std::chrono::milliseconds connection_impl::next_backoff() {
  const auto& policy = config_.reconnect;
  const double grown = static_cast<double>(policy.initial_delay.count()) *
                       std::pow(policy.multiplier, std::min(failures_, 30U));
  const double capped = std::min(grown, static_cast<double>(policy.max_delay.count()));
  ++failures_;
  std::uniform_real_distribution<double> spread(1.0 - policy.jitter, 1.0);
  return std::chrono::milliseconds(static_cast<long>(capped * spread(jitter_rng_)));
}

void connection_impl::end_session(error_code written_error) {
  transport_.close();
  set_state(connection_state::connecting);
  reset_read_state();
  fail_written(written_error);
}

void connection_impl::reset_read_state() {
  demoted_ = false;
  parser_.reset();
  attributes_ = {};
  queue_.reset_replies();
  read_begin_ = read_end_ = 0;
}

void connection_impl::drop_session() {
  // Closing the socket ends the reader and the writer with an error: the session ends and
  // run() reconnects as after any connection loss.
  if (state() == connection_state::connected) transport_.close();
}

// ---- connecting --------------------------------------------------------------------------

asio::awaitable<error_code> connection_impl::connect_and_handshake() {
  if (sentinel_mode()) {
    // Asking the sentinels has its own bound (sentinel.timeout per sentinel).
    error_code ec;
    const auto raced = co_await race(into(ec, resolve_master()), wait_for_stop());
    if (raced.winner != 0) co_return client_errc::shut_down;
    if (ec) co_return ec;
  }
  const std::uint64_t switches = switches_;
  asio::steady_timer deadline(ex_, config_.connect_timeout);
  auto steps = [this]() -> asio::awaitable<error_code> {
    if (auto ec = co_await transport_.connect()) co_return ec;
    if (auto ec = co_await handshake()) co_return ec;
    if (sentinel_mode()) co_return co_await check_role();
    co_return error_code{};
  };
  error_code ec;
  const auto raced = co_await race(into(ec, steps()), expiry(deadline), wait_for_stop());
  switch (raced.winner) {
    case 0:
      // A switch to another address announced while connecting: this node is on its way out.
      if (!ec && switches_ != switches) ec = client_errc::not_master;
      co_return ec;
    case 1:
      co_return client_errc::connect_timeout;
    default:
      co_return client_errc::shut_down;
  }
}

asio::awaitable<error_code> connection_impl::resolve_master() {
  sentinel::master_address named;
  if (auto ec = co_await sentinel::ask_for_master(config_, sentinel_order_, named)) co_return ec;
  transport_.set_target(named.host, named.port);
  target_ = std::move(named);
  co_return error_code{};
}

asio::awaitable<error_code> connection_impl::check_role() {
  resp::request req;
  sentinel::build_role(req);
  if (auto ec = co_await transport_.write(asio::buffer(req.payload()))) co_return ec;
  resp::generic_response reply;
  if (auto ec = co_await read_replies(req.reply_count(), reply)) co_return ec;
  if (reply.values().size() != 1) co_return client_errc::unexpected_reply;
  co_return sentinel::role_verdict(reply.values().front());
}

void connection_impl::on_sentinel_master(const sentinel::master_address& named) {
  if (!sentinel::must_move(target_, named)) return;
  ++switches_;
  drop_session();  // the reconnect asks the sentinels again
}

asio::awaitable<error_code> connection_impl::handshake() {
  resp::request req;
  const bool authenticate = !config_.password.empty();
  const std::string_view user =
      config_.username.empty() ? std::string_view("default") : std::string_view(config_.username);
  if (config_.resp3) {
    std::vector<std::string_view> args{"3"};
    if (authenticate) args.insert(args.end(), {"AUTH", user, config_.password});
    if (!config_.client_name.empty()) args.insert(args.end(), {"SETNAME", config_.client_name});
    req.push("HELLO", args);
  } else {
    if (authenticate) req.push("AUTH", user, config_.password);
    if (!config_.client_name.empty()) req.push("CLIENT", "SETNAME", config_.client_name);
  }
  if (config_.database != 0) req.push("SELECT", config_.database);
  if (req.command_count() == 0) co_return error_code{};

  if (auto ec = co_await transport_.write(asio::buffer(req.payload()))) co_return ec;
  handshake_reply replies(config_.resp3 ? 0 : handshake_reply::npos);
  if (auto ec = co_await read_replies(req.reply_count(), replies)) co_return ec;
  // a refused HELLO/AUTH/SELECT: the session is unusable
  if (replies.first_error()) co_return replies.first_error();
  if (replies.server().known()) {
    const std::lock_guard lock(shared_mutex_);
    server_ = replies.server();
  }
  co_return error_code{};
}

asio::awaitable<error_code> connection_impl::read_replies(std::size_t count,
                                                          resp::response_adapter& adapter) {
  adapter.on_start();
  std::size_t answered = 0;
  while (answered < count) {
    error_code ec;
    auto n = next_node(ec);
    if (ec) co_return ec;
    if (!n) {
      auto [rec, bytes] = co_await transport_.read_some(prepare_read());
      if (rec) co_return rec;
      read_end_ += bytes;
      continue;
    }
    adapter.on_node(answered, *n);
    if (parser_.done()) ++answered;
  }
  co_return error_code{};
}

// ---- reading -----------------------------------------------------------------------------

asio::mutable_buffer connection_impl::prepare_read() {
  if (read_begin_ == read_end_) {
    read_begin_ = read_end_ = 0;
    if (read_buffer_.size() > keep_read_buffer) {
      read_buffer_.resize(initial_read_buffer);
      read_buffer_.shrink_to_fit();
    }
  }
  const std::size_t needed = parser_.bytes_needed();  // counted from read_begin_
  if (read_buffer_.size() - read_end_ < min_read_space ||
      read_buffer_.size() - read_begin_ < needed) {
    const std::size_t pending = read_end_ - read_begin_;
    std::memmove(read_buffer_.data(), read_buffer_.data() + read_begin_, pending);
    read_begin_ = 0;
    read_end_ = pending;
    const std::size_t want = std::max(pending + min_read_space, needed);
    if (read_buffer_.size() < want) read_buffer_.resize(std::max(want, read_buffer_.size() * 2));
  }
  return asio::buffer(read_buffer_.data() + read_end_, read_buffer_.size() - read_end_);
}

std::optional<resp::node> connection_impl::next_node(error_code& ec) {
  while (true) {
    std::error_code pec;
    auto n = parser_.consume(
        std::string_view(read_buffer_.data() + read_begin_, read_end_ - read_begin_), pec);
    if (pec) {
      ec = pec;
      return std::nullopt;
    }
    if (!n) return std::nullopt;
    read_begin_ += parser_.consumed();
    if (attributes_.keep(*n)) return n;
  }
}

error_code connection_impl::process_buffer() {
  using event = request_queue::reply_event::kind;
  while (true) {
    // Sentinel mode: the READONLY reply went to its caller; the session ends after it.
    if (demoted_) return client_errc::not_master;
    error_code ec;
    auto n = next_node(ec);
    if (ec) return ec;
    if (!n) return {};
    if (sentinel_mode() && sentinel::is_demotion(*n)) demoted_ = true;
    const auto ev = queue_.on_node(*n, parser_.done());
    switch (ev.what) {
      case event::consumed:
        continue;
      case event::push:
        atomic_stats::bump(stats_.pushes);
        deliver_push(queue_.push_value());
        continue;
      case event::unexpected:
        return client_errc::unexpected_reply;
      case event::discarded:
        atomic_stats::bump(stats_.requests);
        publish_in_flight();
        if (queue_.has_queued()) wake_writer();  // a waiting request was let in
        continue;
      case event::completed:
        break;
    }
    atomic_stats::bump(stats_.requests);
    publish_in_flight();  // before the caller resumes: it may read stats() at once
    if (queue_.has_queued()) wake_writer();  // a waiting request was let in
    op_handler& h = handlers_[ev.id];
    const bool direct = h.direct;
    exec_handler handler = take_handler(h, false);
    // The caller runs on this executor and we are inside it: resume it in place, which is
    // what dispatch would do, without the trip through type-erased executors.
    if (direct)
      std::move(handler)(error_code{});
    else
      invoke(std::move(handler), {}, false);
  }
}

asio::awaitable<error_code> connection_impl::reader() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  co_await asio::this_coro::throw_if_cancelled(false);
  while (true) {
    if (auto ec = process_buffer()) co_return ec;
    // Callers resumed inline by process_buffer may have cancelled this session while it
    // ran; a cancellation that arrives between awaits is only recorded, so look.
    if (cancelled(cs)) co_return asio::error::operation_aborted;
    auto [ec, bytes] = co_await transport_.read_some(prepare_read());
    if (ec) co_return ec;
    read_end_ += bytes;
  }
}

// ---- writing -----------------------------------------------------------------------------

asio::awaitable<error_code> connection_impl::writer() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  co_await asio::this_coro::throw_if_cancelled(false);
  while (true) {
    const std::string_view buffer = queue_.prepare_write();
    if (cancelled(cs)) co_return asio::error::operation_aborted;
    if (buffer.empty()) {
      writer_idle_ = true;
      writer_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await writer_wake_.async_wait(use_tuple);
      writer_idle_ = false;
      if (cancelled(cs)) co_return asio::error::operation_aborted;
      continue;
    }
    atomic_stats::bump(stats_.writes);
    if (auto ec = co_await transport_.write(asio::buffer(buffer))) co_return ec;
    // requests answered only by pushes are done once written
    queue_.write_done([this](const request_queue::completion& c) {
      invoke(take_handler(handlers_[c.id], false), c.ec, true);
    });
  }
}

// ---- health ------------------------------------------------------------------------------

asio::awaitable<error_code> connection_impl::health_checker() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer timer(ex_);
  if (config_.health_check_interval.count() == 0) {
    timer.expires_at(asio::steady_timer::time_point::max());
    co_await timer.async_wait(use_tuple);
    co_return asio::error::operation_aborted;
  }
  resp::request ping;
  ping.push("PING");
  resp::ignore_response ignored;
  while (true) {
    if (cancelled(cs)) co_return asio::error::operation_aborted;
    timer.expires_after(config_.health_check_interval);
    co_await timer.async_wait(use_tuple);
    if (cancelled(cs)) co_return asio::error::operation_aborted;

    timer.expires_after(config_.health_check_timeout);
    auto exec = asio::async_initiate<decltype(use_tuple), void(error_code)>(
        [this, &ping, &ignored](auto handler) {
          start_exec(exec_handler(std::move(handler)), ping, ignored, true);
        },
        use_tuple);
    error_code ec;
    auto ping_once = [&]() -> asio::awaitable<void> { std::tie(ec) = co_await std::move(exec); };
    const auto raced = co_await race(ping_once(), expiry(timer));
    if (cancelled(cs)) co_return asio::error::operation_aborted;
    if (raced.winner == 1) co_return client_errc::health_check_timeout;
    if (ec) co_return ec;
  }
}

}  // namespace streamq::redis::detail

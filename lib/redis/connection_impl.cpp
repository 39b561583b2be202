#include "connection_impl.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace streamq::redis::detail {
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t min_read_space = 16 * 1024;
constexpr std::size_t initial_read_buffer = 64 * 1024;
constexpr std::size_t keep_read_buffer = 1024 * 1024;  // shrink back after a huge reply

// Checked between awaits with a state fetched once per coroutine (GCC 12 miscompiles
// co_await inside short-circuit conditions, so none is used there).
bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

connection_config validated(connection_config config) {
  config.validate();
  return config;
}

error_code first_error(const auto& variant_result) {
  return std::visit(
      [](const auto& alternative) -> error_code {
        if constexpr (std::is_same_v<std::decay_t<decltype(alternative)>, error_code>)
          return alternative;
        else
          return {};
      },
      variant_result);
}

}  // namespace

// Installed in the caller's cancellation slot; the generation guards against an op that
// finished and was reused before a late cancellation arrived.
struct cancel_handler {
  connection_impl* self;
  pending_op* op;
  std::uint64_t generation;
  void operator()(asio::cancellation_type_t type) const {
    if (op->generation == generation) self->on_cancel(op, type);
  }
};

connection_impl::connection_impl(asio::any_io_executor ex, connection_config config)
    : ex_(std::move(ex)),
      config_(validated(std::move(config))),
      transport_(ex_, config_),
      parser_(config_.parser),
      writer_wake_(ex_),
      stop_timer_(ex_),
      jitter_rng_(std::random_device{}()) {
  stop_timer_.expires_at(asio::steady_timer::time_point::max());
  read_buffer_.resize(initial_read_buffer);
}

// ---- request intake -------------------------------------------------------------------

pending_op* connection_impl::acquire_op() {
  pending_op* op = nullptr;
  if (free_ops_.empty()) {
    op = pool_.emplace_back(std::make_unique<pending_op>()).get();
  } else {
    op = free_ops_.back();
    free_ops_.pop_back();
  }
  // Field by field: Boost 1.81's any_completion_handler move-assignment is broken (it
  // wraps the source instead of taking it over), so pending_op is never assigned whole.
  op->request = nullptr;
  op->adapter = nullptr;
  op->slot = {};
  op->replies_left = 0;
  op->reply_index = 0;
  op->where = pending_op::stage::waiting_room;
  op->finished = false;
  op->internal = false;
  ++op->generation;
  return op;
}

void connection_impl::release_op(pending_op* op) {
  ++op->generation;  // disarms a cancellation handler still installed in a slot
  op->handler = nullptr;
  free_ops_.push_back(op);
}

void connection_impl::start_exec(exec_handler handler, const resp::request& req,
                                 resp::response_adapter& adapter, bool internal) {
  error_code refusal;
  if (req.command_count() == 0)
    refusal = client_errc::empty_request;
  else if (adapter.expected_replies() != resp::response_adapter::any_count &&
           adapter.expected_replies() != req.reply_count())
    refusal = client_errc::response_size_mismatch;
  else if (req.has_blocking_command() && !config_.allow_blocking_commands)
    refusal = client_errc::blocking_command_on_shared_connection;
  else if (stopping_ || state_ == connection_state::stopped)
    refusal = final_error_ ? final_error_ : error_code(client_errc::shut_down);
  else if (state_ != connection_state::connected && !config_.keep_unwritten_on_disconnect)
    refusal = client_errc::not_connected;
  if (refusal) {
    invoke(std::move(handler), refusal, true);  // never inside the initiating call
    return;
  }

  pending_op* op = acquire_op();
  op->request = &req;
  op->adapter = &adapter;
  op->replies_left = req.reply_count();
  op->internal = internal;
  op->handler.swap(handler);  // see acquire_op: no move-assignment
  adapter.on_start();
  auto slot = asio::get_associated_cancellation_slot(op->handler);
  if (slot.is_connected()) {
    op->slot = slot;
    slot.template emplace<cancel_handler>(this, op, op->generation);
  }
  if (!internal && admitted_ >= config_.max_pending_requests) {
    op->where = pending_op::stage::waiting_room;
    waiting_room_.push_back(op);
  } else {
    admit(op);
  }
}

void connection_impl::admit(pending_op* op) {
  op->where = pending_op::stage::queued;
  queued_.push_back(op);
  ++admitted_;
  if (admitted_ > stats_.peak_pending) stats_.peak_pending = admitted_;
  if (state_ == connection_state::connected) wake_writer();
}

void connection_impl::on_admitted_removed() {
  --admitted_;
  while (admitted_ < config_.max_pending_requests && !waiting_room_.empty()) {
    pending_op* op = waiting_room_.front();
    waiting_room_.pop_front();
    if (op->finished)
      release_op(op);
    else
      admit(op);
  }
}

void connection_impl::wake_writer() {
  if (writer_idle_) {
    writer_idle_ = false;
    writer_wake_.cancel();
  }
}

exec_handler connection_impl::take_handler(pending_op* op, bool from_cancel_slot) {
  op->finished = true;
  // Inside the slot's own handler the slot must not be cleared (that would destroy the
  // running handler); the generation check disarms it instead.
  if (!from_cancel_slot && op->slot.is_connected()) op->slot.clear();
  op->slot = {};
  op->request = nullptr;
  op->adapter = nullptr;
  return std::move(op->handler);
}

void connection_impl::invoke(exec_handler handler, error_code ec, bool defer) {
  // Both hand the handler on to its own associated executor in the end.
  if (defer)
    asio::post(ex_, asio::append(std::move(handler), ec));
  else
    asio::dispatch(ex_, asio::append(std::move(handler), ec));
}

void connection_impl::on_cancel(pending_op* op, asio::cancellation_type_t type) {
  if (op->finished) return;
  // Not yet written: withdrawing has no side effect, so any cancellation type is honoured.
  // Written: only terminal cancellation, since the command may still run; the reply is
  // then read and dropped so the pipeline stays in step.
  if (op->where == pending_op::stage::written &&
      (type & asio::cancellation_type::terminal) == asio::cancellation_type::none)
    return;
  invoke(take_handler(op, true), asio::error::operation_aborted, true);
}

void connection_impl::cancel() {
  if (stopping_) return;
  stopping_ = true;
  stop_timer_.cancel();
  if (!running_) fail_unwritten(client_errc::shut_down);
}

void connection_impl::fail_unwritten(error_code ec) {
  // waiting room first, so failing queued ops does not admit them again
  while (!waiting_room_.empty()) {
    pending_op* op = waiting_room_.front();
    waiting_room_.pop_front();
    if (!op->finished) invoke(take_handler(op, false), ec, true);
    release_op(op);
  }
  while (!queued_.empty()) {
    pending_op* op = queued_.front();
    queued_.pop_front();
    --admitted_;
    if (!op->finished) invoke(take_handler(op, false), ec, true);
    release_op(op);
  }
}

void connection_impl::fail_written(error_code ec) {
  auto fail_all = [&](auto& list) {
    for (pending_op* op : list) {
      --admitted_;
      if (!op->finished) invoke(take_handler(op, false), ec, true);
      release_op(op);
    }
    list.clear();
  };
  fail_all(written_);
  fail_all(unanswered_);
}

// ---- the owner loop --------------------------------------------------------------------

asio::awaitable<error_code> connection_impl::run() {
  if (running_) co_return asio::error::already_started;
  const auto cs = co_await asio::this_coro::cancellation_state;
  running_ = true;
  co_await asio::this_coro::throw_if_cancelled(false);

  error_code result;
  while (true) {
    if (stopping_ || cancelled(cs)) {
      result = client_errc::shut_down;
      break;
    }
    state_ = connection_state::connecting;
    error_code ec = co_await connect_and_handshake();
    if (stopping_ || cancelled(cs)) {
      transport_.close();
      result = client_errc::shut_down;
      break;
    }
    if (!ec) {
      failures_ = 0;
      ++stats_.connects;
      state_ = connection_state::connected;
      auto ended = co_await (reader() || writer() || health_checker() || wait_for_stop());
      ec = first_error(ended);
      if (stopping_ || cancelled(cs)) {
        end_session(client_errc::outcome_unknown);
        result = client_errc::shut_down;
        break;
      }
      ++stats_.connection_losses;
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
    co_await (backoff.async_wait(use_tuple) || wait_for_stop());
  }

  state_ = connection_state::stopped;
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
  state_ = connection_state::connecting;
  parser_.reset();
  attributes_ = {};
  push_builder_.reset();
  at_message_start_ = true;
  in_push_ = false;
  read_begin_ = read_end_ = 0;
  fail_written(written_error);
}

// ---- connecting --------------------------------------------------------------------------

asio::awaitable<error_code> connection_impl::connect_and_handshake() {
  asio::steady_timer deadline(ex_, config_.connect_timeout);
  auto steps = [this]() -> asio::awaitable<error_code> {
    if (auto ec = co_await transport_.connect()) co_return ec;
    co_return co_await handshake();
  };
  auto r = co_await (steps() || deadline.async_wait(use_tuple) || wait_for_stop());
  switch (r.index()) {
    case 0: co_return std::get<0>(r);
    case 1: co_return client_errc::connect_timeout;
    default: co_return client_errc::shut_down;
  }
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
  resp::ignore_response replies;
  std::size_t answered = 0;
  while (answered < req.reply_count()) {
    error_code ec;
    auto n = next_node(ec);
    if (ec) co_return ec;
    if (!n) {
      auto [rec, bytes] = co_await transport_.read_some(prepare_read());
      if (rec) co_return rec;
      read_end_ += bytes;
      continue;
    }
    replies.on_node(answered, *n);
    if (parser_.done()) ++answered;
  }
  // a refused HELLO/AUTH/SELECT: the session is unusable
  co_return replies.first_error();
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
  while (true) {
    error_code ec;
    auto n = next_node(ec);
    if (ec) return ec;
    if (!n) return {};
    const bool done = parser_.done();
    if (at_message_start_) {
      in_push_ = n->depth == 0 && n->data_type == resp::type::push;
      at_message_start_ = false;
    }
    if (done) at_message_start_ = true;

    if (in_push_) {
      if (push_builder_.on_node(*n)) {
        ++stats_.pushes;
        if (push_handler_) push_handler_(push_builder_.result());
      }
      continue;
    }
    if (written_.empty()) return client_errc::unexpected_reply;
    pending_op* op = written_.front();
    if (op->adapter != nullptr) op->adapter->on_node(op->reply_index, *n);
    if (!done) continue;
    ++op->reply_index;
    if (--op->replies_left > 0) continue;

    written_.pop_front();
    ++stats_.requests;
    exec_handler handler = op->finished ? exec_handler() : take_handler(op, false);
    release_op(op);
    on_admitted_removed();
    // Resumes the caller inline when it runs on this executor: no extra scheduling hop.
    if (handler) invoke(std::move(handler), {}, false);
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
    write_buffer_.clear();
    while (!queued_.empty() && write_buffer_.size() < config_.max_write_bytes) {
      pending_op* op = queued_.front();
      queued_.pop_front();
      if (op->finished) {  // withdrawn while queued
        release_op(op);
        on_admitted_removed();
        continue;
      }
      write_buffer_.append(op->request->payload());
      op->request = nullptr;
      op->where = pending_op::stage::written;
      if (op->replies_left == 0)
        unanswered_.push_back(op);
      else
        written_.push_back(op);
    }
    if (cancelled(cs)) co_return asio::error::operation_aborted;
    if (write_buffer_.empty()) {
      writer_idle_ = true;
      writer_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await writer_wake_.async_wait(use_tuple);
      writer_idle_ = false;
      if (cancelled(cs)) co_return asio::error::operation_aborted;
      continue;
    }
    ++stats_.writes;
    if (auto ec = co_await transport_.write(asio::buffer(write_buffer_))) co_return ec;
    // requests answered only by pushes are done once written
    while (!unanswered_.empty()) {
      pending_op* op = unanswered_.back();
      unanswered_.pop_back();
      exec_handler handler = op->finished ? exec_handler() : take_handler(op, false);
      release_op(op);
      on_admitted_removed();
      if (handler) invoke(std::move(handler), {}, true);
    }
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
    auto r = co_await (std::move(exec) || timer.async_wait(use_tuple));
    if (cancelled(cs)) co_return asio::error::operation_aborted;
    if (r.index() == 1) co_return client_errc::health_check_timeout;
    if (auto [ec] = std::get<0>(r); ec) co_return ec;
  }
}

}  // namespace streamq::redis::detail

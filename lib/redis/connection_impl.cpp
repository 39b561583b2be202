// The request half of connection_impl: intake, admission (back-pressure), cancellation and
// completion of requests. The session half is in connection_session.cpp.
#include "connection_impl.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace streamq::redis::detail {
namespace asio = boost::asio;

namespace {

connection_config validated(connection_config config) {
  config.validate();
  return config;
}

}  // namespace

// Installed in the slot of a caller on our executor; the generation guards against an op
// that finished and was reused before a late cancellation arrived.
struct cancel_handler {
  connection_impl* self;
  pending_op* op;
  std::uint64_t generation;
  void operator()(asio::cancellation_type_t type) const {
    if (op->generation == generation) self->on_cancel(op, type);
  }
};

// Installed in the slot of a caller on another executor, and never cleared from our side
// (that would race with the caller's thread): the relay's generation makes a late emission
// harmless, the weak reference one that comes after the connection is gone.
struct relay_handler {
  std::weak_ptr<connection_impl> self;
  std::shared_ptr<cancel_relay> relay;
  void operator()(asio::cancellation_type_t type) const {
    auto impl = self.lock();
    if (!impl) return;
    const auto ex = impl->executor();
    asio::dispatch(ex, [impl = std::move(impl), relay = relay, type] {
      impl->on_relayed_cancel(*relay, type);
    });
  }
};

connection_stats atomic_stats::snapshot() const noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  return {.connects = connects.load(relaxed),
          .connection_losses = connection_losses.load(relaxed),
          .requests = requests.load(relaxed),
          .writes = writes.load(relaxed),
          .pushes = pushes.load(relaxed),
          .peak_pending = peak_pending.load(relaxed)};
}

connection_impl::connection_impl(asio::any_io_executor ex, connection_config config)
    : ex_(std::move(ex)),
      io_executor_(ex_.target<asio::io_context::executor_type>()),
      strand_(ex_.target<io_strand>()),
      config_(validated(std::move(config))),
      transport_(ex_, config_),
      parser_(config_.parser),
      writer_wake_(ex_),
      stop_timer_(ex_),
      jitter_rng_(std::random_device{}()) {
  stop_timer_.expires_at(asio::steady_timer::time_point::max());
  read_buffer_.resize(initial_read_buffer);
}

// ---- state shared with other threads -----------------------------------------------------

void connection_impl::set_last_error(error_code ec) noexcept {
  const std::lock_guard lock(shared_mutex_);
  last_error_ = ec;
}

void connection_impl::set_push_handler(push_handler handler) {
  std::shared_ptr<const push_handler> next;
  if (handler) next = std::make_shared<const push_handler>(std::move(handler));
  const std::lock_guard lock(shared_mutex_);
  push_handler_shared_.swap(next);
  push_version_.fetch_add(1, std::memory_order_release);
}  // the previous handler (now in `next`) is released after the lock

void connection_impl::deliver_push(const resp::value& push) {
  if (push_version_.load(std::memory_order_acquire) != push_seen_version_) {
    std::shared_ptr<const push_handler> current;
    {
      const std::lock_guard lock(shared_mutex_);
      current = push_handler_shared_;
      push_seen_version_ = push_version_.load(std::memory_order_relaxed);
    }
    // The reader keeps its own reference: a handler replaced while it runs stays alive, and
    // the old one is released outside the lock.
    push_handler_.swap(current);
  }
  if (push_handler_) (*push_handler_)(push);
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
  op->direct = false;
  ++op->generation;
  return op;
}

void connection_impl::release_op(pending_op* op) {
  ++op->generation;  // disarms a cancellation handler still installed in a slot
  op->handler = nullptr;
  free_ops_.push_back(op);
}

std::shared_ptr<cancel_relay> connection_impl::relay_cancellation(exec_handler& handler) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  if (!slot.is_connected()) return nullptr;
  auto relay = std::make_shared<cancel_relay>();
  slot.template emplace<relay_handler>(relay_handler{weak_from_this(), relay});
  return relay;
}

void connection_impl::start_exec(exec_handler handler, const resp::request& req,
                                 resp::response_adapter& adapter, bool internal, bool direct,
                                 std::shared_ptr<cancel_relay> relay) {
  error_code refusal;
  if (req.command_count() == 0)
    refusal = client_errc::empty_request;
  else if (adapter.expected_replies() != resp::response_adapter::any_count &&
           adapter.expected_replies() != req.reply_count())
    refusal = client_errc::response_size_mismatch;
  else if (req.has_blocking_command() && !config_.allow_blocking_commands)
    refusal = client_errc::blocking_command_on_shared_connection;
  else if (stopping_ || state() == connection_state::stopped)
    refusal = final_error_ ? final_error_ : error_code(client_errc::shut_down);
  else if (state() != connection_state::connected && !config_.keep_unwritten_on_disconnect)
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
  op->direct = direct;
  op->handler.swap(handler);  // see acquire_op: no move-assignment
  adapter.on_start();
  if (relay) {
    relay->op = op;
    relay->generation = op->generation;
  } else if (auto slot = asio::get_associated_cancellation_slot(op->handler); slot.is_connected()) {
    op->slot = slot;
    slot.template emplace<cancel_handler>(cancel_handler{this, op, op->generation});
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
  if (admitted_ > stats_.peak_pending.load(std::memory_order_relaxed))
    stats_.peak_pending.store(admitted_, std::memory_order_relaxed);
  if (state() == connection_state::connected) wake_writer();
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
  // Written: it may run, which the caller must be able to tell from a withdrawal.
  const error_code why = op->where == pending_op::stage::written
                             ? error_code(client_errc::outcome_unknown)
                             : error_code(asio::error::operation_aborted);
  invoke(take_handler(op, true), why, true);
}

void connection_impl::on_relayed_cancel(const cancel_relay& relay, asio::cancellation_type_t type) {
  // Null: the request was refused before it got an op. Another generation: it finished and
  // its op serves someone else now.
  if (relay.op != nullptr && relay.op->generation == relay.generation) on_cancel(relay.op, type);
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

}  // namespace streamq::redis::detail

// The request half of connection_impl: the Asio side of requests (handlers, cancellation
// slots, relays from other threads). What happens to a request at each stage is decided by
// request_queue; this file carries out its decisions. The session half is in
// connection_session.cpp.
#include "connection_impl.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

namespace streamq::redis::detail {
namespace asio = boost::asio;

namespace {

connection_config validated(connection_config config) {
  config.validate();
  return config;
}

}  // namespace

// Installed in the slot of a caller on our executor. The ticket's generation guards against
// a request that finished, its op reused, before a late cancellation arrived.
struct cancel_handler {
  connection_impl* self;
  request_queue::ticket ticket;
  void operator()(asio::cancellation_type_t type) const { self->on_cancel(ticket, type); }
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
          .peak_pending = peak_pending.load(relaxed),
          .in_flight = in_flight.load(relaxed)};
}

connection_impl::connection_impl(asio::any_io_executor ex, connection_config config)
    : ex_(std::move(ex)),
      io_executor_(ex_.target<asio::io_context::executor_type>()),
      strand_(ex_.target<io_strand>()),
      config_(validated(std::move(config))),
      transport_(ex_, config_),
      parser_(config_.parser),
      queue_(config_.max_pending_requests, config_.max_write_bytes),
      writer_wake_(ex_),
      stop_timer_(ex_),
      sentinel_order_(config_.sentinel.addresses),
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
  error_code refusal = request_queue::refusal(req, adapter, config_.allow_blocking_commands);
  if (!refusal) {
    if (stopping_ || state() == connection_state::stopped)
      refusal = final_error_ ? final_error_ : error_code(client_errc::shut_down);
    else if (state() != connection_state::connected && !config_.keep_unwritten_on_disconnect)
      refusal = client_errc::not_connected;
  }
  if (refusal) {
    invoke(std::move(handler), refusal, true);  // never inside the initiating call
    return;
  }

  const request_queue::ticket ticket = queue_.push(req, adapter, internal);
  if (ticket.id >= handlers_.size()) handlers_.resize(queue_.pool_size());  // the pool grew
  op_handler& h = handlers_[ticket.id];
  h.direct = direct;
  h.handler.swap(handler);  // see take_handler: no move-assignment
  if (relay) {
    relay->ticket = ticket;
  } else if (auto slot = asio::get_associated_cancellation_slot(h.handler); slot.is_connected()) {
    h.slot = slot;
    slot.template emplace<cancel_handler>(cancel_handler{this, ticket});
  }
  // Only intake raises the peak: a request is let in from the waiting room only up to
  // max_pending_requests, which the queue had reached when that request was held back.
  if (queue_.peak_admitted() != published_peak_) {
    published_peak_ = queue_.peak_admitted();
    stats_.peak_pending.store(published_peak_, std::memory_order_relaxed);
  }
  publish_in_flight();
  if (queue_.has_queued()) wake_writer();
}

exec_handler connection_impl::take_handler(op_handler& h, bool from_cancel_slot) {
  // Inside the slot's own handler the slot must not be cleared (that would destroy the
  // running handler); the ticket's generation, now stale, disarms it instead.
  if (!from_cancel_slot && h.slot.is_connected()) h.slot.clear();
  h.slot = {};
  // Moved out by construction: Boost 1.81's any_completion_handler move-assignment is broken
  // (it wraps the source instead of taking it over), so a table entry is only ever swapped
  // into (start_exec) and moved from.
  return std::move(h.handler);
}

void connection_impl::invoke(exec_handler handler, error_code ec, bool defer) {
  // Both hand the handler on to its own associated executor in the end.
  if (defer)
    asio::post(ex_, asio::append(std::move(handler), ec));
  else
    asio::dispatch(ex_, asio::append(std::move(handler), ec));
}

void connection_impl::on_cancel(request_queue::ticket ticket, asio::cancellation_type_t type) {
  const bool terminal = (type & asio::cancellation_type::terminal) != asio::cancellation_type::none;
  const auto effect = queue_.cancel(ticket, terminal);
  publish_in_flight();
  switch (effect) {
    case request_queue::cancel_effect::none:
      return;
    case request_queue::cancel_effect::withdrawn:
      invoke(take_handler(handlers_[ticket.id], true), asio::error::operation_aborted, true);
      return;
    case request_queue::cancel_effect::abandoned:
      // It may run, which the caller must be able to tell from a withdrawal.
      invoke(take_handler(handlers_[ticket.id], true), client_errc::outcome_unknown, true);
      return;
  }
}

void connection_impl::on_relayed_cancel(const cancel_relay& relay, asio::cancellation_type_t type) {
  // A default ticket (the request was refused before it got an op) or a stale one (it
  // finished and its op serves someone else now) matches nothing in the queue.
  on_cancel(relay.ticket, type);
}

void connection_impl::cancel() {
  if (stopping_) return;
  stopping_ = true;
  stop_timer_.cancel();
  if (!running_) fail_unwritten(client_errc::shut_down);
}

void connection_impl::fail_unwritten(error_code ec) {
  queue_.fail_unwritten(ec, [this](const request_queue::completion& c) {
    invoke(take_handler(handlers_[c.id], false), c.ec, true);
  });
  publish_in_flight();
}

void connection_impl::fail_written(error_code ec) {
  queue_.fail_written(ec, [this](const request_queue::completion& c) {
    invoke(take_handler(handlers_[c.id], false), c.ec, true);
  });
  publish_in_flight();
}

void connection_impl::publish_in_flight() noexcept {
  stats_.in_flight.store(queue_.admitted() + queue_.waiting(), std::memory_order_relaxed);
}

}  // namespace streamq::redis::detail

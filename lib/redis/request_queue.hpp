#pragma once
// The request half of a connection, as plain data: admission (back-pressure), the coalesced
// write, which reply belongs to which request, and what a cancellation or a lost connection
// does to a request at each stage. No Asio here: it never holds a handler, a cancellation slot
// or an executor. It reports completions as op ids (with the error to complete with), and
// connection_impl, which keeps the handlers in a table indexed by the same ids, invokes them;
// its coroutines only move the bytes this class produces and consumes.
//
// Completions reported through a callback (write_done, fail_unwritten, fail_written) arrive while
// the queue is mid-way through a list: the callback must not call back into the queue (the
// connection posts the handler). on_node only reports a completion; a handler the caller then
// runs in place may start or cancel requests.
//
// A request passes through three stages:
//   waiting_room  over max_pending_requests: not admitted yet (internal requests skip it)
//   queued        admitted, not yet written
//   written       handed out in a write buffer; its replies come back in write order
// Single-threaded: everything runs on the connection's executor.

#include <streamq/redis/error.hpp>
#include <streamq/resp/node.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::redis::detail {

using op_id = std::uint32_t;

// A FIFO of op ids on a power-of-two ring. Once grown it allocates nothing, where a std::deque
// frees and allocates a block every few hundred requests that pass through it.
class op_fifo {
 public:
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] op_id front() const noexcept { return slots_[head_]; }
  void pop_front() noexcept {
    head_ = (head_ + 1) & mask_;
    --size_;
  }
  void push_back(op_id id) {
    if (size_ == slots_.size()) grow();
    slots_[(head_ + size_) & mask_] = id;
    ++size_;
  }

 private:
  void grow();
  std::vector<op_id> slots_;
  std::size_t mask_ = 0;  // slots_.size() - 1 once grown
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

class request_queue {
 public:
  // Names one request while it is pending. Ops are pooled: once the request is finished its
  // op serves another, and the generation no longer matches.
  struct ticket {
    op_id id = 0;
    std::uint64_t generation = 0;  // never 0 for a live op: a default ticket matches nothing
  };

  enum class stage : std::uint8_t { waiting_room, queued, written };

  enum class cancel_effect : std::uint8_t {
    // Nothing to do: the ticket is stale, the request already completed, or it is written
    // and the cancellation is not terminal (the command may still run).
    none,
    // Not written yet: complete it now with operation_aborted. It will never be sent; its op
    // stays in line as a tombstone until the queue reaches it.
    withdrawn,
    // Written: complete it now with client_errc::outcome_unknown (the command may run). Its
    // replies are still read, and dropped, so the pipeline stays in step.
    abandoned,
  };

  // What one node of the read stream did.
  struct reply_event {
    enum class kind : std::uint8_t {
      consumed,    // part of a reply or push still in progress
      push,        // a push message is complete: push_value() holds it
      completed,   // request `id` got all its replies: complete it with success
      discarded,   // request `id`, abandoned earlier, got all its replies: nothing to complete
      unexpected,  // a reply with no written request to take it: the stream is out of step
    };
    kind what = kind::consumed;
    op_id id = 0;
  };

  struct completion {
    op_id id;
    error_code ec;
  };

  request_queue(std::size_t max_pending_requests, std::size_t max_write_bytes);

  // Why a request cannot be queued at all, whatever the connection's state (clear if it can).
  [[nodiscard]] static error_code refusal(const resp::request& req,
                                          const resp::response_adapter& adapter,
                                          bool allow_blocking) noexcept;

  // ---- intake ----
  // Takes a request (refusal() must be clear): admitted if under the limit or `internal`,
  // else into the waiting room. Calls adapter.on_start(). `req` and `adapter` must outlive
  // the request's completion. Allocates only while the pool grows.
  ticket push(const resp::request& req, resp::response_adapter& adapter, bool internal);

  // ---- writing ----
  // Moves queued requests (up to max_write_bytes, at least one) into the write buffer and the
  // written stage; withdrawn ones met on the way are dropped. The view stays valid until the
  // next call; empty when nothing is queued.
  [[nodiscard]] std::string_view prepare_write();
  // The last write buffer reached the socket: requests expecting no reply (RESP3 SUBSCRIBE)
  // are complete. Calls `complete(completion)` for each that was not cancelled.
  template <class F>
  void write_done(F&& complete);

  // ---- reading ----
  // One node of the read stream, attributes removed; `done` when it completed a top-level
  // value (resp::parser::done()). Feeds the adapter of the oldest written request.
  reply_event on_node(const resp::node& n, bool done);
  [[nodiscard]] const resp::value& push_value() noexcept { return push_builder_.result(); }
  // A new session: forget any half-read reply or push.
  void reset_replies();

  // ---- cancellation and loss ----
  // Decides, and records, what a cancellation does to the request at its current stage. The
  // caller completes it on withdrawn/abandoned (see cancel_effect).
  cancel_effect cancel(ticket t, bool terminal) noexcept;
  // Completes every request not yet written with `ec` (waiting room first, so failing the
  // queued ones admits nobody). Calls `complete(completion)` for each not cancelled.
  template <class F>
  void fail_unwritten(error_code ec, F&& complete);
  // Completes every written request with `ec` (the connection that carried it is gone).
  template <class F>
  void fail_written(error_code ec, F&& complete);

  // ---- observers ----
  [[nodiscard]] bool has_queued() const noexcept { return !queued_.empty(); }
  [[nodiscard]] std::size_t admitted() const noexcept { return admitted_; }
  [[nodiscard]] std::size_t peak_admitted() const noexcept { return peak_admitted_; }
  [[nodiscard]] std::size_t waiting() const noexcept { return waiting_room_.size(); }
  // Ops ever created: the pool's size, and the bound of every op id handed out.
  [[nodiscard]] std::size_t pool_size() const noexcept { return ops_.size(); }
  // The stage of a pending request; nullopt once it completed (or for a stale ticket).
  [[nodiscard]] std::optional<stage> stage_of(ticket t) const noexcept;

 private:
  static constexpr op_id no_op = std::numeric_limits<op_id>::max();

  struct op {
    const resp::request* request = nullptr;     // until written or withdrawn
    resp::response_adapter* adapter = nullptr;  // null once abandoned
    std::size_t replies_left = 0;
    std::size_t reply_index = 0;
    std::uint64_t generation = 0;  // bumped on acquire
    op_id next_free = no_op;  // the free list runs through the pool: releasing allocates nothing
    stage where = stage::waiting_room;
    bool finished = false;  // completed early (withdrawn or abandoned)
    bool internal = false;  // skips the admission limit
  };

  op_id acquire();
  void grow_pool();
  // A released op keeps `finished` set until it is acquired again (with a new generation), so
  // an old ticket matches nothing in between too.
  void release(op_id id) noexcept {
    ops_[id].next_free = free_head_;
    free_head_ = id;
  }
  void admit(op_id id);
  // An admitted request left: lets waiting ones in.
  void on_admitted_removed();
  void let_waiting_in();
  // Ends a request that had not finished early; false if it had (nothing to complete).
  bool finish(op& o) noexcept;
  template <class F>
  void fail_fifo(op_fifo& fifo, bool admitted, error_code ec, F& complete);

  std::size_t max_pending_;
  std::size_t max_write_bytes_;
  std::vector<op> ops_;
  op_id free_head_ = no_op;  // most recently released first: the warmest op is reused
  op_fifo waiting_room_;
  op_fifo queued_;
  op_fifo written_;                // awaiting replies, in write order
  std::vector<op_id> unanswered_;  // in the last write, expecting no reply
  std::size_t admitted_ = 0;       // queued + written (tombstones included)
  std::size_t peak_admitted_ = 0;
  std::string write_buffer_;

  resp::value_builder push_builder_;
  bool at_message_start_ = true;
  bool in_push_ = false;
};

// ---- inline: the per-request, per-node and per-completion paths ---------------------------

inline error_code request_queue::refusal(const resp::request& req,
                                         const resp::response_adapter& adapter,
                                         bool allow_blocking) noexcept {
  if (req.command_count() == 0) return client_errc::empty_request;
  if (adapter.expected_replies() != resp::response_adapter::any_count &&
      adapter.expected_replies() != req.reply_count())
    return client_errc::response_size_mismatch;
  if (req.has_blocking_command() && !allow_blocking)
    return client_errc::blocking_command_on_shared_connection;
  return {};
}

inline op_id request_queue::acquire() {
  if (free_head_ == no_op) grow_pool();
  const op_id id = free_head_;
  op& o = ops_[id];
  free_head_ = o.next_free;
  const std::uint64_t generation = o.generation + 1;
  o = op{};
  o.generation = generation;
  return id;
}

inline request_queue::ticket request_queue::push(const resp::request& req,
                                                 resp::response_adapter& adapter, bool internal) {
  adapter.on_start();  // first: if it throws, no op is taken out of the pool
  const op_id id = acquire();
  op& o = ops_[id];
  o.request = &req;
  o.adapter = &adapter;
  o.replies_left = req.reply_count();
  o.internal = internal;
  const ticket t{id, o.generation};
  if (!internal && admitted_ >= max_pending_) {
    o.where = stage::waiting_room;
    waiting_room_.push_back(id);
  } else {
    admit(id);
  }
  return t;
}

inline void request_queue::admit(op_id id) {
  ops_[id].where = stage::queued;
  queued_.push_back(id);
  ++admitted_;
  peak_admitted_ = std::max(peak_admitted_, admitted_);
}

inline bool request_queue::finish(op& o) noexcept {
  const bool live = !o.finished;
  o.finished = true;
  o.request = nullptr;
  o.adapter = nullptr;
  return live;
}

inline void request_queue::on_admitted_removed() {
  --admitted_;
  if (!waiting_room_.empty()) let_waiting_in();
}

// Forced inline: GCC 12 leaves it out of line, and the call's register saves were a
// measurable share of the reader's cost per reply node (callgrind, streamq-bench xadd).
[[gnu::always_inline]] inline request_queue::reply_event request_queue::on_node(const resp::node& n,
                                                                                bool done) {
  if (at_message_start_) {
    in_push_ = n.depth == 0 && n.data_type == resp::type::push;
    at_message_start_ = false;
  }
  if (done) at_message_start_ = true;
  if (in_push_)
    return {push_builder_.on_node(n) ? reply_event::kind::push : reply_event::kind::consumed};

  if (written_.empty()) return {reply_event::kind::unexpected};
  const op_id id = written_.front();
  op& o = ops_[id];
  if (o.adapter != nullptr) o.adapter->on_node(o.reply_index, n);
  if (!done) return {};
  ++o.reply_index;
  if (--o.replies_left > 0) return {};

  written_.pop_front();
  const bool live = finish(o);
  release(id);
  on_admitted_removed();
  return {live ? reply_event::kind::completed : reply_event::kind::discarded, id};
}

template <class F>
void request_queue::write_done(F&& complete) {
  while (!unanswered_.empty()) {
    const op_id id = unanswered_.back();
    unanswered_.pop_back();
    const bool live = finish(ops_[id]);
    release(id);
    on_admitted_removed();
    if (live) complete(completion{id, error_code{}});
  }
}

template <class F>
void request_queue::fail_fifo(op_fifo& fifo, bool admitted, error_code ec, F& complete) {
  while (!fifo.empty()) {
    const op_id id = fifo.front();
    fifo.pop_front();
    if (admitted) --admitted_;
    const bool live = finish(ops_[id]);
    release(id);
    if (live) complete(completion{id, ec});
  }
}

template <class F>
void request_queue::fail_unwritten(error_code ec, F&& complete) {
  fail_fifo(waiting_room_, false, ec, complete);
  fail_fifo(queued_, true, ec, complete);
}

template <class F>
void request_queue::fail_written(error_code ec, F&& complete) {
  fail_fifo(written_, true, ec, complete);
  for (const op_id id : unanswered_) {
    --admitted_;
    const bool live = finish(ops_[id]);
    release(id);
    if (live) complete(completion{id, ec});
  }
  unanswered_.clear();
}

}  // namespace streamq::redis::detail

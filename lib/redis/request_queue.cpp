#include "request_queue.hpp"

#include <algorithm>
#include <stdexcept>

namespace streamq::redis::detail {

void op_fifo::grow() {
  // Unrolled into the new ring so that the mask arithmetic holds for its size.
  std::vector<op_id> bigger(std::max<std::size_t>(16, slots_.size() * 2));
  for (std::size_t i = 0; i < size_; ++i) bigger[i] = slots_[(head_ + i) & mask_];
  slots_.swap(bigger);
  mask_ = slots_.size() - 1;
  head_ = 0;
}

request_queue::request_queue(std::size_t max_pending_requests, std::size_t max_write_bytes)
    : max_pending_(max_pending_requests), max_write_bytes_(max_write_bytes) {}

void request_queue::grow_pool() {
  if (ops_.size() >= no_op)
    throw std::length_error("streamq: too many pending requests on one connection");
  ops_.emplace_back();
  release(static_cast<op_id>(ops_.size() - 1));
}

void request_queue::let_waiting_in() {
  while (admitted_ < max_pending_ && !waiting_room_.empty()) {
    const op_id id = waiting_room_.front();
    waiting_room_.pop_front();
    if (ops_[id].finished)
      release(id);
    else
      admit(id);
  }
}

std::string_view request_queue::prepare_write() {
  write_buffer_.clear();
  while (!queued_.empty() && write_buffer_.size() < max_write_bytes_) {
    const op_id id = queued_.front();
    queued_.pop_front();
    op& o = ops_[id];
    if (o.finished) {  // withdrawn while queued
      release(id);
      on_admitted_removed();
      continue;
    }
    write_buffer_.append(o.request->payload());
    o.request = nullptr;
    o.where = stage::written;
    if (o.replies_left == 0)
      unanswered_.push_back(id);
    else
      written_.push_back(id);
  }
  return write_buffer_;
}

void request_queue::reset_replies() {
  push_builder_.reset();
  at_message_start_ = true;
  in_push_ = false;
}

request_queue::cancel_effect request_queue::cancel(ticket t, bool terminal) noexcept {
  if (t.id >= ops_.size()) return cancel_effect::none;
  op& o = ops_[t.id];
  if (o.generation != t.generation || o.finished) return cancel_effect::none;
  // Not yet written: withdrawing has no side effect, so any cancellation type is honoured.
  // Written: only terminal cancellation, since the command may still run; the reply is then
  // read and dropped (adapter cleared by finish) so the pipeline stays in step.
  if (o.where == stage::written && !terminal) return cancel_effect::none;
  const bool written = o.where == stage::written;
  finish(o);
  return written ? cancel_effect::abandoned : cancel_effect::withdrawn;
}

std::optional<request_queue::stage> request_queue::stage_of(ticket t) const noexcept {
  if (t.id >= ops_.size()) return std::nullopt;
  const op& o = ops_[t.id];
  if (o.generation != t.generation || o.finished) return std::nullopt;
  return o.where;
}

}  // namespace streamq::redis::detail

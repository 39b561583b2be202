#include "redirect_adapter.hpp"

namespace streamq::redis::cluster {

std::size_t redirect_adapter::expected_replies() const noexcept {
  const std::size_t inner = inner_.expected_replies();
  return inner == any_count ? any_count : inner + skip_;
}

void redirect_adapter::on_start() {
  holding_ = false;
  outcome_ = {};
  held_.clear();
  held_text_.clear();
  inner_.on_start();
}

void redirect_adapter::on_node(std::size_t reply, const resp::node& n) {
  if (reply < skip_) return;  // ASKING's +OK (or its error: the command after it says more)
  const std::size_t r = reply - skip_;
  if (n.depth == 0) {
    ++outcome_.replies;
    outcome_.last_reply_execabort = false;
    if (resp::is_error(n.data_type)) {
      const auto code = resp::classify_server_error(n.value);
      outcome_.last_reply_execabort = code == resp::server_errc::execabort;
      if (is_cluster_fault(code)) {
        if (outcome_.faults++ == 0) outcome_.first_fault = code;
        holding_ = true;
      }
    }
  }
  if (!holding_) {
    inner_.on_node(r, n);
    return;
  }
  held_.push_back({r, n.data_type, n.aggregate_size, n.depth, held_text_.size(), n.value.size()});
  held_text_.append(n.value);
  // Holding starts at the first fault: the first held node is it. Its text points into the
  // copy (the parser's buffer moves on), re-pointed as the copy grows.
  const auto& first = held_.front();
  outcome_.first_fault_text = std::string_view(held_text_).substr(first.offset, first.size);
}

void redirect_adapter::deliver() {
  for (const auto& h : held_) {
    resp::node n;
    n.data_type = h.data_type;
    n.aggregate_size = h.aggregate_size;
    n.depth = h.depth;
    n.value = std::string_view(held_text_).substr(h.offset, h.size);
    inner_.on_node(h.reply, n);
  }
  held_.clear();
  held_text_.clear();
  outcome_.first_fault_text = {};
}

}  // namespace streamq::redis::cluster

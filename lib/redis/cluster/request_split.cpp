#include "request_split.hpp"

#include <algorithm>
#include <utility>

namespace streamq::redis::cluster {

bool splittable(const resp::request& req) noexcept {
  return req.cross_slot() && !req.command_cross_slot() && !req.has_transaction() &&
         !req.has_blocking_command();
}

std::vector<request_part> split_by_slot(const resp::request& req) {
  std::vector<request_part> parts;
  std::vector<std::uint16_t> part_slot;  // parallel to parts
  std::vector<std::size_t> keyless;       // commands without keys, for the first part
  std::size_t reply = 0;
  // Where each keyless command's reply belongs, taken in command order below.
  std::vector<std::size_t> keyless_reply;
  for (std::size_t i = 0; i < req.command_count(); ++i) {
    const auto info = req.command(i);
    const std::size_t this_reply = reply;
    if (info.replied) ++reply;
    if (!info.slot) {
      keyless.push_back(i);
      keyless_reply.push_back(this_reply);
      continue;
    }
    const auto at = std::find(part_slot.begin(), part_slot.end(), *info.slot);
    const auto p = static_cast<std::size_t>(at - part_slot.begin());
    if (at == part_slot.end()) {
      part_slot.push_back(*info.slot);
      parts.emplace_back();
    }
    parts[p].req.append_command(req, i);
    if (info.replied) parts[p].reply_index.push_back(this_reply);
  }
  if (keyless.empty()) return parts;
  if (parts.empty()) parts.emplace_back();
  // The keyless commands go after the first part's own: their replies are independent of them.
  auto& first = parts.front();
  for (std::size_t k = 0; k < keyless.size(); ++k) {
    first.req.append_command(req, keyless[k]);
    if (req.command(keyless[k]).replied) first.reply_index.push_back(keyless_reply[k]);
  }
  return parts;
}

void reply_recorder::on_start() {
  nodes_.clear();
  reply_start_.clear();
  text_.clear();
}

void reply_recorder::on_node(std::size_t reply, const resp::node& n) {
  // Replies arrive in order, each depth-first: a new reply starts at depth 0.
  if (n.depth == 0 && reply >= reply_start_.size()) reply_start_.push_back(nodes_.size());
  nodes_.push_back({n.data_type, n.aggregate_size, n.depth, text_.size(), n.value.size()});
  text_.append(n.value);
}

void reply_recorder::replay(std::size_t reply, std::size_t as, resp::response_adapter& to) const {
  if (reply >= reply_start_.size()) return;
  const std::size_t end = reply + 1 < reply_start_.size() ? reply_start_[reply + 1] : nodes_.size();
  for (std::size_t i = reply_start_[reply]; i < end; ++i) {
    const auto& r = nodes_[i];
    resp::node n;
    n.data_type = r.data_type;
    n.aggregate_size = r.aggregate_size;
    n.depth = r.depth;
    n.value = std::string_view(text_).substr(r.offset, r.size);
    to.on_node(as, n);
  }
}

void merge_replies(std::span<const request_part> parts, std::span<const reply_recorder> recorded,
                   resp::response_adapter& to) {
  // (whole-request reply, part, reply within the part), sorted by the first.
  struct source {
    std::size_t whole;
    std::size_t part;
    std::size_t local;
  };
  std::vector<source> order;
  for (std::size_t p = 0; p < parts.size() && p < recorded.size(); ++p)
    for (std::size_t i = 0; i < parts[p].reply_index.size(); ++i)
      order.push_back({parts[p].reply_index[i], p, i});
  std::sort(order.begin(), order.end(),
            [](const source& a, const source& b) { return a.whole < b.whole; });
  to.on_start();
  for (const auto& s : order) recorded[s.part].replay(s.local, s.whole, to);
}

}  // namespace streamq::redis::cluster

#include "stream_reply.hpp"

#include <algorithm>

namespace streamq::streams::detail {

void stream_read_reply::on_start() {
  entries_.clear();
  error_.clear();
  diagnostic_.clear();
  attributes_ = resp::attribute_filter{};
  base_ = 0;
  known_stream_ = false;
}

// Shapes (depth in brackets), b = 0 for RESP3, 1 for RESP2:
//   RESP3: map[0] { name[1] : entries[1] [ pair[2] [ id[3], fields[3] [ text[4]... ] | nil ] ] }
//   RESP2: array[0] [ pair[1] [ name[2], entries[2] [ pair[3] [ id[4], fields[4] [...] ] ] ] ]
void stream_read_reply::on_node(std::size_t /*reply*/, const resp::node& n) {
  if (!attributes_.keep(n)) return;
  const bool aggregate = resp::is_aggregate(n.data_type);
  if (n.depth == 0) {
    if (resp::is_error(n.data_type)) {
      error_ = resp::classify_server_error(n.value);
      diagnostic_.assign(n.value);
    }
    base_ = n.data_type == resp::type::map ? 0 : 1;
    return;
  }
  const std::size_t depth = n.depth - base_;
  if (depth == 1 && !aggregate) {  // a stream name
    known_stream_ = false;
    for (std::size_t i = 0; i < streams_->size(); ++i)
      if ((*streams_)[i] == n.value) {
        current_stream_ = i;
        known_stream_ = true;
        break;
      }
    return;
  }
  if (!known_stream_) return;
  if (depth == 2 && aggregate) {  // one entry: [id, fields]
    if (spare_ != nullptr && !spare_->empty()) {
      entries_.push_back(std::move(spare_->back()));
      spare_->pop_back();
    } else {
      entries_.emplace_back();
    }
    read_entry& entry = entries_.back();
    entry.stream = current_stream_;
    entry.id.clear();
    // Kept for this entry's own fields; bounded, so that entries with fewer fields than the
    // ones they replace cannot make it grow without end.
    constexpr std::size_t max_spare_fields = 64;
    for (auto& field : entry.fields)
      if (spare_fields_.size() < max_spare_fields) spare_fields_.push_back(std::move(field));
    entry.fields.clear();
    entry.deleted = false;
    return;
  }
  if (entries_.empty()) return;
  read_entry& entry = entries_.back();
  if (depth == 3) {
    if (aggregate) {
      // Announced sizes are the peer's word: reserve no more than a few fields up front.
      entry.fields.reserve(std::min<std::size_t>(n.aggregate_size, 16));
    } else if (n.data_type == resp::type::null) {
      entry.deleted = true;
    } else {
      entry.id.assign(n.value);
    }
  } else if (depth == 4 && !aggregate) {
    if (spare_fields_.empty()) {
      entry.fields.emplace_back(n.value);
    } else {
      entry.fields.push_back(std::move(spare_fields_.back()));
      spare_fields_.pop_back();
      entry.fields.back().assign(n.value);
    }
  }
}

}  // namespace streamq::streams::detail

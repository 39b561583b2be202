#include "stream_reply.hpp"

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
    entries_.emplace_back().stream = current_stream_;
    return;
  }
  if (entries_.empty()) return;
  read_entry& entry = entries_.back();
  if (depth == 3) {
    if (aggregate) {
      entry.fields.reserve(n.aggregate_size);
    } else if (n.data_type == resp::type::null) {
      entry.deleted = true;
    } else {
      entry.id.assign(n.value);
    }
  } else if (depth == 4 && !aggregate) {
    entry.fields.emplace_back(n.value);
  }
}

}  // namespace streamq::streams::detail

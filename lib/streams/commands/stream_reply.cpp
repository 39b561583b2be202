#include "stream_reply.hpp"

#include <streamq/streams/error.hpp>

#include <algorithm>

namespace streamq::streams::detail {

namespace {
bool is_text(resp::type t) noexcept {
  return t == resp::type::blob_string || t == resp::type::simple_string ||
         t == resp::type::verbatim_string;
}
}  // namespace

void stream_read_reply::on_start() {
  entries_.clear();
  error_.clear();
  diagnostic_.clear();
  attributes_ = resp::attribute_filter{};
  base_ = 0;
  entry_part_ = 0;
  known_stream_ = false;
  expect_name_ = true;
  done_ = false;
}

void stream_read_reply::fail(const char* what) {
  error_ = make_error_code(errc::malformed_entry);
  diagnostic_ = std::string("unexpected reply shape: ") + what;
  // Handed back like handled entries: their buffers serve the next reply.
  if (spare_ != nullptr)
    for (auto& entry : entries_) spare_->push_back(std::move(entry));
  entries_.clear();
  done_ = true;
}

void stream_read_reply::start_entry() {
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
}

// Depths, b = 0 for RESP3, 1 for RESP2 (where each stream is a pair one level down):
//   RESP3: map[0] { name[1] : entries[1] [ entry[2] [ id[3], fields[3] [ text[4]... ] | nil ] ] }
//   RESP2: array[0] [ pair[1] [ name[2], entries[2] [ entry[3] [ id[4], fields[4] [...] ] ] ] ]
void stream_read_reply::on_node(std::size_t /*reply*/, const resp::node& n) {
  if (done_ || !attributes_.keep(n)) return;
  const bool aggregate = resp::is_aggregate(n.data_type);
  if (n.depth == 0) {
    if (resp::is_error(n.data_type)) {
      error_ = resp::classify_server_error(n.value);
      diagnostic_.assign(n.value);
      done_ = true;
    } else if (n.data_type == resp::type::map) {
      base_ = 0;
    } else if (n.data_type == resp::type::array) {
      base_ = 1;
    } else if (n.data_type != resp::type::null) {
      fail("reply: neither a map nor an array");
    }
    return;
  }
  if (n.depth < base_ + 1) {  // RESP2: one stream's [name, entries]
    if (n.data_type != resp::type::array || n.aggregate_size != 2) fail("stream: not a pair");
    return;
  }
  const std::size_t depth = n.depth - base_;
  if (depth == 1) {
    if (expect_name_) {
      if (!is_text(n.data_type)) return fail("stream name");
      known_stream_ = false;
      for (std::size_t i = 0; i < streams_->size(); ++i)
        if ((*streams_)[i] == n.value) {
          current_stream_ = i;
          known_stream_ = true;
          break;
        }
    } else if (n.data_type != resp::type::array) {
      return fail("entries: not an array");
    }
    expect_name_ = !expect_name_;
    return;
  }
  if (depth == 2) {  // one entry: [id, fields]
    if (n.data_type != resp::type::array || n.aggregate_size != 2) return fail("entry");
    entry_part_ = 0;
    if (known_stream_) start_entry();
    return;
  }
  if (depth == 3) {
    const std::size_t part = entry_part_++;
    if (part == 0 && !is_text(n.data_type)) return fail("entry ID");
    if (part == 1 && n.data_type != resp::type::null &&
        (n.data_type != resp::type::array || n.aggregate_size % 2 != 0))
      return fail("entry fields");
    if (!known_stream_) return;
    read_entry& entry = entries_.back();
    if (part == 0) {
      entry.id.assign(n.value);
    } else if (n.data_type == resp::type::null) {
      entry.deleted = true;
    } else {
      // Announced sizes are the peer's word: reserve no more than a few fields up front.
      entry.fields.reserve(std::min<std::size_t>(n.aggregate_size, 16));
    }
    return;
  }
  // depth 4: a field or a value (deeper nodes are children of an aggregate refused here).
  if (aggregate || !is_text(n.data_type)) return fail("field");
  if (!known_stream_) return;
  read_entry& entry = entries_.back();
  if (spare_fields_.empty()) {
    entry.fields.emplace_back(n.value);
  } else {
    entry.fields.push_back(std::move(spare_fields_.back()));
    spare_fields_.pop_back();
    entry.fields.back().assign(n.value);
  }
}

}  // namespace streamq::streams::detail

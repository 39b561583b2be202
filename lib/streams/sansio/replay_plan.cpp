#include "replay_plan.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>

#include <boost/asio/error.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace streamq::streams::detail {

namespace {

bool parse_number(std::string_view text, std::uint64_t& out) noexcept {
  if (text.empty()) return false;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(text.data(), last, out);
  return ec == std::errc() && end == last;
}

std::uint64_t millis(std::chrono::system_clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

}  // namespace

std::string entry_id::text() const {
  return std::to_string(ms) + "-" + std::to_string(seq);
}

std::optional<entry_id> parse_entry_id(std::string_view text, std::uint64_t missing_seq) noexcept {
  entry_id id;
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (!parse_number(text, id.ms)) return std::nullopt;
    id.seq = missing_seq;
    return id;
  }
  if (!parse_number(text.substr(0, dash), id.ms) || !parse_number(text.substr(dash + 1), id.seq))
    return std::nullopt;
  return id;
}

std::optional<entry_id> id_before(entry_id id) noexcept {
  if (id.seq > 0) return entry_id{id.ms, id.seq - 1};
  if (id.ms > 0) return entry_id{id.ms - 1, UINT64_MAX};
  return std::nullopt;
}

range_start start_of(const replay_options& options, std::uint32_t partition) {
  if (options.after) {
    const auto id = parse_entry_id(options.after->id);
    return {id, partition <= options.after->partition};
  }
  if (!options.from_id.empty()) return {parse_entry_id(options.from_id, 0), false};
  if (options.from_time) return {entry_id{millis(*options.from_time), 0}, false};
  return {};
}

std::optional<entry_id> requested_end(const replay_options& options) {
  if (!options.to_id.empty()) return parse_entry_id(options.to_id, UINT64_MAX);
  if (options.to_time) return entry_id{millis(*options.to_time), UINT64_MAX};
  return std::nullopt;
}

std::string xrange_start(const range_start& start) {
  if (!start.first) return "-";
  return (start.exclusive ? "(" : "") + start.first->text();
}

std::string group_position(const range_start& start) {
  if (!start.first) return "0";
  if (start.exclusive) return start.first->text();
  const auto before = id_before(*start.first);
  return before ? before->text() : "0";
}

stream_range plan_range(const range_start& start, std::optional<entry_id> requested,
                        std::optional<entry_id> first, std::optional<entry_id> last) {
  stream_range range;
  if (!first || !last) return range;
  range.trimmed_before = start.first && *start.first < *first;
  const entry_id end = requested ? std::min(*requested, *last) : *last;
  // Nothing to read when the start lies past the end.
  if (start.first && (*start.first > end || (start.exclusive && *start.first == end))) return range;
  range.end = end;
  return range;
}

std::string options_problem(const replay_options& o) {
  if (!is_valid_topic_name(o.topic)) return "topic: not a valid topic name";
  if (!is_valid_key_prefix(o.key_prefix)) return "key_prefix: " + key_prefix_problem(o.key_prefix);
  const int starts = int(!o.from_id.empty()) + int(o.from_time.has_value()) + int(o.after.has_value());
  if (starts > 1) return "from_id, from_time, after: give at most one start";
  if (!o.from_id.empty() && !parse_entry_id(o.from_id)) return "from_id: not an entry ID";
  if (o.after) {
    if (!parse_entry_id(o.after->id) || o.after->id.find('-') == std::string::npos)
      return "after: id is not an entry ID \"ms-seq\"";
    if (o.after->partition >= max_partitions) return "after: partition out of range";
  }
  if (!o.to_id.empty() && o.to_time) return "to_id, to_time: give at most one end";
  if (!o.to_id.empty() && !parse_entry_id(o.to_id)) return "to_id: not an entry ID";
  if (o.page_size < 1 || o.page_size > 10000) return "page_size: must be 1 to 10000";
  if (!std::isfinite(o.max_per_second) || o.max_per_second < 0)
    return "max_per_second: must be 0 (unlimited) or positive";
  if (o.retry_for.count() <= 0) return "retry_for: must be positive";
  if (o.request_timeout.count() <= 0) return "request_timeout: must be positive";
  if (o.progress_interval.count() <= 0) return "progress_interval: must be positive";
  return {};
}

bool matches(const replay_filter& filter, const v1::Envelope& envelope) {
  if (!filter.types.empty() &&
      std::find(filter.types.begin(), filter.types.end(), envelope.type()) == filter.types.end())
    return false;
  if (filter.partition_key && envelope.partition_key() != *filter.partition_key) return false;
  for (const auto& [name, value] : filter.headers) {
    const auto found = envelope.headers().find(name);
    if (found == envelope.headers().end() || found->second != value) return false;
  }
  return true;
}

std::string replay_idempotency_key(std::string_view source_topic, std::string_view entry_id) {
  std::string key = "replay:";
  key.append(source_topic).append(":").append(entry_id);
  return key;
}

void replay_merge::add_source(const range_start& start, std::optional<entry_id> end) {
  cursor c;
  c.start = start;
  c.end = end;
  c.exhausted = !end.has_value();
  sources_.push_back(std::move(c));
}

replay_merge::action replay_merge::next() const {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const auto& c = sources_[i];
    if (c.buffered.empty()) {
      if (!c.exhausted) return {action::kind::read, i};
      continue;
    }
    // Ties go to the lower source: strict comparison keeps the first.
    if (!best || c.ids.front() < sources_[*best].ids.front()) best = i;
  }
  if (best) return {action::kind::take, *best};
  return {action::kind::done, 0};
}

std::string replay_merge::start_arg(std::size_t source) const {
  return xrange_start(sources_.at(source).start);
}

std::string replay_merge::end_arg(std::size_t source) const {
  const auto& end = sources_.at(source).end;
  return end ? end->text() : "+";
}

void replay_merge::on_page(std::size_t source, std::vector<replay_entry> page,
                           std::size_t page_size) {
  auto& c = sources_.at(source);
  const bool full = page.size() >= page_size;
  for (auto& entry : page) {
    const auto id = parse_entry_id(entry.id);
    // A reply outside the range asked for (or an unparsable ID) would break the order.
    if (!id || !c.end || *id > *c.end || (c.start.first && *id < *c.start.first) ||
        (c.start.first && c.start.exclusive && *id == *c.start.first))
      continue;
    c.start = {*id, true};
    c.ids.push_back(*id);
    c.buffered.push_back(std::move(entry));
  }
  if (!full || (c.start.first && c.end && *c.start.first >= *c.end)) c.exhausted = true;
}

replay_entry replay_merge::take(std::size_t source) {
  auto& c = sources_.at(source);
  replay_entry entry = std::move(c.buffered.front());
  c.buffered.pop_front();
  c.ids.pop_front();
  return entry;
}

std::optional<std::chrono::milliseconds> retry_delay(const error_code& ec,
                                                     std::chrono::milliseconds failing_for,
                                                     std::chrono::milliseconds retry_for,
                                                     unsigned retries) noexcept {
  using std::chrono::milliseconds;
  if (!ec || failing_for >= retry_for) return std::nullopt;
  const bool curable = [&] {
    if (ec == errc::publish_indeterminate || redis::is_retryable(ec)) return true;
    if (redis::is_fatal(ec) || ec == boost::asio::error::operation_aborted ||
        ec == redis::client_errc::shut_down)
      return false;
    // Refusals: the server's (what is_retryable did not take), ours (malformed reply,
    // message too large...), and the client's that no reconnect changes.
    const std::error_code std_ec = ec;
    if (std_ec.category() == resp::server_category() || ec.category() == streams_category())
      return false;
    return ec != redis::client_errc::cross_slot && ec != redis::client_errc::invalid_url &&
           ec != redis::client_errc::blocking_command_on_shared_connection;
  }();
  if (!curable) return std::nullopt;
  const milliseconds doubled{20L << std::min(retries, 6U)};
  return std::min({doubled, milliseconds(1000), retry_for - failing_for});
}

replay_pacer::replay_pacer(double per_second) noexcept {
  if (per_second > 0)
    interval_ = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(1.0 / per_second));
}

replay_pacer::clock::duration replay_pacer::before_next(clock::time_point now) noexcept {
  if (interval_ == clock::duration::zero()) return clock::duration::zero();
  if (!due_) {
    due_ = now;
    return clock::duration::zero();
  }
  auto due = *due_ + interval_;
  if (due + interval_ < now) due = now;
  due_ = due;
  return due > now ? due - now : clock::duration::zero();
}

}  // namespace streamq::streams::detail

#include "sansio/lag.hpp"

#include "sansio/growth.hpp"  // parse_entry_id

#include <algorithm>

namespace streamq::streams::detail {

lag_plan plan_lag(const stream_summary& stream, const group_position& group) {
  if (stream.length == 0) return {0, {}};
  const auto delivered = parse_entry_id(group.last_delivered_id);
  const auto last = parse_entry_id(stream.last_generated_id);
  const auto first = parse_entry_id(stream.first_entry_id);
  if (!delivered) return {stream.length, {}};  // unreadable position: everything counts
  if (last && *delivered >= *last) return {0, {}};
  if (first && *delivered < *first) return {stream.length, {}};
  return {std::nullopt, group.last_delivered_id};
}

std::uint64_t counted_lag(const stream_summary& stream, const group_position& group,
                          std::uint64_t counted, bool complete, std::uint64_t limit) {
  if (complete) return std::min(counted, stream.length);
  std::uint64_t estimate = stream.length;
  if (stream.entries_added && group.entries_read && *stream.entries_added >= *group.entries_read)
    estimate = *stream.entries_added - *group.entries_read;
  const std::uint64_t floor = std::min(std::max(counted, limit), stream.length);
  return std::clamp(estimate, floor, stream.length);
}

std::uint64_t id_age_ms(const std::string& id, std::int64_t now_ms) {
  const auto parsed = parse_entry_id(id);
  if (!parsed || now_ms < 0 || parsed->ms >= static_cast<std::uint64_t>(now_ms)) return 0;
  return static_cast<std::uint64_t>(now_ms) - parsed->ms;
}

double id_age_seconds(const std::string& id, std::int64_t now_ms) {
  return static_cast<double>(id_age_ms(id, now_ms)) / 1000.0;
}

}  // namespace streamq::streams::detail

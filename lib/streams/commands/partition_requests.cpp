#include "partition_requests.hpp"

#include "reply_checks.hpp"
#include "script.hpp"

#include <streamq/streams/envelope.hpp>

#include <streamq_lua_scripts.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

namespace {

const lua_script& set_partitions_script() {
  static const lua_script script(lua::set_partitions);
  return script;
}

const lua_script& publish_partition_script() {
  static const lua_script script(lua::publish_partition);
  return script;
}

// A count as stored: 1 to max_partitions.
bool to_count(const resp::value& v, std::uint32_t& out) {
  std::uint32_t n = 0;
  if (!reply::to_integer(v, n) || n == 0 || n > max_partitions) return false;
  out = n;
  return true;
}

bool is_integer(const resp::value& v) noexcept { return v.data_type == resp::type::integer; }

}  // namespace

void build_partition_count(resp::request& req, const topic_keys& keys) {
  req.push("HGET", resp::key{keys.partitions()}, "count");
}

command_result decode_partition_count(const resp::value& reply, std::uint32_t& partitions) {
  partitions = 0;
  if (reply.is_error()) return reply::refused(reply);
  if (reply.data_type == resp::type::null) return {};
  if (!reply::is_text(reply) || !to_count(reply, partitions))
    return reply::malformed("partition count");
  return {};
}

void build_set_partitions(resp::request& req, bool by_source, const topic_keys& keys,
                          std::uint32_t partitions) {
  set_partitions_script().push(req, by_source, 1, resp::key{keys.partitions()}, partitions);
}

command_result decode_set_partitions(const resp::value& reply, partitions_set& out) {
  out = {};
  if (reply.is_error()) return reply::refused(reply);
  std::int64_t outcome = 0;
  std::uint32_t count = 0;
  const auto& e = reply.elements;
  if (!reply::is_array(reply) || e.size() < 2 || e.size() > 3 || !is_integer(e[0]) ||
      !is_integer(e[1]) || !to_count(e[0], count) || !reply::to_integer(e[1], outcome) ||
      outcome < -3 || outcome > 2 || (outcome == -3) != (e.size() == 3))
    return reply::malformed("set_partitions {count, outcome[, target]}");
  std::uint32_t target = 0;
  if (e.size() == 3 && (!is_integer(e[2]) || !to_count(e[2], target) || target <= count))
    return reply::malformed("set_partitions target");
  out.count = count;
  const std::string has = std::to_string(count);
  switch (outcome) {
    case -1:
      return {errc::invalid_argument, "partitions never shrink: the topic has " + has};
    case -2:
      return {errc::invalid_argument,
              "a topic grows only to a multiple of its count, so that every key keeps its "
              "order: the topic has " + has};
    case -3:
      return {errc::invalid_argument, "a growth from " + has + " to " + std::to_string(target) +
                                          " is unfinished: run set_partitions(" +
                                          std::to_string(target) + ") to complete it first"};
    case 2:
      out.growing = true;
      break;
    default:
      break;
  }
  return {};
}

void build_publish_partition(resp::request& req, bool by_source, const topic_keys& keys,
                             std::uint32_t routed, std::span<const std::string> dedup_keys,
                             std::chrono::milliseconds window,
                             std::span<const std::string_view> entries) {
  std::vector<resp::key> script_keys{resp::key{keys.stream()}, resp::key{keys.meta()}};
  script_keys.reserve(2 + dedup_keys.size());
  for (const auto& key : dedup_keys) script_keys.push_back(resp::key{key});
  publish_partition_script().push(req, by_source, script_keys.size(), script_keys, routed,
                                  window.count(), version_field, envelope_version,
                                  envelope_field, entries);
}

command_result decode_publish_partition(const resp::value& reply, std::size_t entries,
                                        batch_result& out, std::uint32_t& current) {
  current = 0;
  std::int64_t first = 0;
  // [-1, count]: never an entry's pair, whose first element is 0 or 1.
  if (reply::is_array(reply) && reply.elements.size() == 2 && is_integer(reply.elements[0]) &&
      reply::to_integer(reply.elements[0], first) && first == -1) {
    out = {};
    if (!is_integer(reply.elements[1]) || !to_count(reply.elements[1], current))
      return reply::malformed("publish_partition refusal count");
    return {errc::partitions_changed,
            "the partition takes publishes routed with " + std::to_string(current) +
                " partitions"};
  }
  return decode_publish_batch(reply, entries, out);
}

}  // namespace streamq::streams::detail

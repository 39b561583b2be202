#include "partition_requests.hpp"

#include "reply_checks.hpp"
#include "script.hpp"

#include <streamq_lua_scripts.hpp>

#include <string>

namespace streamq::streams::detail {

namespace {

const lua_script& set_partitions_script() {
  static const lua_script script(lua::set_partitions);
  return script;
}

// A count as stored: 1 to max_partitions.
bool to_count(const resp::value& v, std::uint32_t& out) {
  std::uint32_t n = 0;
  if (!reply::to_integer(v, n) || n == 0 || n > max_partitions) return false;
  out = n;
  return true;
}

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

command_result decode_set_partitions(const resp::value& reply, std::uint32_t& partitions) {
  partitions = 0;
  if (reply.is_error()) return reply::refused(reply);
  std::int64_t outcome = 0;
  std::uint32_t count = 0;
  if (!reply::is_array(reply) || reply.elements.size() != 2 ||
      reply.elements[0].data_type != resp::type::integer ||
      reply.elements[1].data_type != resp::type::integer || !to_count(reply.elements[0], count) ||
      !reply::to_integer(reply.elements[1], outcome) || outcome < -1 || outcome > 1)
    return reply::malformed("set_partitions {count, outcome}");
  partitions = count;
  if (outcome == -1)
    return {errc::invalid_argument,
            "partitions never shrink: the topic has " + std::to_string(count)};
  return {};
}

}  // namespace streamq::streams::detail

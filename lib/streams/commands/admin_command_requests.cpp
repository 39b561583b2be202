#include "admin_command_requests.hpp"

#include "reply_checks.hpp"
#include "script.hpp"

#include <streamq_lua_scripts.hpp>

#include <algorithm>

namespace streamq::streams::detail {

namespace {

const lua_script& trim_script() {
  static const lua_script script(lua::trim_stream);
  return script;
}

}  // namespace

void build_trim_plan(resp::request& req, bool by_source, const topic_keys& keys,
                     std::uint64_t max_length, std::chrono::milliseconds max_age,
                     bool unacknowledged) {
  trim_script().push(req, by_source, 1, resp::key{keys.stream()}, max_length,
                     std::max<std::int64_t>(0, max_age.count()), unacknowledged ? "1" : "0",
                     "plan");
}

command_result decode_trim_plan(const resp::value& reply, trim_plan& plan) {
  plan = {};
  if (reply.is_error()) return reply::refused(reply);
  std::vector<std::string> parts;
  if (!reply::to_strings(reply, parts) || parts.size() != 4) return reply::malformed("trim_plan");
  plan = {parts[0], parts[1], parts[2], parts[3]};
  return {};
}

void build_tail_read(resp::request& req, const std::string& stream, const std::string& after,
                     std::size_t count, std::chrono::milliseconds block) {
  req.push("XREAD", "COUNT", count, "BLOCK", block.count(), "STREAMS", resp::key{stream}, after);
}

command_result decode_tail_read(const resp::value& reply, std::vector<stream_entry>& entries) {
  entries.clear();
  if (reply.is_error()) return reply::refused(reply);
  if (reply.is_null()) return {};
  // One stream asked for: RESP3 {stream: entries}, or RESP2 [[stream, entries]].
  const resp::value* stream_entries = nullptr;
  if (reply.data_type == resp::type::map && reply.elements.size() == 2) {
    stream_entries = &reply.elements[1];
  } else if (reply::is_array(reply) && reply.elements.size() == 1 &&
             reply::is_array(reply.elements[0]) && reply.elements[0].elements.size() == 2) {
    stream_entries = &reply.elements[0].elements[1];
  }
  if (stream_entries == nullptr) return reply::malformed("tail_read");
  return decode_dead_letter_range(*stream_entries, entries);
}

}  // namespace streamq::streams::detail

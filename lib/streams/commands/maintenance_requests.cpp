#include "maintenance_requests.hpp"

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

const lua_script& idle_script() {
  static const lua_script script(lua::remove_idle_consumers);
  return script;
}

const lua_script& refresh_script() {
  static const lua_script script(lua::refresh_claims);
  return script;
}

// A list of names or IDs, for `script`'s reply.
command_result decode_list(const resp::value& reply, std::vector<std::string>& out,
                           const char* script) {
  out.clear();
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::to_strings(reply, out)) return reply::malformed(script);
  return {};
}

}  // namespace

void build_trim_stream(resp::request& req, bool by_source, const topic_keys& keys,
                       std::uint64_t max_length, std::chrono::milliseconds max_age,
                       bool unacknowledged) {
  trim_script().push(req, by_source, 1, resp::key{keys.stream()}, max_length,
                     std::max<std::int64_t>(0, max_age.count()), unacknowledged ? "1" : "0");
}

command_result decode_trim_stream(const resp::value& reply, std::uint64_t& removed) {
  return reply::count(reply, removed, "trim_stream");
}

void build_remove_idle_consumers(resp::request& req, bool by_source, const topic_keys& keys,
                                 const std::string& group, std::chrono::milliseconds idle,
                                 const std::string& keep) {
  idle_script().push(req, by_source, 1, resp::key{keys.stream()}, group, idle.count(), keep);
}

command_result decode_remove_idle_consumers(const resp::value& reply,
                                            std::vector<std::string>& removed) {
  return decode_list(reply, removed, "remove_idle_consumers");
}

void build_refresh_claims(resp::request& req, bool by_source, const topic_keys& keys,
                          const std::string& group, const std::string& consumer,
                          std::span<const std::string> ids) {
  refresh_script().push(req, by_source, 1, resp::key{keys.stream()}, group, consumer, ids);
}

command_result decode_refresh_claims(const resp::value& reply, std::vector<std::string>& kept) {
  return decode_list(reply, kept, "refresh_claims");
}

}  // namespace streamq::streams::detail

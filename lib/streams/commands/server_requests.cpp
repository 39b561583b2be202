#include "server_requests.hpp"

#include "reply_checks.hpp"

#include <string_view>
#include <utility>
#include <vector>

namespace streamq::streams::detail {

namespace {
constexpr std::string_view policy_parameter = "maxmemory-policy";
}  // namespace

void build_memory_info(resp::request& req) {
  req.push("INFO", "memory");
}

command_result decode_memory_info_policy(const resp::value& reply,
                                         std::optional<std::string>& policy) {
  policy.reset();
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_text(reply)) return reply::malformed("INFO reply");
  // A line of its own: "\r\n" before it unless it is the first.
  constexpr std::string_view field = "maxmemory_policy:";
  const std::string& info = reply.text;
  for (std::size_t at = info.find(field); at != std::string::npos; at = info.find(field, at + 1)) {
    if (at != 0 && info[at - 1] != '\n') continue;
    const auto start = at + field.size();
    const auto end = info.find_first_of("\r\n", start);
    policy = info.substr(start, end == std::string::npos ? std::string::npos : end - start);
    return {};
  }
  return {};
}

void build_config_eviction_policy(resp::request& req) {
  req.push("CONFIG", "GET", policy_parameter);
}

command_result decode_config_eviction_policy(const resp::value& reply,
                                             std::optional<std::string>& policy) {
  policy.reset();
  if (reply.is_error()) return reply::refused(reply);
  std::vector<std::pair<std::string, std::string>> parameters;
  if (!reply::to_pairs(reply, parameters)) return reply::malformed("CONFIG GET reply");
  for (auto& [name, value] : parameters)
    if (name == policy_parameter) {
      policy = std::move(value);
      break;
    }
  return {};
}

}  // namespace streamq::streams::detail

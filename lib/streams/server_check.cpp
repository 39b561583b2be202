#include <streamq/streams/server_check.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

std::optional<std::string> policy_from_info(const std::string& info) {
  constexpr std::string_view field = "maxmemory_policy:";
  const auto at = info.find(field);
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + field.size();
  const auto end = info.find_first_of("\r\n", start);
  return info.substr(start, end - start);
}

}  // namespace

asio::awaitable<eviction_policy_check> check_eviction_policy(client& c) {
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  // INFO first: a least-privilege user may run it, while CONFIG GET must stay denied (it can
  // reveal requirepass) and every denial lands in ACL LOG. CONFIG GET only if INFO is denied.
  eviction_policy_check check;
  resp::request info_req;
  info_req.push("INFO", "memory");
  resp::response<std::string> info;
  auto [ec] = co_await c.async_exec(info_req, info, use_tuple);
  if (ec) throw boost::system::system_error(ec, "checking maxmemory-policy");
  if (info.get<0>().has_value()) check.policy = policy_from_info(info.get<0>().value());
  if (check.policy) co_return check;
  resp::request config_req;
  config_req.push("CONFIG", "GET", "maxmemory-policy");
  resp::response<std::map<std::string, std::string>> config;
  auto [ec2] = co_await c.async_exec(config_req, config, use_tuple);
  if (ec2) throw boost::system::system_error(ec2, "checking maxmemory-policy");
  if (config.get<0>().has_value())
    if (auto it = config.get<0>().value().find("maxmemory-policy");
        it != config.get<0>().value().end())
      check.policy = it->second;
  co_return check;
}

}  // namespace streamq::streams

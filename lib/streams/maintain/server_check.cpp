#include <streamq/streams/server_check.hpp>

#include "commands/send_command.hpp"
#include "commands/server_requests.hpp"

#include <boost/system/system_error.hpp>

#include <optional>
#include <string>

namespace streamq::streams {
namespace asio = boost::asio;

asio::awaitable<eviction_policy_check> check_eviction_policy(client& c) {
  // INFO first: a least-privilege user may run it, while CONFIG GET must stay denied (it can
  // reveal requirepass) and every denial lands in ACL LOG. CONFIG GET only if INFO does not
  // tell. A refusal of either leaves the policy unknown (the caller warns); only the
  // connection's failures throw.
  eviction_policy_check check;
  std::optional<std::string> policy;
  auto info = co_await detail::send_command(
      c, [](resp::request& req) { detail::build_memory_info(req); },
      [&](const resp::value& reply) { return detail::decode_memory_info_policy(reply, policy); });
  if (info.transport)
    throw boost::system::system_error(info.transport, "checking maxmemory-policy");
  if (policy) {
    check.policy = std::move(policy);
    co_return check;
  }
  auto config = co_await detail::send_command(
      c, [](resp::request& req) { detail::build_config_eviction_policy(req); },
      [&](const resp::value& reply) {
        return detail::decode_config_eviction_policy(reply, policy);
      });
  if (config.transport)
    throw boost::system::system_error(config.transport, "checking maxmemory-policy");
  check.policy = std::move(policy);
  co_return check;
}

}  // namespace streamq::streams

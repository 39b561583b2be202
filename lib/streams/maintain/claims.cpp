#include <streamq/streams/claims.hpp>

#include "commands/maintenance_requests.hpp"
#include "commands/send_command.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace streamq::streams {
namespace asio = boost::asio;

asio::awaitable<std::vector<std::string>> refresh_claims(client& c, const topic_keys& keys,
                                                         std::string group, std::string consumer,
                                                         std::vector<std::string> ids) {
  if (ids.empty()) co_return std::vector<std::string>{};
  // Ownership check and refresh in one atomic step (see claims.hpp).
  std::vector<std::string> kept;
  const auto result = co_await detail::send_script(
      c,
      [&](resp::request& req, bool by_source) {
        detail::build_refresh_claims(req, by_source, keys, group, consumer, ids);
      },
      [&](const resp::value& reply) { return detail::decode_refresh_claims(reply, kept); });
  if (result.transport) throw boost::system::system_error(result.transport, "refreshing claims");
  if (!result.reply) throw boost::system::system_error(result.reply.ec, result.reply.diagnostic);
  co_return kept;
}

}  // namespace streamq::streams

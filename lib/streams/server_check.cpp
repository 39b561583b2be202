#include <streamq/streams/server_check.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <map>

namespace streamq::streams {
namespace asio = boost::asio;

asio::awaitable<eviction_policy_check> check_eviction_policy(client& c) {
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  // Both asked at once; whichever the user may run answers.
  resp::request req;
  req.push("CONFIG", "GET", "maxmemory-policy");
  req.push("INFO", "memory");
  resp::response<std::map<std::string, std::string>, std::string> replies;
  auto [ec] = co_await c.async_exec(req, replies, use_tuple);
  if (ec) throw boost::system::system_error(ec, "checking maxmemory-policy");
  eviction_policy_check check;
  if (auto& config = replies.get<0>(); config.has_value()) {
    if (auto it = config.value().find("maxmemory-policy"); it != config.value().end())
      check.policy = it->second;
  }
  if (!check.policy && replies.get<1>().has_value()) {
    const std::string& info = replies.get<1>().value();
    constexpr std::string_view field = "maxmemory_policy:";
    if (auto at = info.find(field); at != std::string::npos) {
      const auto start = at + field.size();
      const auto end = info.find_first_of("\r\n", start);
      check.policy = info.substr(start, end - start);
    }
  }
  co_return check;
}

}  // namespace streamq::streams

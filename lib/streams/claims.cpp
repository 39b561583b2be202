#include <streamq/streams/claims.hpp>

#include "script.hpp"

#include <streamq_lua_scripts.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

// Ownership check and refresh in one atomic step (see claims.hpp):
// lib/streams/scripts/refresh_claims-1.lua.
const detail::lua_script& refresh_script() {
  static const detail::lua_script script(detail::lua::refresh_claims);
  return script;
}

}  // namespace

asio::awaitable<std::vector<std::string>> refresh_claims(client& c, const topic_keys& keys,
                                                         std::string group, std::string consumer,
                                                         std::vector<std::string> ids) {
  if (ids.empty()) co_return std::vector<std::string>{};
  auto build = [&](resp::request& req, bool by_source) {
    refresh_script().push(req, by_source, 1, resp::key{keys.stream()}, group, consumer, ids);
  };
  resp::response<std::vector<std::string>> kept;
  const auto ec = co_await detail::exec_script(c, kept, build);
  if (ec) throw boost::system::system_error(ec, "refreshing claims");
  if (!kept.get<0>().has_value())
    throw boost::system::system_error(kept.get<0>().error(), kept.get<0>().diagnostic());
  co_return std::move(kept.get<0>()).value();
}

}  // namespace streamq::streams

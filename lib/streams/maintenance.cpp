#include <streamq/streams/maintenance.hpp>

#include "script.hpp"

#include <streamq_lua_scripts.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

// The scripts: lib/streams/scripts/trim_stream-1.lua and remove_idle_consumers-1.lua.
const detail::lua_script& trim_script() {
  static const detail::lua_script script(detail::lua::trim_stream);
  return script;
}

const detail::lua_script& idle_script() {
  static const detail::lua_script script(detail::lua::remove_idle_consumers);
  return script;
}

}  // namespace

asio::awaitable<std::uint64_t> trim_topic(client& c, const topic_keys& keys,
                                          retention_policy policy) {
  const auto max_age = std::max<std::int64_t>(0, policy.max_age.count());
  auto build = [&](resp::request& req, bool by_source) {
    trim_script().push(req, by_source, 1, resp::key{keys.stream()}, policy.max_length, max_age,
                       policy.trim_unacknowledged ? "1" : "0");
  };
  resp::response<std::uint64_t> removed;
  const auto ec = co_await detail::exec_script(c, removed, build);
  if (ec) throw boost::system::system_error(ec, "trimming " + keys.stream());
  if (!removed.get<0>().has_value())
    throw boost::system::system_error(removed.get<0>().error(), removed.get<0>().diagnostic());
  co_return removed.get<0>().value();
}

asio::awaitable<std::vector<std::string>> remove_idle_consumers(client& c, const topic_keys& keys,
                                                                std::string group,
                                                                std::chrono::milliseconds idle,
                                                                std::string keep) {
  validate_name(name_kind::group, group);
  auto build = [&](resp::request& req, bool by_source) {
    idle_script().push(req, by_source, 1, resp::key{keys.stream()}, group, idle.count(), keep);
  };
  resp::response<std::vector<std::string>> removed;
  const auto ec = co_await detail::exec_script(c, removed, build);
  if (ec) throw boost::system::system_error(ec, "removing idle consumers");
  if (!removed.get<0>().has_value())
    throw boost::system::system_error(removed.get<0>().error(), removed.get<0>().diagnostic());
  co_return std::move(removed.get<0>()).value();
}

}  // namespace streamq::streams

#include <streamq/streams/maintenance.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// KEYS[1] stream. ARGV[1] max length (0: none), ARGV[2] max age ms ("0": none), measured by
// the server's TIME (entry IDs are server times too), ARGV[3] "1" to trim unacknowledged
// entries too. Returns the number of entries removed.
constexpr std::string_view trim_script = R"lua(
local function older(a, b)  -- stream IDs "ms-seq": is a < b?
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local cut = nil
local maxlen = tonumber(ARGV[1])
if maxlen > 0 then
  local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', maxlen)
  if #newest == maxlen then cut = newest[#newest][1] end
end
if ARGV[2] ~= '0' then
  local t = redis.call('TIME')
  local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[2])
  local by_age = string.format('%d', oldest) .. '-0'
  if oldest > 0 and (cut == nil or older(cut, by_age)) then cut = by_age end
end
if cut == nil then return 0 end
if ARGV[3] ~= '1' then
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local info = {}
    for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
    if info['pending'] > 0 then
      local first = redis.call('XPENDING', KEYS[1], info['name'])[2]
      if first and older(first, cut) then cut = first end
    end
    -- entries after last-delivered-id are not yet read by this group
    local unread = redis.call('XRANGE', KEYS[1], '(' .. info['last-delivered-id'], '+', 'COUNT', 1)
    if #unread > 0 and older(unread[1][1], cut) then cut = unread[1][1] end
  end
end
return redis.call('XTRIM', KEYS[1], 'MINID', cut)
)lua";

// KEYS[1] stream. ARGV[1] group, ARGV[2] idle ms, ARGV[3] consumer to keep.
constexpr std::string_view idle_script = R"lua(
local removed = {}
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  if info['pending'] == 0 and info['idle'] > tonumber(ARGV[2]) and info['name'] ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed[#removed + 1] = info['name']
  end
end
return removed
)lua";

}  // namespace

asio::awaitable<std::uint64_t> trim_topic(client& c, const topic_keys& keys,
                                          retention_policy policy) {
  resp::request req;
  req.push("EVAL", trim_script, 1, resp::key{keys.stream()}, policy.max_length,
           std::max<std::int64_t>(0, policy.max_age.count()),
           policy.trim_unacknowledged ? "1" : "0");
  resp::response<std::uint64_t> removed;
  auto [ec] = co_await c.async_exec(req, removed, use_tuple);
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
  resp::request req;
  req.push("EVAL", idle_script, 1, resp::key{keys.stream()}, group, idle.count(), keep);
  resp::response<std::vector<std::string>> removed;
  auto [ec] = co_await c.async_exec(req, removed, use_tuple);
  if (ec) throw boost::system::system_error(ec, "removing idle consumers");
  if (!removed.get<0>().has_value())
    throw boost::system::system_error(removed.get<0>().error(), removed.get<0>().diagnostic());
  co_return std::move(removed.get<0>()).value();
}

}  // namespace streamq::streams

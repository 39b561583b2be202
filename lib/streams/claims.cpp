#include <streamq/streams/claims.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

// KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry IDs.
// Ownership check and refresh in one atomic step (see claims.hpp).
constexpr std::string_view refresh_script = R"lua(
local kept = {}
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)[1]
  if entry and entry[2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
)lua";

}  // namespace

asio::awaitable<std::vector<std::string>> refresh_claims(client& c, const topic_keys& keys,
                                                         std::string group, std::string consumer,
                                                         std::vector<std::string> ids) {
  if (ids.empty()) co_return std::vector<std::string>{};
  // EVAL (not EVALSHA): the script is small, and a server restarted empty would otherwise
  // answer NOSCRIPT first.
  resp::request req;
  req.push("EVAL", refresh_script, 1, resp::key{keys.stream()}, group, consumer, ids);
  resp::response<std::vector<std::string>> kept;
  auto [ec] = co_await c.async_exec(req, kept, asio::as_tuple(asio::use_awaitable));
  if (ec) throw boost::system::system_error(ec, "refreshing claims");
  if (!kept.get<0>().has_value())
    throw boost::system::system_error(kept.get<0>().error(), kept.get<0>().diagnostic());
  co_return std::move(kept.get<0>()).value();
}

}  // namespace streamq::streams

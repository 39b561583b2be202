#include "sentinel_link.hpp"

#include <streamq/detail/race.hpp>
#include <streamq/redis/connection.hpp>
#include <streamq/resp/response.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <tuple>
#include <utility>

namespace streamq::redis::sentinel {
namespace asio = boost::asio;
using streamq::detail::race;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

// A race child: the link's owner operation; `ended` says why it stopped.
asio::awaitable<void> run_link(connection& link, error_code& ended) {
  std::tie(ended) = co_await link.async_run(use_tuple);
}

asio::awaitable<void> expiry(asio::steady_timer& timer) {
  co_await timer.async_wait(use_tuple);
}

// One GET-MASTER-ADDR-BY-NAME on a link that is running (or about to connect).
asio::awaitable<bool> named_master(connection& link, const std::string& master_name,
                                   master_address& out) {
  resp::request req;
  build_get_master_addr(req, master_name);
  resp::generic_response reply;
  const auto [ec] = co_await link.async_exec(req, reply, use_tuple);
  if (ec || reply.values().size() != 1) co_return false;
  co_return decode_master_addr(reply.values().front(), out) == addr_status::ok;
}

// Asks one sentinel, within the link's connect_timeout (sentinel.timeout) for everything.
asio::awaitable<bool> ask_one(const connection_config& link_cfg, const std::string& master_name,
                              master_address& out) {
  const auto ex = co_await asio::this_coro::executor;
  connection link(ex, link_cfg);
  asio::steady_timer limit(ex, link_cfg.connect_timeout);
  error_code ended;
  bool named = false;
  auto ask = [&]() -> asio::awaitable<void> {
    named = co_await named_master(link, master_name, out);
  };
  // Whichever ends first stops the others: an answer stops the link (run() then ends with
  // shut_down), a failed connect withdraws the query, the limit stops both.
  co_await race(ask(), run_link(link, ended), expiry(limit));
  co_return named;
}

// The wait before the next subscription attempt: the data connection's reconnect policy,
// without jitter (one link per connection: nothing to spread).
std::chrono::milliseconds backoff(const reconnect_policy& policy, unsigned failures) {
  const double grown = static_cast<double>(policy.initial_delay.count()) *
                       std::pow(policy.multiplier, std::min(failures, 30U));
  return std::chrono::milliseconds(
      static_cast<long>(std::min(grown, static_cast<double>(policy.max_delay.count()))));
}

}  // namespace

asio::awaitable<error_code> ask_for_master(const connection_config& config,
                                           std::vector<seed_address>& order, master_address& out) {
  const auto cs = co_await asio::this_coro::cancellation_state;
  // A copy to walk: `order` is rearranged only here, but stays consistent if it were not.
  const std::vector<seed_address> candidates = order;
  for (const seed_address& sentinel : candidates) {
    if (cancelled(cs)) co_return client_errc::shut_down;
    const connection_config link_cfg = link_config(config, sentinel, false);
    master_address named;
    const bool answered = co_await ask_one(link_cfg, config.sentinel.master_name, named);
    if (cancelled(cs)) co_return client_errc::shut_down;
    if (!answered) continue;
    const auto at = std::find(order.begin(), order.end(), sentinel);
    if (at != order.end()) prefer(order, static_cast<std::size_t>(at - order.begin()));
    out = std::move(named);
    co_return error_code{};
  }
  co_return client_errc::sentinel_unavailable;
}

asio::awaitable<void> watch_master(const connection_config& config,
                                   std::vector<seed_address>& order,
                                   std::function<void(const master_address&)> on_master) {
  const auto cs = co_await asio::this_coro::cancellation_state;
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto ex = co_await asio::this_coro::executor;
  const std::string& name = config.sentinel.master_name;
  std::size_t next = 0;
  unsigned failures = 0;
  while (!cancelled(cs) && !order.empty()) {
    // The front first: the sentinel the last resolution got its answer from.
    const seed_address sentinel = order[next % order.size()];
    connection link(ex, link_config(config, sentinel, true));
    link.set_push_handler([&name, &on_master](const resp::value& push) {
      const auto s = switch_master_of(push);
      if (s && s->master_name == name) on_master(s->to);
    });
    error_code ended;
    bool subscribed = false;
    auto follow = [&]() -> asio::awaitable<void> {
      resp::request sub;
      build_subscribe_switch_master(sub);
      resp::ignore_response none;
      const auto [ec] = co_await link.async_exec(sub, none, use_tuple);
      if (ec) co_return;
      // Subscribed (the SUBSCRIBE went out first): whatever switch comes now is seen. One
      // that came while no link was up is caught by asking where the master is now.
      master_address now;
      if (!co_await named_master(link, name, now)) co_return;  // this sentinel cannot help
      subscribed = true;
      on_master(now);
      asio::steady_timer forever(ex, asio::steady_timer::time_point::max());
      co_await forever.async_wait(use_tuple);  // until the link fails or we are cancelled
    };
    co_await race(follow(), run_link(link, ended));
    if (cancelled(cs)) break;
    failures = subscribed ? 0 : failures + 1;
    ++next;  // a link that failed: the next sentinel
    asio::steady_timer wait(ex, backoff(config.reconnect, failures));
    co_await wait.async_wait(use_tuple);
  }
}

}  // namespace streamq::redis::sentinel

#pragma once
// Redis Sentinel, the coroutine half: talking to sentinels over connections of their own
// (redis::connection objects configured by sentinel_rules.hpp's link_config). Every decision is
// made by sentinel_rules.hpp; these only run the steps. Used by connection_impl in sentinel mode:
// ask_for_master() before each connect, watch_master() alongside the whole run().
//
// Both run on the caller's executor (the data connection's) and share its `order` of sentinels,
// which only that executor touches. Neither outlives its caller's frame: every link they make
// is run, cancelled and awaited inside them.

#include "sentinel_rules.hpp"

#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <vector>

namespace streamq::redis::sentinel {

// Asks the sentinels in `order`, one at a time (each bounded by config.sentinel.timeout), for
// the address of config.sentinel.master_name. The first that names it is moved to the front of
// `order` (prefer()) and its answer stored in `out`. client_errc::sentinel_unavailable when
// none did (unreachable, refused the credentials, or do not know the name).
// Cancellation: ends at once with client_errc::shut_down.
boost::asio::awaitable<error_code> ask_for_master(const connection_config& config,
                                                  std::vector<seed_address>& order,
                                                  master_address& out);

// Runs until cancelled (then returns, its link stopped and awaited): keeps one RESP3
// subscription to +switch-master on a sentinel, the front of `order` first and, after that link
// fails, the next one, after the config's reconnect backoff. Calls `on_master` with the new
// address of every switch of config.sentinel.master_name, and after each (re)subscription with
// the address that sentinel names then, so that a switch missed while no link was up is not
// missed for good. `on_master` runs on the executor and must not block.
boost::asio::awaitable<void> watch_master(const connection_config& config,
                                          std::vector<seed_address>& order,
                                          std::function<void(const master_address&)> on_master);

}  // namespace streamq::redis::sentinel

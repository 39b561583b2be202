#pragma once
// Scaffolding shared by the Sentinel tests (integration/sentinel_test.cpp,
// integration/sentinel_tls_test.cpp): a client tuned to notice a failover quickly, a fault run
// on a helper thread while the client carries on, and SENTINEL FAILOVER under a publisher and
// a consumer kept in a loss ledger.

#include "support/ledger.hpp"
#include "support/redis_sentinel.hpp"

#include <streamq/redis/config.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>

namespace streamq::test {

// `config` tuned to notice failures and come back quickly: short connect, reconnect,
// health-check and sentinel timeouts.
redis::connection_config fast_sentinel_client(redis::connection_config config);

// Runs `fault` on a helper thread while the caller's coroutine awaits `meanwhile()` over and
// over; completes when `fault` has ended (rethrowing what it threw, the thread joined first).
// The fixture is used by that thread alone meanwhile.
boost::asio::awaitable<void> on_helper_thread(
    std::function<void()> fault, std::function<boost::asio::awaitable<void>()> meanwhile);

// SENTINEL FAILOVER under load, kept in `book`: a publisher and a consumer on one client made
// from `config`; 200 confirmed publishes, then publishing goes on, one after another, for as
// long as the failover takes, then 200 confirmed publishes more; then `after()` (if any) runs
// on the client's thread while the client is still connected, and the topic is drained into
// the ledger. Recovery counts from the moment the client's connection to the old master
// ended. `fence_writes`: see redis_sentinel::failover. CHECKs that node 1 was promoted;
// returns the publishes attempted.
std::uint64_t failover_under_load(redis_sentinel& s, ledger& book,
                                  const redis::connection_config& config, bool fence_writes,
                                  const std::function<void()>& after = {});

}  // namespace streamq::test

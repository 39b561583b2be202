#pragma once
// What the dashboard's integration tests share: a dashboard served by a real http::endpoint
// (ephemeral loopback port) on the same io_context as a client of a real redis-server, and a
// seeded deployment to show: one topic with two consumer groups (billing: a dead letter and
// the rest acknowledged; audit: two entries pending for consumer "auditor"), a delayed task
// and a recurring task on it, and a topic with two partitions, each with group "p-group".

#include "dashboard_client.hpp"

#include <streamq/client.hpp>
#include <streamq/dashboard/dashboard.hpp>
#include <streamq/http/endpoint.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace streamq::test {

inline const std::string test_token = "dashboard-test-token-1234";

struct served_dashboard {
  client& c;
  http::endpoint& ep;
  dashboard::dashboard& board;
  std::uint16_t port;
};

// A config for tests: mounted at /dashboard, the test token, the test descriptor set.
dashboard::dashboard_config test_dashboard_config();

// Runs `body` while the dashboard serves (and runs), then stops both and awaits them.
void with_dashboard(const std::string& redis_url, dashboard::dashboard_config config,
                    const std::function<boost::asio::awaitable<void>(served_dashboard&)>& body);

struct seeded {
  std::string topic;            // groups billing and audit, a delayed and a recurring task
  std::string partitioned;      // 2 partitions
  std::string dead_letter_id;   // billing's one dead letter
  std::string dead_entry_id;    // the topic entry it came from (order-1)
  std::string delayed_id;       // the delayed task
  std::string first_entry_id;   // the topic's first entry
};
inline constexpr int seeded_orders = 5;
// Publishes order-0..order-4 to a new topic; consumes them in group billing, order-1 failing
// permanently (dead-lettered); reads two in group audit without acknowledging; schedules a task
// an hour ahead and a recurring task "nightly" every 60 s; makes the partitioned topic.
boost::asio::awaitable<seeded> seed(client& c);

// DEBUG DIGEST: one hash of the whole data set, to show that a refused request changed nothing.
boost::asio::awaitable<std::string> data_digest(client& c);

// Runs a consumer of `group` on `topic` until it has acknowledged `acks` messages (REQUIREd
// within 20 s), then stops it.
boost::asio::awaitable<void> consume_acks(client& c, const std::string& topic,
                                          const std::string& group, std::uint64_t acks);

}  // namespace streamq::test

// Replays started from the API: followed to done (the target topic then holds the entries), a
// dry run that only counts, one cancelled, one over max_replays refused, and replays still
// running when the dashboard stops: cancelled and awaited.
#include "dashboard_fixture.hpp"

#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/json.hpp>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace streamq::test;

namespace {

std::string replay_body(const std::string& topic, const std::string& into, double rate) {
  json::object o{{"topic", topic}};
  if (into.empty())
    o["dry_run"] = true;
  else
    o["into_topic"] = into;
  if (rate > 0) o["rate"] = rate;
  return json::serialize(o);
}

std::string cancel_body(std::int64_t id) { return json::serialize(json::object{{"id", id}}); }

asio::awaitable<std::int64_t> start_replay(served_dashboard& d, std::string body) {
  const auto started = co_await http_post(d.port, "/dashboard/api/replay/start", std::move(body), test_token);
  INFO(started.body);
  REQUIRE(started.status == 200);
  co_return started.json().at("id").to_number<std::int64_t>();
}

// Polls api/replay?id= until its state is no longer "running" (REQUIREd within 20 s).
asio::awaitable<json::object> follow(served_dashboard& d, std::int64_t id) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    const auto got = co_await http_get(d.port, "/dashboard/api/replay?id=" + std::to_string(id));
    REQUIRE(got.status == 200);
    auto status = got.json().as_object();
    if (status.at("state").as_string() != "running") co_return status;
    REQUIRE(std::chrono::steady_clock::now() < until);
    co_await sleep_for(20ms);
  }
}

}  // namespace

TEST_CASE("dashboard: a replay started from the API runs to done and the target holds the entries") {
  redis_server server;
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);
    const auto into = s.topic + "-copy";
    const auto id = co_await start_replay(d, replay_body(s.topic, into, 0));
    const auto done = co_await follow(d, id);
    CHECK(done.at("state").as_string() == "done");
    CHECK(done.at("topic").as_string() == s.topic);
    CHECK(done.at("into_topic").as_string() == into);
    CHECK(done.at("scanned").to_number<int>() == seeded_orders);
    CHECK(done.at("replayed").to_number<int>() == seeded_orders);
    CHECK(done.at("error").is_null());
    CHECK_FALSE(done.at("last_position").as_string().empty());
    const auto copied = co_await topic_length(d.c, into);
    CHECK(copied == static_cast<std::size_t>(seeded_orders));

    const auto dry = co_await start_replay(d, replay_body(s.topic, "", 0));
    const auto counted = co_await follow(d, dry);
    CHECK(counted.at("state").as_string() == "done");
    CHECK(counted.at("dry_run").as_bool());
    CHECK(counted.at("replayed").to_number<int>() == seeded_orders);
    CHECK(counted.at("into_topic").is_null());

    const auto list = co_await http_get(d.port, "/dashboard/api/replays");
    const auto list_json = list.json();  // kept: replays refers into it
    const auto& replays = list_json.at("replays").as_array();
    REQUIRE(replays.size() == 2);
    CHECK(replays[0].at("id").to_number<std::int64_t>() == dry);  // newest first
  });
}

TEST_CASE("dashboard: a running replay is cancelled from the API, and one over the limit refused") {
  redis_server server;
  auto config = test_dashboard_config();
  config.max_replays = 1;
  with_dashboard(server.url(), config, [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);
    // One message a second: five take seconds, so it is still running when cancelled.
    const auto id = co_await start_replay(d, replay_body(s.topic, s.topic + "-slow", 1));
    CHECK(d.board.running_replays() == 1);
    const auto second = co_await http_post(d.port, "/dashboard/api/replay/start",
                                           replay_body(s.topic, "", 0), test_token);
    CHECK(second.status == 429);
    CHECK(second.json().at("code").as_string() == "too_many_replays");
    const auto cancel = co_await http_post(d.port, "/dashboard/api/replay/cancel", cancel_body(id), test_token);
    REQUIRE(cancel.status == 200);
    CHECK(cancel.json().at("cancelled").as_bool());
    const auto ended = co_await follow(d, id);
    CHECK(ended.at("state").as_string() == "cancelled");
    CHECK(ended.at("replayed").to_number<int>() < seeded_orders);
    const auto again = co_await http_post(d.port, "/dashboard/api/replay/cancel", cancel_body(id), test_token);
    CHECK_FALSE(again.json().at("cancelled").as_bool());
    const auto unknown = co_await http_post(d.port, "/dashboard/api/replay/cancel", cancel_body(999), test_token);
    CHECK(unknown.status == 404);
  });
}

TEST_CASE("dashboard: replays still running when the dashboard stops are cancelled and awaited") {
  redis_server server;
  const auto started = std::chrono::steady_clock::now();
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);
    co_await start_replay(d, replay_body(s.topic, s.topic + "-slow", 0.5));
    co_await start_replay(d, replay_body(s.topic, s.topic + "-slower", 0.5));
    CHECK(d.board.running_replays() == 2);
    // The body ends here: the dashboard's run() must cancel both and return.
  });
  // At 0.5 messages a second the replays alone would take 10 s.
  CHECK(std::chrono::steady_clock::now() - started < 8s);
}

TEST_CASE("dashboard: a running replay shows its progress and copies every entry once") {
  redis_server server;
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto topic = unique_topic();
    constexpr std::uint64_t entries = 60;
    streamq::streams::publisher pub(d.c);
    Order o;
    for (std::uint64_t i = 0; i < entries; ++i) {
      o.set_id("order-" + std::to_string(i));
      co_await pub.publish(topic, o);
    }
    const auto into = topic + "-copy";
    // 60 entries at 40 a second: about 1.5 s, long enough to be seen half done.
    const auto id = co_await start_replay(d, replay_body(topic, into, 40));
    bool seen_midway = false;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!seen_midway && std::chrono::steady_clock::now() < until) {
      const auto got = co_await http_get(d.port, "/dashboard/api/replay?id=" + std::to_string(id));
      REQUIRE(got.status == 200);
      const auto status = got.json().as_object();
      if (status.at("state").as_string() != "running") break;
      const auto replayed = status.at("replayed").to_number<std::uint64_t>();
      seen_midway = replayed > 0 && replayed < entries && !status.at("last_position").is_null();
      co_await sleep_for(50ms);
    }
    CHECK(seen_midway);
    const auto done = co_await follow(d, id);
    CHECK(done.at("state").as_string() == "done");
    CHECK(done.at("replayed").to_number<std::uint64_t>() == entries);
    CHECK(done.at("scanned").to_number<std::uint64_t>() == entries);
    const auto copied = co_await topic_length(d.c, into);
    CHECK(copied == entries);
  });
}

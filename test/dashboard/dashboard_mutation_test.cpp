// The dashboard's changes over real HTTP, each checked in Redis afterwards: a dead letter
// requeued is handled again by a consumer of its group; purges remove letters; a delayed task
// is cancelled; a recurring task paused and resumed.
#include "dashboard_fixture.hpp"

#include "support/redis_server.hpp"

#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <boost/json.hpp>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace streamq::test;

namespace {

// Request bodies, built outside the coroutines (GCC 12 and braced lists in co_await).
std::string one_letter(const std::string& topic, const std::string& id) {
  return json::serialize(json::object{{"topic", topic}, {"group", "billing"}, {"id", id}});
}
std::string all_letters(const std::string& topic) {
  return json::serialize(json::object{{"topic", topic}, {"group", "billing"}, {"all", true}});
}
std::string named(const std::string& topic, const char* field, const std::string& value) {
  return json::serialize(json::object{{"topic", topic}, {field, value}});
}

// A change that must succeed: its answer's JSON (REQUIREs 200).
asio::awaitable<json::value> change(served_dashboard& d, std::string route, std::string body) {
  const auto got = co_await http_post(d.port, "/dashboard/api/" + route, std::move(body), test_token);
  INFO(route << " -> " << got.body);
  REQUIRE(got.status == 200);
  co_return got.json();
}

asio::awaitable<std::size_t> letter_count(streamq::client& c, const std::string& topic,
                                          const std::string& group) {
  streamq::streams::dead_letters letters(c, topic, group);
  co_return co_await letters.count();
}

}  // namespace

TEST_CASE("dashboard: a dead letter requeued from the API is handled again by its group") {
  redis_server server;
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);
    const auto requeue = co_await http_post(
        d.port, "/dashboard/api/dead-letters/requeue",
        one_letter(s.topic, s.dead_letter_id), test_token);
    INFO(requeue.body);
    REQUIRE(requeue.status == 200);
    CHECK(requeue.header("cache-control") == "no-store");
    CHECK(requeue.json().at("requeued").as_string() == s.dead_entry_id);
    const auto letters_left = co_await letter_count(d.c, s.topic, "billing");
    CHECK(letters_left == 0);
    // A consumer of billing (with the failure gone) takes the entry over and acknowledges it.
    co_await consume_acks(d.c, s.topic, "billing", 1);
    const auto again = co_await http_post(
        d.port, "/dashboard/api/dead-letters/requeue",
        one_letter(s.topic, s.dead_letter_id), test_token);
    CHECK(again.status == 404);
  });
}

TEST_CASE("dashboard: requeue all, purge one and purge all change the dead letters as answered") {
  redis_server server;
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);
    const auto all = co_await change(d, "dead-letters/requeue", all_letters(s.topic));
    CHECK(all.at("requeued").to_number<int>() == 1);
    const auto letters_after_requeue_all = co_await letter_count(d.c, s.topic, "billing");
    CHECK(letters_after_requeue_all == 0);

    // A second seeding gives a topic with one letter again.
    const auto t = co_await seed(d.c);
    const auto one = co_await change(d, "dead-letters/purge", one_letter(t.topic, t.dead_letter_id));
    CHECK(one.at("purged").as_bool());
    const auto letters_after_purge = co_await letter_count(d.c, t.topic, "billing");
    CHECK(letters_after_purge == 0);
    const auto twice = co_await change(d, "dead-letters/purge", one_letter(t.topic, t.dead_letter_id));
    CHECK_FALSE(twice.at("purged").as_bool());

    const auto u = co_await seed(d.c);
    const auto purged = co_await change(d, "dead-letters/purge", all_letters(u.topic));
    CHECK(purged.at("purged").to_number<int>() == 1);
    const auto letters_after_purge_all = co_await letter_count(d.c, u.topic, "billing");
    CHECK(letters_after_purge_all == 0);
  });
}

TEST_CASE("dashboard: a delayed task is cancelled, a recurring task paused and resumed") {
  redis_server server;
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);
    streamq::streams::scheduler sched(d.c, streamq::streams::scheduler_config{});
    const std::string base = "/dashboard/api/";
    const auto cancel = co_await http_post(d.port, base + "delayed/cancel",
                                           named(s.topic, "id", s.delayed_id), test_token);
    REQUIRE(cancel.status == 200);
    CHECK(cancel.json().at("cancelled").as_bool());
    const auto tasks_left = co_await sched.scheduled_count(s.topic);
    CHECK(tasks_left == 0);
    const auto twice = co_await http_post(d.port, base + "delayed/cancel",
                                          named(s.topic, "id", s.delayed_id), test_token);
    CHECK_FALSE(twice.json().at("cancelled").as_bool());

    const auto pause = co_await http_post(d.port, base + "recurring/pause",
                                          named(s.topic, "name", "nightly"), test_token);
    REQUIRE(pause.status == 200);
    CHECK(pause.json().at("ok").as_bool());
    auto tasks = co_await sched.list_recurring(s.topic);
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].paused);
    const auto resume = co_await http_post(d.port, base + "recurring/resume",
                                           named(s.topic, "name", "nightly"), test_token);
    REQUIRE(resume.status == 200);
    tasks = co_await sched.list_recurring(s.topic);
    CHECK_FALSE(tasks[0].paused);
    const auto unknown = co_await http_post(d.port, base + "recurring/pause",
                                            named(s.topic, "name", "weekly"), test_token);
    CHECK(unknown.status == 404);
    CHECK(unknown.json().at("code").as_string() == "not_found");
  });
}

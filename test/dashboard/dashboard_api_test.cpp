// The dashboard's reads over real HTTP against a seeded deployment on a password-protected
// redis-server: every route's answer matches what was seeded, bad input is 400, what does not
// exist 404, and no answer holds the password or the token.
#include "dashboard_fixture.hpp"

#include "support/redis_server.hpp"

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace streamq::test;

namespace {

// The marker scripts/check-no-secrets looks for (as the other redaction tests).
const std::string password = "Sq-NoLeak-dash-Pw7x";

redis_server protected_server() {
  redis_server_options o;
  o.requirepass = password;
  return redis_server(o);
}

std::string with_password(const redis_server& s) {
  return "redis://:" + password + "@127.0.0.1:" + std::to_string(s.port());
}

// Every answer a test received, to look for secrets in at the end.
struct answers {
  std::vector<std::string> bodies;
  asio::awaitable<http_answer> get(std::uint16_t port, const std::string& target) {
    auto a = co_await http_get(port, target);
    std::string all = a.body;
    for (const auto& [name, value] : a.headers) all += name + ": " + value + "\n";
    bodies.push_back(std::move(all));
    co_return a;
  }
  // A read that must succeed: its answer's JSON (REQUIREs 200).
  asio::awaitable<json::value> get_ok(std::uint16_t port, const std::string& target) {
    const auto a = co_await get(port, target);
    INFO(target << " -> " << a.body);
    REQUIRE(a.status == 200);
    co_return a.json();
  }
  void check_no_secret() const {
    for (const auto& b : bodies) {
      CHECK(b.find(password) == std::string::npos);
      CHECK(b.find(test_token) == std::string::npos);
    }
  }
};

const json::object* find_named(const json::array& items, std::string_view key, std::string_view value) {
  for (const auto& item : items)
    if (item.as_object().at(key).as_string() == value) return &item.as_object();
  return nullptr;
}

}  // namespace

TEST_CASE("dashboard: session, overview and topic show the seeded topics, groups and tasks") {
  auto server = protected_server();
  answers seen;
  with_dashboard(with_password(server), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);

    const auto session = co_await seen.get(d.port, "/dashboard/api/session");
    CHECK(session.status == 200);
    CHECK(session.header("content-type") == "application/json");
    CHECK(session.header("cache-control") == "no-store");
    CHECK(session.json().at("mutations_enabled").as_bool());
    CHECK_FALSE(session.json().at("read_only").as_bool());
    CHECK_FALSE(session.json().at("version").as_string().empty());

    const auto overview = co_await seen.get(d.port, "/dashboard/api/overview");
    REQUIRE(overview.status == 200);
    const auto overview_json = overview.json();  // kept: topics refers into it
    const auto& topics = overview_json.at("topics").as_array();
    const auto* t = find_named(topics, "topic", s.topic);
    REQUIRE(t != nullptr);
    CHECK(t->at("length").to_number<int>() == seeded_orders);
    CHECK(t->at("entries_added").to_number<int>() == seeded_orders);
    CHECK(t->at("groups").to_number<int>() == 2);
    CHECK(t->at("pending").to_number<int>() == 2);  // audit's two
    CHECK(t->at("lag").to_number<int>() == seeded_orders - 2);
    CHECK(t->at("dead_letters").to_number<int>() == 1);
    CHECK(t->at("delayed").to_number<int>() == 1);
    CHECK(t->at("partitions").to_number<int>() == 0);
    CHECK(t->at("oldest_pending_age_ms").is_number());
    const auto* p = find_named(topics, "topic", s.partitioned);
    REQUIRE(p != nullptr);
    CHECK(p->at("partitions").to_number<int>() == 2);
    CHECK(p->at("length").to_number<int>() == 2);
    CHECK(overview.json().at("time_ms").to_number<std::int64_t>() > 0);

    const auto topic = co_await seen.get(d.port, "/dashboard/api/topic?topic=" + url_encode(s.topic));
    REQUIRE(topic.status == 200);
    const auto topic_json = topic.json();  // kept: detail refers into it
    const auto& detail = topic_json.as_object();
    CHECK(detail.at("length").to_number<int>() == seeded_orders);
    CHECK(detail.at("first_id").as_string() == s.first_entry_id);
    const auto& groups = detail.at("groups").as_array();
    CHECK(groups.size() == 2);
    const auto* audit = find_named(groups, "name", "audit");
    REQUIRE(audit != nullptr);
    CHECK(audit->at("pending").to_number<int>() == 2);
    CHECK(audit->at("topic").as_string() == s.topic);
    CHECK(audit->at("oldest_pending_id").as_string() == s.first_entry_id);
    CHECK(audit->at("lag").to_number<int>() == seeded_orders - 2);  // read two of five
    CHECK_FALSE(audit->at("lag_is_lower_bound").as_bool());
    const auto& consumers = audit->at("consumers").as_array();
    REQUIRE(consumers.size() == 1);
    CHECK(consumers[0].at("name").as_string() == "auditor");
    CHECK(consumers[0].at("pending").to_number<int>() == 2);
    const auto* billing = find_named(groups, "name", "billing");
    REQUIRE(billing != nullptr);
    CHECK(billing->at("dead_letters").to_number<int>() == 1);
    CHECK(billing->at("pending").to_number<int>() == 0);
    CHECK(billing->at("lag").to_number<int>() == 0);
    CHECK(billing->at("oldest_pending_age_ms").is_null());
    CHECK(detail.at("delayed").at("count").to_number<int>() == 1);
    const auto& tasks = detail.at("delayed").at("tasks").as_array();
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].at("id").as_string() == s.delayed_id);
    CHECK(tasks[0].at("type").as_string() == "streamq.test.Order");
    const auto& recurring = detail.at("recurring").as_array();
    REQUIRE(recurring.size() == 1);
    CHECK(recurring[0].at("name").as_string() == "nightly");
    CHECK_FALSE(recurring[0].at("paused").as_bool());
    CHECK(recurring[0].at("next_ms").is_number());

    const auto parts = co_await seen.get(d.port, "/dashboard/api/topic?topic=" + url_encode(s.partitioned));
    REQUIRE(parts.status == 200);
    CHECK(parts.json().at("partitions").to_number<int>() == 2);
    const auto parts_json = parts.json();  // kept: part_groups refers into it
    const auto& part_groups = parts_json.at("groups").as_array();
    REQUIRE(part_groups.size() == 2);
    CHECK(part_groups[0].at("topic").as_string() == s.partitioned + "#0");
    CHECK(part_groups[1].at("topic").as_string() == s.partitioned + "#1");
    CHECK(part_groups[0].at("name").as_string() == "p-group");
  });
  seen.check_no_secret();
}

TEST_CASE("dashboard: pending entries, dead letters and messages are shown, payloads as JSON") {
  auto server = protected_server();
  answers seen;
  with_dashboard(with_password(server), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);
    const auto base = "/dashboard/api/";
    const auto topic = "topic=" + url_encode(s.topic);

    const auto pending = co_await seen.get_ok(d.port, base + std::string("pending?") + topic + "&group=audit&count=1");
    const auto& entries = pending.at("entries").as_array();
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].at("id").as_string() == s.first_entry_id);
    CHECK(entries[0].at("consumer").as_string() == "auditor");
    CHECK(entries[0].at("deliveries").to_number<int>() == 1);

    const auto letters = co_await seen.get_ok(d.port, base + std::string("dead-letters?") + topic + "&group=billing");
    const auto& list = letters.at("dead_letters").as_array();
    REQUIRE(list.size() == 1);
    CHECK(list[0].at("id").as_string() == s.dead_letter_id);
    CHECK(list[0].at("entry_id").as_string() == s.dead_entry_id);
    CHECK(list[0].at("type").as_string() == "streamq.test.Order");
    CHECK(list[0].at("error").as_string().find("card declined") != json::string::npos);
    const auto after = co_await seen.get(
        d.port, base + std::string("dead-letters?") + topic + "&group=billing&after=" + s.dead_letter_id);
    CHECK(after.json().at("dead_letters").as_array().empty());

    const auto message = co_await seen.get(d.port, base + std::string("message?") + topic + "&id=" + s.dead_entry_id);
    REQUIRE(message.status == 200);
    CHECK(message.json().at("id").as_string() == s.dead_entry_id);
    CHECK(message.json().at("type").as_string() == "streamq.test.Order");
    CHECK(message.json().at("payload").at("id").as_string() == "order-1");
    CHECK_FALSE(message.json().at("payload_base64").as_string().empty());

    const auto letter = co_await seen.get(
        d.port, base + std::string("dead-letter?") + topic + "&group=billing&id=" + s.dead_letter_id);
    REQUIRE(letter.status == 200);
    CHECK(letter.json().at("attempts").to_number<int>() >= 1);
    CHECK(letter.json().at("message").at("payload").at("id").as_string() == "order-1");
  });
  seen.check_no_secret();
}

TEST_CASE("dashboard: a read with bad input is 400, of something missing 404, with a JSON error") {
  redis_server server;
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);
    const std::string base = "/dashboard/api/";
    const auto topic = "topic=" + url_encode(s.topic);
    struct probe {
      std::string target;
      unsigned status;
      std::string code;
    };
    const std::vector<probe> probes{
        {base + "topic", 400, "invalid_argument"},
        {base + "topic?topic=a%20b", 400, "invalid_argument"},
        {base + "topic?topic=%zz", 400, "invalid_argument"},
        {base + "topic?topic=" + s.topic + "&topic=x", 400, "invalid_argument"},
        {base + "topic?topic=no-such-topic", 404, "not_found"},
        {base + "pending?" + topic + "&group=audit&count=0", 400, "invalid_argument"},
        {base + "pending?" + topic + "&group=audit&count=1001", 400, "invalid_argument"},
        {base + "pending?" + topic + "&group=audit&count=ten", 400, "invalid_argument"},
        {base + "pending?" + topic + "&group=nobody", 404, "not_found"},
        {base + "pending?" + topic + "&group=a*b", 400, "invalid_argument"},
        {base + "dead-letters?" + topic + "&group=billing&after=+", 400, "invalid_argument"},
        {base + "message?" + topic + "&id=1-0", 404, "not_found"},
        {base + "message?" + topic + "&id=x", 400, "invalid_argument"},
        {base + "dead-letter?" + topic + "&group=billing&id=1-0", 404, "not_found"},
        {base + "replay?id=77", 404, "not_found"},
        {base + "replay?id=-1", 400, "invalid_argument"},
        {base + "nope", 404, "not_found"},
    };
    for (const auto& p : probes) {
      const auto got = co_await http_get(d.port, p.target);
      INFO(p.target << " -> " << got.body);
      CHECK(got.status == p.status);
      CHECK(got.header("content-type") == "application/json");
      CHECK(got.json().at("code").as_string() == p.code);
      CHECK_FALSE(got.json().at("error").as_string().empty());
    }
    const auto wrong_method = co_await http_post(d.port, base + "overview", "{}", test_token);
    CHECK(wrong_method.status == 405);
    CHECK(wrong_method.header("allow") == "GET, HEAD");
    const auto get_change = co_await http_get(d.port, base + "dead-letters/purge");
    CHECK(get_change.status == 405);
    CHECK(get_change.header("allow") == "POST");
  });
}

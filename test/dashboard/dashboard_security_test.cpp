// Refused changes over real HTTP: without the token, with a wrong one, from another site,
// read-only, without a token configured, with another content type, and with hostile bodies
// (deep nesting, 10 MB, wrong types, unknown fields, bad names and IDs). Each answers its
// documented status and code, and the data set's digest (DEBUG DIGEST) is unchanged.
#include "dashboard_fixture.hpp"

#include "support/redis_server.hpp"

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include <string>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace streamq::test;

namespace {

struct attempt {
  std::string what;
  std::string target;
  std::string body;
  header_list headers;
  unsigned status;
  std::string code;  // empty: the endpoint's own refusal (no JSON body)
};

header_list good_headers(const std::string& token) {
  return {{"Content-Type", "application/json"}, {"X-Streamq-Token", token}};
}

header_list with(header_list h, std::string name, std::string value) {
  h.emplace_back(std::move(name), std::move(value));
  return h;
}

// The requeue of `s`'s dead letter, refused in every way it can be.
std::vector<attempt> refusals(const seeded& s, std::uint16_t port) {
  const std::string requeue = "/dashboard/api/dead-letters/requeue";
  const std::string purge = "/dashboard/api/dead-letters/purge";
  const auto good = json::serialize(
      json::object{{"topic", s.topic}, {"group", "billing"}, {"id", s.dead_letter_id}});
  const auto all = json::serialize(json::object{{"topic", s.topic}, {"group", "billing"}, {"all", true}});
  const auto host = "http://127.0.0.1:" + std::to_string(port);
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "}";
  const std::string huge = "{\"topic\":\"" + std::string(10 * 1024 * 1024, 'x') + "\"}";
  return {
      {"no token", purge, all, {{"Content-Type", "application/json"}}, 403, "bad_token"},
      {"wrong token", purge, all, good_headers("not-the-token"), 403, "bad_token"},
      {"token prefix", purge, all, good_headers(test_token.substr(0, 5)), 403, "bad_token"},
      {"cross-site origin", purge, all, with(good_headers(test_token), "Origin", "http://evil.example"), 403, "cross_site"},
      {"cross-site fetch", purge, all, with(good_headers(test_token), "Sec-Fetch-Site", "cross-site"), 403, "cross_site"},
      {"null origin", purge, all, with(good_headers(test_token), "Origin", "null"), 403, "cross_site"},
      {"form post", purge, all, {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Streamq-Token", test_token}}, 415, "unsupported_media_type"},
      {"text/plain", requeue, good, {{"Content-Type", "text/plain"}, {"X-Streamq-Token", test_token}}, 415, "unsupported_media_type"},
      {"not JSON", purge, "{\"topic\":", good_headers(test_token), 400, "invalid_argument"},
      {"deep nesting", purge, deep, good_headers(test_token), 400, "invalid_argument"},
      {"an array", purge, "[1,2]", good_headers(test_token), 400, "invalid_argument"},
      {"10 MB", purge, huge, good_headers(test_token), 413, ""},
      {"id a number", purge, "{\"topic\":\"" + s.topic + "\",\"group\":\"billing\",\"id\":5}", good_headers(test_token), 400, "invalid_argument"},
      {"all a string", purge, "{\"topic\":\"" + s.topic + "\",\"group\":\"billing\",\"all\":\"yes\"}", good_headers(test_token), 400, "invalid_argument"},
      {"id and all", purge, "{\"topic\":\"" + s.topic + "\",\"group\":\"billing\",\"all\":true,\"id\":\"" + s.dead_letter_id + "\"}", good_headers(test_token), 400, "invalid_argument"},
      {"unknown field", purge, "{\"topic\":\"" + s.topic + "\",\"group\":\"billing\",\"all\":true,\"force\":1}", good_headers(test_token), 400, "invalid_argument"},
      {"topic an object", purge, "{\"topic\":{},\"group\":\"billing\",\"all\":true}", good_headers(test_token), 400, "invalid_argument"},
      {"bad topic name", purge, "{\"topic\":\"a:b\",\"group\":\"billing\",\"all\":true}", good_headers(test_token), 400, "invalid_argument"},
      {"bad group name", purge, "{\"topic\":\"" + s.topic + "\",\"group\":\"*\",\"all\":true}", good_headers(test_token), 400, "invalid_argument"},
      {"bad entry ID", requeue, "{\"topic\":\"" + s.topic + "\",\"group\":\"billing\",\"id\":\"+\"}", good_headers(test_token), 400, "invalid_argument"},
      {"bad task ID", "/dashboard/api/delayed/cancel", "{\"topic\":\"" + s.topic + "\",\"id\":\"a b\"}", good_headers(test_token), 400, "invalid_argument"},
      {"replay without target", "/dashboard/api/replay/start", "{\"topic\":\"" + s.topic + "\"}", good_headers(test_token), 400, "invalid_argument"},
      {"replay rate negative", "/dashboard/api/replay/start", "{\"topic\":\"" + s.topic + "\",\"dry_run\":true,\"rate\":-1}", good_headers(test_token), 400, "invalid_argument"},
      {"replay into itself", "/dashboard/api/replay/start", "{\"topic\":\"" + s.topic + "\",\"into_topic\":\"" + s.topic + "\"}", good_headers(test_token), 400, "invalid_argument"},
      {"same-origin is fine but GET is not", requeue, "", with(good_headers(test_token), "Origin", host), 405, "method_not_allowed"},
  };
}

// Every change route (a braced list would not outlive a suspension with GCC 12).
constexpr const char* change_routes[] = {"dead-letters/requeue", "dead-letters/purge",
                                         "delayed/cancel",       "recurring/pause",
                                         "recurring/resume",     "replay/start",
                                         "replay/cancel"};

asio::awaitable<void> check_refused(served_dashboard& d, const seeded& s) {
  const auto before = co_await data_digest(d.c);
  const auto attempts = refusals(s, d.port);
  for (const auto& a : attempts) {
    const auto method = a.status == 405 ? std::string("GET") : std::string("POST");
    const auto got = co_await http_call(d.port, method, a.target, a.body, a.headers);
    INFO(a.what << " -> " << got.status << " " << got.body.substr(0, 200));
    CHECK(got.status == a.status);
    if (!a.code.empty()) CHECK(got.json().at("code").as_string() == a.code);
    CHECK(got.body.find(test_token) == std::string::npos);
  }
  const auto after = co_await data_digest(d.c);
  CHECK(before == after);
}

}  // namespace

TEST_CASE("dashboard: refused changes answer their documented codes and change nothing") {
  redis_server server;
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto s = co_await seed(d.c);
    co_await check_refused(d, s);
  });
}

TEST_CASE("dashboard: a Host name that is not allowed is refused 403 bad_host, an allowed one served") {
  redis_server server;
  auto config = test_dashboard_config();
  config.allowed_hosts = {"queues.internal"};
  with_dashboard(server.url(), config, [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto port = ":" + std::to_string(d.port);
    const header_list rebound{{"Host", "evil.example" + port}};
    const auto refused = co_await http_call(d.port, "GET", "/dashboard/api/overview", "", rebound);
    CHECK(refused.status == 403);
    CHECK(refused.json().at("code").as_string() == "bad_host");
    const header_list named{{"Host", "queues.internal" + port}};
    const auto served = co_await http_call(d.port, "GET", "/dashboard/api/overview", "", named);
    CHECK(served.status == 200);
  });
}

TEST_CASE("dashboard: read-only, or without a token, every change is refused 403 read_only") {
  redis_server server;
  for (const bool read_only : {true, false}) {
    auto config = test_dashboard_config();
    config.read_only = read_only;
    if (!read_only) config.token.clear();
    with_dashboard(server.url(), config, [&](served_dashboard& d) -> asio::awaitable<void> {
      const auto s = co_await seed(d.c);
      const auto before = co_await data_digest(d.c);
      const auto session = co_await http_get(d.port, "/dashboard/api/session");
      CHECK_FALSE(session.json().at("mutations_enabled").as_bool());
      CHECK(session.json().at("read_only").as_bool() == read_only);
      const auto all = json::serialize(json::object{{"topic", s.topic}, {"group", "billing"}, {"all", true}});
      for (const auto* route : change_routes) {
        const auto got = co_await http_post(d.port, std::string("/dashboard/api/") + route, all, test_token);
        INFO(route);
        CHECK(got.status == 403);
        CHECK(got.json().at("code").as_string() == "read_only");
      }
      const auto after = co_await data_digest(d.c);
      CHECK(before == after);
    });
  }
}

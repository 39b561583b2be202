// The dashboard's page files served over real HTTP: each embedded file with its content type,
// exact bytes and security headers; anything else, path tricks included, 404.
#include "dashboard_fixture.hpp"

#include "dashboard/assets.hpp"
#include "support/redis_server.hpp"

#include <doctest/doctest.h>

namespace asio = boost::asio;
using namespace streamq::test;
using streamq::dashboard::detail::all_assets;

TEST_CASE("dashboard: every embedded file is served with its content type, bytes and headers") {
  redis_server server;
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto assets = all_assets();
    REQUIRE_FALSE(assets.empty());
    for (const auto& a : assets) {
      const auto got = co_await http_get(d.port, "/dashboard/" + std::string(a.path));
      INFO(a.path);
      CHECK(got.status == 200);
      CHECK(got.header("content-type") == a.content_type);
      CHECK(got.body == a.bytes);
      CHECK(got.header("x-content-type-options") == "nosniff");
      CHECK(got.header("cache-control") == "no-cache");
      const bool html = a.content_type.starts_with("text/html");
      CHECK(got.header("content-security-policy").empty() == !html);
    }
    const auto page = co_await http_get(d.port, "/dashboard/");
    CHECK(page.status == 200);
    CHECK(page.header("content-type") == "text/html; charset=utf-8");
    CHECK(page.header("content-security-policy").find("script-src 'self'") != std::string::npos);
    CHECK(page.body.find("<html") != std::string::npos);
    const auto bare = co_await http_get(d.port, "/dashboard");
    CHECK(bare.status == 308);
    CHECK(bare.header("location") == "/dashboard/");
  });
}

namespace {
// Paths under the prefix that name no embedded file (a braced list would not outlive a
// suspension with GCC 12).
constexpr const char* tricks[] = {"/dashboard/../dashboard/index.html", "/dashboard/%2e%2e/index.html",
                               "/dashboard/%2E%2E/%2e%2e/etc/passwd", "/dashboard/..%2findex.html",
                               "/dashboard/./index.html", "/dashboard//index.html",
                               "/dashboard/nope.js", "/dashboard/index.html/", "/dashboard/.env",
                               "/dashboard/api/nope", "/dashboard/api/../index.html"};
}  // namespace

TEST_CASE("dashboard: path tricks and unknown files are 404, a POST to a file 405") {
  redis_server server;
  with_dashboard(server.url(), test_dashboard_config(), [&](served_dashboard& d) -> asio::awaitable<void> {
    for (const auto* target : tricks) {
      const auto got = co_await http_get(d.port, target);
      INFO(target);
      CHECK(got.status == 404);
      CHECK(got.header("x-content-type-options") == "nosniff");
    }
    // Outside the prefix: the endpoint's own 404.
    const auto outside = co_await http_get(d.port, "/dashboardx");
    CHECK(outside.status == 404);
    const auto root = co_await http_get(d.port, "/");
    CHECK(root.status == 404);
    const auto post = co_await http_post(d.port, "/dashboard/index.html", "{}", test_token);
    CHECK(post.status == 405);
    CHECK(post.header("allow") == "GET, HEAD");
  });
}

TEST_CASE("dashboard: mounted at the root, the page and its API answer there") {
  redis_server server;
  auto config = test_dashboard_config();
  config.prefix = "/";
  with_dashboard(server.url(), config, [&](served_dashboard& d) -> asio::awaitable<void> {
    const auto page = co_await http_get(d.port, "/");
    CHECK(page.status == 200);
    CHECK(page.header("content-type") == "text/html; charset=utf-8");
    const auto session = co_await http_get(d.port, "/api/session");
    CHECK(session.status == 200);
    CHECK(session.header("cache-control") == "no-store");
    CHECK(session.json().at("mutations_enabled").as_bool());
  });
}

// The dashboard's request rules (lib/dashboard/rules.hpp) and its configuration's validation,
// with no server and no io_context.
#include "dashboard/assets.hpp"
#include "dashboard/rules.hpp"

#include <streamq/dashboard/dashboard.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

namespace http = streamq::http;
using namespace streamq::dashboard::detail;

namespace {

http::request post_with(std::vector<http::header> headers) {
  http::request r;
  r.method = "POST";
  r.path = "/dashboard/api/dead-letters/purge";
  r.headers = std::move(headers);
  r.body = "{}";
  return r;
}

std::vector<http::header> good_headers() {
  return {{"Host", "127.0.0.1:8080"},
          {"Content-Type", "application/json"},
          {"X-Streamq-Token", "s3cret"},
          {"Origin", "http://127.0.0.1:8080"},
          {"Sec-Fetch-Site", "same-origin"}};
}

std::string refusal_code(const http::request& r, bool read_only, std::string_view token) {
  const auto refused = check_mutation(r, read_only, token);
  return refused ? refused->code : "none";
}

}  // namespace

TEST_CASE("dashboard rules: a query string is percent-decoded, and a malformed one is refused") {
  const auto q = parse_query("topic=orders%231&group=a+b&&count=5&");
  REQUIRE(q);
  CHECK(q->at("topic") == "orders#1");
  CHECK(q->at("group") == "a b");
  CHECK(q->at("count") == "5");
  CHECK(parse_query("")->empty());
  CHECK(parse_query("flag")->at("flag").empty());
  CHECK_FALSE(parse_query("topic=%zz"));
  CHECK_FALSE(parse_query("topic=%4"));
  CHECK_FALSE(parse_query("topic=a&topic=b"));  // read two ways: refused
  CHECK_FALSE(parse_query("=x"));
  CHECK(percent_decode("a+b%2F", false) == "a+b/");
  CHECK(percent_decode("%", false) == std::nullopt);
}

TEST_CASE("dashboard rules: tokens compare equal only when identical, whatever their lengths") {
  CHECK(tokens_equal("s3cret", "s3cret"));
  CHECK_FALSE(tokens_equal("s3cre", "s3cret"));
  CHECK_FALSE(tokens_equal("s3cret ", "s3cret"));
  CHECK_FALSE(tokens_equal("", "s3cret"));
  CHECK_FALSE(tokens_equal("S3cret", "s3cret"));
}

TEST_CASE("dashboard rules: a change needs the token, JSON, a same-site origin and a writable dashboard") {
  CHECK(refusal_code(post_with(good_headers()), false, "s3cret") == "none");
  CHECK(refusal_code(post_with(good_headers()), true, "s3cret") == "read_only");
  CHECK(refusal_code(post_with(good_headers()), false, "") == "read_only");

  auto h = good_headers();
  h[2].value = "wrong";
  CHECK(refusal_code(post_with(h), false, "s3cret") == "bad_token");
  h.erase(h.begin() + 2);
  CHECK(refusal_code(post_with(h), false, "s3cret") == "bad_token");

  h = good_headers();
  h[1].value = "text/plain";
  CHECK(refusal_code(post_with(h), false, "s3cret") == "unsupported_media_type");
  CHECK(check_mutation(post_with(h), false, "s3cret")->status == 415);
  h[1].value = "Application/JSON; charset=utf-8";
  CHECK(refusal_code(post_with(h), false, "s3cret") == "none");
  h.erase(h.begin() + 1);
  CHECK(refusal_code(post_with(h), false, "s3cret") == "unsupported_media_type");

  h = good_headers();
  h[3].value = "http://evil.example";
  CHECK(refusal_code(post_with(h), false, "s3cret") == "cross_site");
  h[3].value = "null";
  CHECK(refusal_code(post_with(h), false, "s3cret") == "cross_site");
  h[3].value = "http://127.0.0.1:8081";  // another port is another origin
  CHECK(refusal_code(post_with(h), false, "s3cret") == "cross_site");
  h[3].value = "HTTPS://127.0.0.1:8080";
  CHECK(refusal_code(post_with(h), false, "s3cret") == "none");

  h = good_headers();
  h[4].value = "cross-site";
  CHECK(refusal_code(post_with(h), false, "s3cret") == "cross_site");
  h.erase(h.begin() + 3, h.end());  // no Origin, no Sec-Fetch-Site: curl, scripts
  CHECK(refusal_code(post_with(h), false, "s3cret") == "none");
  // Read-only wins over everything else: nothing can change.
  CHECK(refusal_code(post_with({}), true, "s3cret") == "read_only");
}

TEST_CASE("dashboard rules: the Host must be an IP literal, localhost or an allowed name") {
  const auto host = [](std::string value) {
    http::request r;
    r.headers = {{"Host", std::move(value)}};
    return r;
  };
  const std::vector<std::string> none;
  const std::vector<std::string> named{"Queues.Internal"};
  const std::vector<std::string> any{"*"};
  CHECK(host_allowed(host("127.0.0.1:8080"), none));
  CHECK(host_allowed(host("10.1.2.3"), none));
  CHECK(host_allowed(host("[::1]:8080"), none));
  CHECK(host_allowed(host("localhost:8080"), none));
  CHECK(host_allowed(http::request{}, none));  // HTTP/1.0 without Host
  CHECK_FALSE(host_allowed(host("evil.example:8080"), none));
  CHECK_FALSE(host_allowed(host("127.0.0.1.evil.example"), none));
  CHECK_FALSE(host_allowed(host("queues.internal:8080"), none));
  CHECK(host_allowed(host("queues.internal:8080"), named));
  CHECK_FALSE(host_allowed(host("evil.example"), named));
  CHECK(host_allowed(host("evil.example"), any));
}

TEST_CASE("dashboard rules: entry IDs, task IDs and counts are checked") {
  CHECK(is_entry_id("1700000000000-0"));
  CHECK(is_entry_id("0-0"));
  CHECK_FALSE(is_entry_id("1700000000000"));
  CHECK_FALSE(is_entry_id("-"));
  CHECK_FALSE(is_entry_id("+"));
  CHECK_FALSE(is_entry_id("1-2-3"));
  CHECK_FALSE(is_entry_id("18446744073709551616-0"));  // over 64 bits
  CHECK_FALSE(is_entry_id(" 1-0"));
  CHECK(is_task_id("a1b2-c3:d4.e_5"));
  CHECK_FALSE(is_task_id(""));
  CHECK_FALSE(is_task_id("a b"));
  CHECK_FALSE(is_task_id(std::string(129, 'a')));
  CHECK(parse_count(std::nullopt, 100) == 100u);
  CHECK(parse_count(std::string("1"), 100) == 1u);
  CHECK(parse_count(std::string("1000"), 100) == 1000u);
  CHECK_FALSE(parse_count(std::string("0"), 100));
  CHECK_FALSE(parse_count(std::string("1001"), 100));
  CHECK_FALSE(parse_count(std::string("-1"), 100));
  CHECK_FALSE(parse_count(std::string("5x"), 100));
  CHECK_FALSE(parse_count(std::string(""), 100));
}

TEST_CASE("dashboard rules: a path under the prefix names the page, a file or an API route") {
  const auto api = classify_path("/dashboard/api/overview", "/dashboard");
  REQUIRE(api);
  CHECK(api->what == route_target::kind::api);
  CHECK(api->rest == "overview");
  CHECK(classify_path("/dashboard/app.js", "/dashboard")->rest == "app.js");
  CHECK(classify_path("/dashboard/", "/dashboard")->rest.empty());
  CHECK(classify_path("/dashboard", "/dashboard")->what == route_target::kind::redirect);
  CHECK_FALSE(classify_path("/dashboardx/app.js", "/dashboard"));
  CHECK_FALSE(classify_path("/other", "/dashboard"));
  CHECK(classify_path("/api/session", "")->what == route_target::kind::api);
  CHECK(classify_path("/style.css", "")->rest == "style.css");
}

TEST_CASE("dashboard rules: only embedded files are served, by exact name") {
  const auto page = find_asset("");
  REQUIRE(page);
  CHECK(page->path == "index.html");
  CHECK(page->content_type == "text/html; charset=utf-8");
  for (const auto* name : {"../index.html", "%2e%2e/index.html", "./index.html", "index.html/",
                           "/index.html", "INDEX.HTML", "index.html%00", "nope.js"})
    CHECK_MESSAGE(!find_asset(name), name);
  for (const auto& a : all_assets()) {
    CHECK(find_asset(a.path));
    CHECK_FALSE(a.content_type.empty());
  }
}

TEST_CASE("dashboard rules: the mount prefix is normalised, and an unsafe one refused") {
  CHECK(normalise_prefix("/") == "");
  CHECK(normalise_prefix("/dashboard") == "/dashboard");
  CHECK(normalise_prefix("/dashboard/") == "/dashboard");
  CHECK(normalise_prefix("/ops/queues") == "/ops/queues");
  for (const auto* bad : {"", "dashboard", "/a/../b", "/a//b", "/./a", "/a b", "/a?b", "/a%2e"})
    CHECK_THROWS_AS((void)normalise_prefix(bad), std::invalid_argument);
}

TEST_CASE("dashboard rules: every answer carries the security headers, HTML its CSP too") {
  const auto find = [](const std::vector<http::header>& hs, std::string_view name) {
    for (const auto& h : hs)
      if (h.name == name) return h.value;
    return std::string();
  };
  const auto api = security_headers(false, true);
  CHECK(find(api, "X-Content-Type-Options") == "nosniff");
  CHECK(find(api, "Cache-Control") == "no-store");
  CHECK(find(api, "Content-Security-Policy").empty());
  const auto html = security_headers(true, false);
  CHECK(find(html, "Cache-Control") == "no-cache");
  CHECK(find(html, "Content-Security-Policy") == content_security_policy);
  CHECK(find(html, "X-Frame-Options") == "DENY");
}

TEST_CASE("dashboard rules: a configuration is validated field by field") {
  streamq::dashboard::dashboard_config c;
  CHECK_NOTHROW(c.validate());
  const auto refused = [](streamq::dashboard::dashboard_config bad, const char* field) {
    try {
      bad.validate();
      FAIL("accepted a bad " << field);
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find(field) != std::string::npos);
    }
  };
  auto bad = c;
  bad.max_replays = 0;
  refused(bad, "max_replays");
  bad = c;
  bad.kept_replays = 0;
  refused(bad, "kept_replays");
  bad = c;
  bad.request_timeout = std::chrono::milliseconds(0);
  refused(bad, "request_timeout");
  bad = c;
  bad.key_prefix = "a{b";
  refused(bad, "key_prefix");
  bad = c;
  bad.prefix = "/a/../b";
  refused(bad, "prefix");
  bad = c;
  bad.allowed_hosts = {"a:80"};
  refused(bad, "allowed_hosts");
  bad = c;
  bad.token = "two words";
  refused(bad, "token");
  bad.token = "line\nbreak";
  refused(bad, "token");
}

// lib/http/rules.hpp: the endpoint's decisions, without a socket or an io_context.
#include <http/rules.hpp>

#include <streamq/redis/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using namespace streamq::http::detail;
namespace bhttp = boost::beast::http;

TEST_CASE("http rules: a failed read maps to the status a client is told - or to a silent close") {
  const auto deadline = streamq::redis::make_error_code(streamq::redis::client_errc::timeout);
  CHECK(classify_read_error(deadline, false, "").status == 408);
  CHECK(classify_read_error(deadline, false, "").timeout);
  // A kept-alive connection that never started another request is idle: closed, no status.
  CHECK(classify_read_error(deadline, true, "").status == 0);
  CHECK_FALSE(classify_read_error(deadline, true, "").timeout);
  CHECK(classify_read_error(boost::beast::error::timeout, false, "").status == 408);
  CHECK(classify_read_error(bhttp::error::header_limit, false, "").status == 431);
  CHECK(classify_read_error(bhttp::error::buffer_overflow, false, "").status == 431);
  CHECK(classify_read_error(bhttp::error::body_limit, false, "").status == 413);
  for (const auto e : {bhttp::error::bad_method, bhttp::error::bad_target,
                       bhttp::error::bad_version, bhttp::error::bad_field, bhttp::error::bad_value,
                       bhttp::error::bad_content_length, bhttp::error::bad_transfer_encoding,
                       bhttp::error::bad_chunk, bhttp::error::bad_line_ending}) {
    CAPTURE(static_cast<int>(e));
    CHECK(classify_read_error(e, false, "").status == 400);
  }
  for (const boost::system::error_code gone :
       {make_error_code(bhttp::error::end_of_stream),
        make_error_code(bhttp::error::partial_message),
        make_error_code(boost::asio::error::connection_reset),
        make_error_code(boost::asio::error::operation_aborted)}) {
    CAPTURE(gone.message());
    CHECK(classify_read_error(gone, false, "").status == 0);
    CHECK_FALSE(classify_read_error(gone, false, "").timeout);
  }
  CHECK(classify_read_error(boost::asio::error::no_buffer_space, false, "").status == 0);
}

TEST_CASE("http rules: a version Beast refuses - 505 when well-formed, else 400") {
  CHECK(status_for_bad_version("GET / HTTP/2.0\r\nHost: t\r\n\r\n") == 505);
  CHECK(status_for_bad_version("GET / HTTP/0.9\r\n") == 505);
  CHECK(status_for_bad_version("GET / HTTP/1.x\r\n") == 400);
  CHECK(status_for_bad_version("GET / HTTP/11.0\r\n") == 400);
  CHECK(status_for_bad_version("GET / HTTP/2.0") == 400);  // no line end: not a request line
  CHECK(status_for_bad_version("GET / http/2.0\r\n") == 400);
  CHECK(status_for_bad_version("GARBAGE\r\n") == 400);
  CHECK(classify_read_error(bhttp::error::bad_version, false, "GET / HTTP/3.0\r\n\r\n").status ==
        505);
  CHECK(classify_read_error(bhttp::error::bad_version, false, "GET / HTTP/1.1x\r\n").status == 400);
}

TEST_CASE("http rules: a request head - Host, a body where none may be") {
  CHECK(check_head(11, "GET", true, false) == 0);
  CHECK(check_head(10, "GET", false, false) == 0);  // HTTP/1.0 needs no Host
  CHECK(check_head(11, "GET", false, false) == 400);
  CHECK(check_head(11, "GET", true, true) == 413);
  CHECK(check_head(11, "HEAD", true, true) == 413);
  CHECK(check_head(11, "POST", true, true) == 0);
  CHECK(check_head(11, "DELETE", true, true) == 0);
  CHECK(method_takes_body("PUT"));
  CHECK_FALSE(method_takes_body("GET"));
}

TEST_CASE(
    "http rules: a target splits into path and query - absolute form reduced, others refused") {
  const auto split = [](std::string_view t) {
    const auto parts = split_target(t);
    REQUIRE(parts);
    return std::string(parts->path) + "|" + std::string(parts->query);
  };
  CHECK(split("/metrics") == "/metrics|");
  CHECK(split("/api/x?a=1&b=2") == "/api/x|a=1&b=2");
  CHECK(split("/?") == "/|");
  CHECK(split("/p?q?r") == "/p|q?r");
  CHECK(split("http://host:9464/metrics?x") == "/metrics|x");
  CHECK(split("HTTPS://host") == "/|");
  CHECK(split("http://host?x=1") == "/|x=1");
  CHECK_FALSE(split_target("*"));
  CHECK_FALSE(split_target(""));
  CHECK_FALSE(split_target("metrics"));
  CHECK_FALSE(split_target("ftp://host/x"));
}

TEST_CASE("http rules: routes - exact first, then the longest prefix - 404 and 405 with Allow") {
  route_table routes;
  CHECK(routes.add("/metrics", false, {"GET", "HEAD"}) == 0);
  CHECK(routes.add("/static/", true, {"GET"}) == 1);
  CHECK(routes.add("/static/js/", true, {"GET"}) == 2);
  CHECK(routes.add("/static/index.html", false, {"GET", "POST"}) == 3);
  CHECK(routes.add("/", true, {"GET"}) == 4);

  const auto m = routes.find("GET", "/metrics");
  CHECK(m.status == 0);
  CHECK(m.index == 0);
  CHECK(routes.find("GET", "/static/a.css").index == 1);
  CHECK(routes.find("GET", "/static/js/a.js").index == 2);
  CHECK(routes.find("POST", "/static/index.html").index == 3);
  CHECK(routes.find("GET", "/metricsx").index == 4);  // under the "/" prefix

  const auto wrong = routes.find("POST", "/metrics");
  CHECK(wrong.status == 405);
  CHECK(wrong.allow == "GET, HEAD");
  CHECK(routes.find("get", "/metrics").status == 405);  // methods are case-sensitive

  route_table exact_only;
  exact_only.add("/healthz", false, {"GET"});
  CHECK(exact_only.find("GET", "/healthz/").status == 404);
  CHECK(exact_only.find("GET", "/").status == 404);
}

TEST_CASE("http rules: a route is refused for a bad path, a duplicate or a bad method list") {
  route_table routes;
  routes.add("/metrics", false, {"GET"});
  CHECK_THROWS_WITH_AS(routes.add("/metrics", false, {"POST"}), doctest::Contains("'/metrics'"),
                       std::invalid_argument);
  CHECK_NOTHROW(routes.add("/metrics", true, {"GET"}));
  CHECK_THROWS_AS(routes.add("metrics", false, {"GET"}), std::invalid_argument);
  CHECK_THROWS_AS(routes.add("", false, {"GET"}), std::invalid_argument);
  CHECK_THROWS_AS(routes.add("/a", false, {}), std::invalid_argument);
  CHECK_THROWS_AS(routes.add("/a", false, {"GET "}), std::invalid_argument);
  CHECK_THROWS_AS(routes.add("/a", false, {""}), std::invalid_argument);
  CHECK(routes.size() == 2);
}

TEST_CASE("http rules: keep-alive, response headers and statuses a handler may send") {
  CHECK(keep_open(true, 1, 100, false));
  CHECK_FALSE(keep_open(false, 1, 100, false));
  CHECK_FALSE(keep_open(true, 100, 100, false));
  CHECK_FALSE(keep_open(true, 1, 100, true));

  CHECK(valid_header("Cache-Control", "no-store"));
  CHECK(valid_header("X-A", ""));
  CHECK_FALSE(valid_header("X A", "v"));
  CHECK_FALSE(valid_header("", "v"));
  CHECK_FALSE(valid_header("X-A", "a\r\nInjected: 1"));
  CHECK_FALSE(valid_header("X-A", "a\nb"));
  CHECK_FALSE(valid_header("X-A", std::string("a\0b", 3)));

  CHECK(valid_final_status(200));
  CHECK(valid_final_status(599));
  CHECK_FALSE(valid_final_status(100));
  CHECK_FALSE(valid_final_status(600));
  CHECK_FALSE(valid_final_status(0));

  CHECK(iequals("Content-Type", "content-type"));
  CHECK_FALSE(iequals("Content-Type", "content-typ"));
}

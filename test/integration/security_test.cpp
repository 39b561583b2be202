// Authentication, ACL permissions, TLS and Unix sockets against a real redis-server.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/redis/connection.hpp>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::redis::connection;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::resp::server_errc;
using streamq::test::redis_server;
using streamq::test::run_with_connection;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
const std::string password = "s3cr3t-Pa55";

asio::awaitable<void> expect_pong(connection& conn) {
  request req;
  req.push("PING");
  response<std::string> pong;
  co_await streamq::with_deadline(conn.async_exec(req, pong), 5s);
  CHECK(pong.get<0>().value() == "PONG");
}

streamq::redis::connection_config tls_config(const redis_server& server) {
  auto config = streamq::redis::parse_url(server.tls_url());
  config.tls.ca_file = server.ca_cert();
  config.tls.cert_file = server.client_cert();
  config.tls.key_file = server.client_key();
  config.reconnect.enabled = false;
  config.connect_timeout = 2s;
  return config;
}
}  // namespace

TEST_CASE("a wrong password ends run() with WRONGPASS and fails pending requests") {
  redis_server::options opts;
  opts.requirepass = password;
  redis_server server(opts);
  auto config = streamq::redis::parse_url(server.url());
  config.password = "wrong-" + password;
  bool checked = false;
  const auto ec = run_with_connection(config, [&](connection& conn) -> asio::awaitable<void> {
    request req;
    req.push("PING");
    streamq::resp::ignore_response ignored;
    auto [exec_ec] = co_await conn.async_exec(req, ignored, use_tuple);
    CHECK(exec_ec == server_errc::wrongpass);
    CHECK(exec_ec.message().find(password) == std::string::npos);
    checked = true;
  });
  CHECK(checked);
  CHECK(ec == server_errc::wrongpass);
  CHECK(streamq::redis::is_fatal(ec));
}

TEST_CASE("no password against a protected server ends run() with NOAUTH") {
  redis_server::options opts;
  opts.requirepass = password;
  redis_server server(opts);
  const auto ec = run_with_connection(streamq::redis::parse_url(server.url()),
                                      [](connection&) -> asio::awaitable<void> { co_return; });
  // run() may be cancelled by the body first; either way it never succeeds silently
  CHECK((ec == server_errc::noauth || ec == streamq::redis::client_errc::shut_down));
}

TEST_CASE("the right password works over RESP3 and RESP2, URLs are printed redacted") {
  redis_server::options opts;
  opts.requirepass = password;
  redis_server server(opts);
  for (const char* resp : {"3", "2"}) {
    auto config = streamq::redis::parse_url(
        "redis://:" + password + "@127.0.0.1:" + std::to_string(server.port()) + "?resp=" + resp);
    CHECK(config.redacted_url().find(password) == std::string::npos);
    run_with_connection(config, expect_pong);
  }
}

TEST_CASE("an ACL user lacking a permission gets a classified NOPERM per command") {
  redis_server::options opts;
  opts.acl_users = {"user producer on >pw ~app:* +@all -set"};
  redis_server server(opts);
  auto config =
      streamq::redis::parse_url("redis://producer:pw@127.0.0.1:" + std::to_string(server.port()));
  run_with_connection(config, [](connection& conn) -> asio::awaitable<void> {
    request req;
    req.push("SET", key{"app:k"}, "v");  // command denied
    req.push("INCR", key{"other:k"});    // key denied
    req.push("INCR", key{"app:n"});      // allowed
    response<std::string, std::int64_t, std::int64_t> resp;
    co_await conn.async_exec(req, resp);
    CHECK(resp.get<0>().error() == server_errc::noperm);
    CHECK(resp.get<1>().error() == server_errc::noperm);
    CHECK(resp.get<2>().value() == 1);
    CHECK_FALSE(streamq::redis::is_retryable(resp.get<0>().error()));
  });
}

TEST_CASE("TLS with a CA made by the test, a client certificate and SNI works") {
  redis_server::options opts;
  opts.tls = true;
  redis_server server(opts);
  run_with_connection(tls_config(server), expect_pong);
}

TEST_CASE("TLS against an unknown CA fails with a fatal TLS error, never plaintext") {
  redis_server::options opts;
  opts.tls = true;
  redis_server server(opts);
  auto config = tls_config(server);
  config.tls.ca_file = server.other_ca_cert();
  const auto ec = run_with_connection(
      config, [](connection&) -> asio::awaitable<void> { co_await streamq::test::sleep_for(1s); });
  CHECK(ec.category() == asio::error::get_ssl_category());
  CHECK(streamq::redis::is_fatal(ec));
}

TEST_CASE("TLS verifies the host name by default") {
  redis_server::options opts;
  opts.tls = true;
  redis_server server(opts);
  auto config = tls_config(server);
  config.tls.server_name = "not-the-server.example";
  const auto ec = run_with_connection(
      config, [](connection&) -> asio::awaitable<void> { co_await streamq::test::sleep_for(1s); });
  CHECK(ec.category() == asio::error::get_ssl_category());
}

TEST_CASE("TLS without the client certificate the server demands fails") {
  redis_server::options opts;
  opts.tls = true;
  redis_server server(opts);
  auto config = tls_config(server);
  config.tls.cert_file.clear();
  config.tls.key_file.clear();
  const auto ec = run_with_connection(
      config, [](connection&) -> asio::awaitable<void> { co_await streamq::test::sleep_for(1s); });
  CHECK(ec);
  CHECK(ec != streamq::redis::client_errc::shut_down);
}

TEST_CASE("plaintext to the TLS port fails instead of talking in clear") {
  redis_server::options opts;
  opts.tls = true;
  redis_server server(opts);
  auto config = streamq::redis::parse_url("redis://127.0.0.1:" + std::to_string(server.tls_port()));
  config.reconnect.enabled = false;
  config.connect_timeout = 1s;
  const auto ec = run_with_connection(config, [](connection&) -> asio::awaitable<void> {
    co_await streamq::test::sleep_for(1500ms);
  });
  CHECK(ec);
  CHECK(ec != streamq::redis::client_errc::shut_down);
}

TEST_CASE("a Unix domain socket works") {
  redis_server::options opts;
  opts.unix_socket = true;
  redis_server server(opts);
  auto config = streamq::redis::parse_url(server.unix_url());
  CHECK(!config.unix_socket.empty());
  run_with_connection(config, expect_pong);
}

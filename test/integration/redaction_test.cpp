// Passwords never appear in anything streamq produces: exception what(), error_code messages,
// redacted URLs, consumer_event details, or what the library prints to stderr. Each test makes
// things fail in a different way with a distinctive password and searches all of it.
// (scripts/check-no-secrets searches a whole test log for the same marker.)
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::test::Order;
using streamq::test::redis_server;

namespace {

// The marker scripts/check-no-secrets looks for.
const std::string secret = "Sq-NoLeak-redact-Zq9x7Hw";

// Everything collected from streamq in one test.
struct collected {
  std::vector<std::string> texts;
  void add(std::string text) { texts.push_back(std::move(text)); }
  void add_error(const boost::system::error_code& ec) {
    add(ec.message());
    add(ec.to_string());
    add(boost::system::system_error(ec).what());
  }
  // Runs `op`, keeping what() of anything it throws.
  template <class T>
  asio::awaitable<void> attempt(asio::awaitable<T> op) {
    try {
      co_await std::move(op);
    } catch (const boost::system::system_error& e) {
      add(e.what());
      add_error(e.code());
    } catch (const std::exception& e) {
      add(e.what());
    }
  }
  void check_clean() const {
    REQUIRE_FALSE(texts.empty());
    for (const auto& text : texts)
      CHECK_MESSAGE(text.find(secret) == std::string::npos, "the password leaked into: " << text);
  }
};

// Redirects file descriptor 2 into a temporary file while alive; finish() restores it and
// returns what was written (what the library printed to stderr).
class stderr_capture {
 public:
  stderr_capture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    REQUIRE(file_ != nullptr);
    saved_ = ::dup(2);
    REQUIRE(saved_ >= 0);
    REQUIRE(::dup2(::fileno(file_), 2) >= 0);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;
  ~stderr_capture() { finish(); }

  std::string finish() {
    if (file_ == nullptr) return {};
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    std::string out;
    std::rewind(file_);
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file_)) > 0;)
      out.append(buffer, n);
    std::fclose(file_);
    file_ = nullptr;
    return out;
  }

 private:
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

// Runs `body` with a client that is running (or has failed: its run() may end at once).
void with_client(const streamq::redis::connection_config& config,
                 const std::function<asio::awaitable<void>(client&)>& body) {
  streamq::test::run_coroutine([&]() -> asio::awaitable<void> {
    client c(co_await asio::this_coro::executor, config);
    auto running = std::make_shared<bool>(true);
    c.async_run([running](streamq::redis::error_code) { *running = false; });
    std::exception_ptr failure;
    co_await streamq::test::capture_failure(body(c), failure);
    c.cancel();
    // A raw pointer: GCC 12 may destroy a lambda temporary in a co_await twice.
    co_await streamq::test::wait_until([r = running.get()] { return !*r; });
    if (failure) std::rethrow_exception(failure);
  });
}

// What streamq says about a client whose connection failed: a publish, a consumer run, the
// connection's recorded error.
asio::awaitable<void> exercise(client& c, collected& out) {
  out.add(c.config().redacted_url());
  publisher pub(c);
  Order order;
  order.set_id("o-1");
  co_await out.attempt(streamq::with_deadline(pub.publish("orders", order), 3s));
  consumer_config config;
  config.group = "g";
  config.on_event = [&out](const streamq::streams::consumer_event& e) { out.add(e.detail); };
  consumer cons(c, config);
  cons.subscribe<Order>("orders",
                        [](const Order&, message_context&) -> asio::awaitable<void> { co_return; });
  co_await out.attempt(streamq::with_deadline(cons.run(), 3s));
  const auto health = cons.health();
  out.add_error(health.last_connection_error);
  out.add_error(c.shared_connection().last_error());
}

streamq::redis::connection_config no_retry(streamq::redis::connection_config config) {
  config.reconnect.enabled = false;
  config.connect_timeout = 1s;
  return config;
}

}  // namespace

TEST_CASE("printed URLs and URL errors never show the password") {
  collected out;
  for (const std::string& url :
       {"redis://user:" + secret + "@127.0.0.1:6379", "redis://:" + secret + "@127.0.0.1",
        "rediss://user:" + secret + "@localhost:6380/2?sni=localhost",
        "unix://user:" + secret + "@/tmp/redis.sock?db=1",
        "redis://user:" + secret + "@with@at?and/slash#hash@127.0.0.1:6379",
        "redis://user:" + secret + "%40escaped@127.0.0.1",
        "redis+sentinel://u:" + secret + "@s1,s2/m?sentinel_password=" + secret + "%40x"}) {
    const auto config = streamq::redis::parse_url(url);
    CHECK(config.password.find(secret) != std::string::npos);
    const auto printed = config.redacted_url();
    CHECK(printed.find("***") != std::string::npos);
    out.add(printed);
  }
  for (const std::string& url :
       {"redis://user:" + secret + "@127.0.0.1:notaport",
        "redis://user:" + secret + "@127.0.0.1:99999", "redis://user:" + secret + "@127.0.0.1/x",
        "ftp://user:" + secret + "@127.0.0.1", "redis://user:" + secret + "@127.0.0.1?resp=7",
        "redis://user:" + secret + "@127.0.0.1?bogus=1", "redis://user:" + secret + "%zz@127.0.0.1",
        "redis://user:" + secret + "@127.0.0.1#frag", "unix://user:" + secret + "@relative/path",
        "redis://user:" + secret + "@[::1",
        "redis+sentinel://s1/m?sentinel_password=" + secret + "&sentinel_tls=2"}) {
    try {
      (void)streamq::redis::parse_url(url);
      out.add("");  // accepted: nothing printed
    } catch (const std::exception& e) {
      out.add(e.what());
    }
  }
  // an invalid configuration that holds a password
  auto config = streamq::redis::parse_url("redis://user:" + secret + "@127.0.0.1");
  config.max_pending_requests = 0;
  try {
    config.validate();
  } catch (const std::exception& e) {
    out.add(e.what());
  }
  out.check_clean();
}

TEST_CASE("a wrong password: errors, events and stderr never show it") {
  redis_server::options opts;
  opts.requirepass = "the-servers-own-pw";
  redis_server server(opts);
  collected out;
  stderr_capture captured;
  for (const char* resp : {"3", "2"}) {
    const auto config =
        no_retry(streamq::redis::parse_url("redis://user:" + secret + "@127.0.0.1:" +
                                           std::to_string(server.port()) + "?resp=" + resp));
    const auto ec = streamq::test::run_with_connection(
        config, [](streamq::redis::connection&) -> asio::awaitable<void> {
          co_await streamq::test::sleep_for(300ms);
        });
    CHECK(ec == streamq::resp::server_errc::wrongpass);
    out.add_error(ec);
    with_client(config, [&out](client& c) { return exercise(c, out); });
  }
  out.add(captured.finish());
  out.check_clean();
}

TEST_CASE("an unreachable server and a failed TLS handshake never show the password") {
  collected out;
  stderr_capture captured;
  {
    std::uint16_t closed_port = 0;
    {
      redis_server gone;  // a port that was just free, now closed again
      closed_port = gone.port();
    }
    const auto config = no_retry(streamq::redis::parse_url(
        "redis://user:" + secret + "@127.0.0.1:" + std::to_string(closed_port)));
    out.add_error(streamq::test::run_with_connection(
        config, [](streamq::redis::connection&) -> asio::awaitable<void> { co_return; }));
    with_client(config, [&out](client& c) { return exercise(c, out); });
  }
  {
    redis_server::options opts;
    opts.tls = true;
    redis_server server(opts);
    auto config = no_retry(streamq::redis::parse_url(
        "rediss://user:" + secret + "@localhost:" + std::to_string(server.tls_port())));
    config.tls.ca_file = server.other_ca_cert();  // the server's certificate will not verify
    config.tls.cert_file = server.client_cert();
    config.tls.key_file = server.client_key();
    const auto ec = streamq::test::run_with_connection(
        config, [](streamq::redis::connection&) -> asio::awaitable<void> {
          co_await streamq::test::sleep_for(1s);
        });
    CHECK(ec);
    out.add_error(ec);
    with_client(config, [&out](client& c) { return exercise(c, out); });
  }
  out.add(captured.finish());
  out.check_clean();
}

TEST_CASE("a working connection with a password prints events to stderr without it") {
  // A user who may not read CONFIG or INFO: the consumer reports eviction_policy_unknown, and,
  // with no on_event set, prints it (and a dead letter) to stderr.
  redis_server::options opts;
  opts.acl_users = {"user app on >" + secret + " ~* resetchannels +@all -config -info"};
  redis_server server(opts);
  const auto config = streamq::redis::parse_url("redis://app:" + secret +
                                                "@127.0.0.1:" + std::to_string(server.port()));
  collected out;
  stderr_capture captured;
  std::uint64_t dead = 0;
  with_client(config, [&](client& c) -> asio::awaitable<void> {
    out.add(c.config().redacted_url());
    publisher pub(c);
    Order order;
    order.set_id("poison");
    co_await pub.publish("orders", order);
    consumer_config cc;
    cc.group = "g";
    consumer cons(c, cc);
    cons.subscribe<Order>("orders", [](const Order&, message_context&) -> asio::awaitable<void> {
      throw boost::system::system_error(streamq::streams::errc::permanent_failure,
                                        "cannot handle this order");
      co_return;
    });
    auto stop_when_dead = [&]() -> asio::awaitable<void> {
      co_await streamq::test::wait_until([&] { return cons.stats().dead_lettered == 1; });
    };
    std::exception_ptr failure;
    co_await (cons.run() || streamq::test::capture_failure(stop_when_dead(), failure));
    if (failure) std::rethrow_exception(failure);
    dead = cons.stats().dead_lettered;
  });
  const std::string printed = captured.finish();
  CHECK(dead == 1);
  CHECK(printed.find("maxmemory-policy unreadable") != std::string::npos);
  CHECK(printed.find("cannot handle this order") != std::string::npos);
  out.add(printed);
  out.check_clean();
}

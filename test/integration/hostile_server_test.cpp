// A fake server that answers every command with hostile RESP: the client fails the request
// with a typed parse error, allocates nothing the hostile lengths ask for, drops the
// connection, and other connections (to a real server) are unharmed.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/redis/connection.hpp>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::resp::request;
using streamq::resp::response;
using streamq::test::redis_server;

namespace {

// Listens on a loopback port; to every connection, after the first bytes of a request
// arrive, sends `reply` and keeps the socket open until the client closes it.
class hostile_server {
 public:
  explicit hostile_server(std::string reply) : reply_(std::move(reply)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::listen(listener_, 8) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~hostile_server() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  hostile_server(const hostile_server&) = delete;
  hostile_server& operator=(const hostile_server&) = delete;

  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int connections() const { return accepted_; }

 private:
  void serve() {
    while (!stop_) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      ++accepted_;
      char buf[4096];
      // Wait for a request, answer it with the hostile bytes, then read until EOF.
      if (::read(fd, buf, sizeof buf) > 0) (void)!::write(fd, reply_.data(), reply_.size());
      while (::read(fd, buf, sizeof buf) > 0) {
      }
      ::close(fd);
    }
  }

  std::string reply_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::string nested(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "*1\r\n";
  return s + ":1\r\n";
}

}  // namespace

TEST_CASE("hostile RESP from a fake server fails typed, allocates nothing huge, resets") {
  redis_server real;  // a healthy server used at the same time
  struct hostile_case {
    std::string name;
    std::string bytes;
  };
  const std::vector<hostile_case> cases = {
      {"depth 1000", nested(1000)},
      {"aggregate of 4294967295", "*4294967295\r\n"},
      {"bulk of 2^63-1", "$9223372036854775807\r\n"},
      {"negative bulk length", "$-5\r\nhello\r\n"},
      {"negative aggregate length", "*-7\r\n"},
      {"line without CRLF", "+" + std::string(100'000, 'x')},
      {"bulk without CRLF", "$3\r\nabcXY"},
      {"unknown type byte", "@what\r\n"},
      // Invalid whatever follows, then silence: the reply must fail, not wait for a CRLF.
      {"bare CR, then nothing", "+OK\rX"},
      {"integer with a letter, then nothing", ":12a"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    hostile_server fake(c.bytes);
    auto config = streamq::redis::parse_url(fake.url());
    config.resp3 = false;        // no HELLO: the first request is ours
    config.client_name.clear();  // no CLIENT SETNAME either
    config.health_check_interval = 0ms;
    streamq::test::run_coroutine(
        [&]() -> asio::awaitable<void> {
          auto ex = co_await asio::this_coro::executor;
          streamq::redis::connection hostile(ex, config);
          streamq::redis::connection healthy(ex, streamq::redis::parse_url(real.url()));
          auto running = std::make_shared<int>(2);
          hostile.async_run([r = running](streamq::redis::error_code) { --*r; });
          healthy.async_run([r = running](streamq::redis::error_code) { --*r; });
          request get;
          get.push("GET", "k");
          response<std::optional<std::string>> value;
          auto [ec] = co_await streamq::with_deadline(
              hostile.async_exec(get, value, asio::as_tuple(asio::use_awaitable)), 5s);
          // A typed failure: a parse error, or the connection loss it caused.
          CHECK(ec);
          CHECK(ec != streamq::redis::client_errc::timeout);
          MESSAGE(c.name << ": " << ec.message()
                         << " (last error: " << hostile.last_error().message() << ")");
          CHECK(hostile.last_error());
          // The other connection is unharmed.
          request ping;
          ping.push("PING");
          response<std::string> pong;
          auto [pec] = co_await streamq::with_deadline(
              healthy.async_exec(ping, pong, asio::as_tuple(asio::use_awaitable)), 5s);
          CHECK_FALSE(pec);
          CHECK(pong.get<0>().value() == "PONG");
          hostile.cancel();
          healthy.cancel();
          // A raw pointer: GCC 12 may destroy a lambda temporary in a co_await twice.
          co_await streamq::test::wait_until([r = running.get()] { return *r == 0; });
        },
        30s);
  }
}

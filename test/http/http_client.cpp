#include "http_client.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/run_until.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <doctest/doctest.h>

#include <array>
#include <utility>

namespace streamq::test {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
// Generous: the endpoint answers in milliseconds; this only turns a hang into a failure.
constexpr std::chrono::seconds reply_limit{5};
}  // namespace

asio::awaitable<http_connection> connect_to(const http::endpoint& ep) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(ep.local_endpoint(), asio::use_awaitable);
  co_return http_connection{std::move(socket), {}};
}

asio::awaitable<void> send_text(http_connection& c, std::string_view text) {
  co_await asio::async_write(c.socket, asio::buffer(text), asio::use_awaitable);
}

asio::awaitable<http_reply> read_reply(http_connection& c, bool head) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(head);
  co_await with_deadline(bhttp::async_read(c.socket, c.buffer, parser, asio::use_awaitable),
                         reply_limit);
  auto& msg = parser.get();
  co_return http_reply{msg.result_int(),
                       std::string(msg[bhttp::field::content_type]),
                       std::string(msg[bhttp::field::content_length]),
                       std::string(msg[bhttp::field::allow]),
                       std::move(msg.body()),
                       msg.keep_alive()};
}

asio::awaitable<std::string> read_until_closed(http_connection& c,
                                               std::chrono::milliseconds limit) {
  std::string received(static_cast<const char*>(c.buffer.data().data()), c.buffer.size());
  c.buffer.consume(c.buffer.size());
  auto read_all = [&]() -> asio::awaitable<void> {
    std::array<char, 4096> chunk{};
    while (true) {
      auto [ec, n] = co_await c.socket.async_read_some(asio::buffer(chunk),
                                                       asio::as_tuple(asio::use_awaitable));
      received.append(chunk.data(), n);
      if (ec) co_return;
    }
  };
  co_await with_deadline(read_all(), limit);  // throws client_errc::timeout if still open
  co_return received;
}

asio::awaitable<http_reply> round_trip(const http::endpoint& ep, std::string_view text) {
  auto c = co_await connect_to(ep);
  co_await send_text(c, text);
  co_return co_await read_reply(c, false);
}

std::string get_request(std::string_view target, std::string_view extra) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

std::string get_request(std::string_view target) {
  return get_request(target, "");
}

asio::awaitable<void> serve_while(http::endpoint& ep, std::function<asio::awaitable<void>()> body) {
  co_await run_until(ep.run(), body());
}

http::endpoint_config test_config() {
  http::endpoint_config config;
  config.request_timeout = std::chrono::milliseconds(300);
  config.write_timeout = std::chrono::milliseconds(1000);
  config.idle_timeout = std::chrono::milliseconds(300);
  config.linger_timeout = std::chrono::milliseconds(200);
  // Tests expect no log output unless they install a sink of their own.
  config.log = logger([](const log_record&) {}, log_level::error);
  return config;
}

}  // namespace streamq::test

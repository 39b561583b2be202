// The dashboard tests' HTTP client: see dashboard_client.hpp.
#include "dashboard_client.hpp"

#include <streamq/redis/deadline.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace streamq::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr auto step_limit = std::chrono::seconds(10);

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

asio::awaitable<http_answer> exchange(std::uint16_t port, std::string text) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  const asio::ip::tcp::endpoint to(asio::ip::make_address("127.0.0.1"), port);
  co_await with_deadline(socket.async_connect(to, asio::use_awaitable), step_limit);
  beast::flat_buffer buffer;
  beast::http::response_parser<beast::http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  // Written and read at once: a refusal (413) is answered before the whole request arrived,
  // and the endpoint then closes, so the end of the write may fail while the answer is there.
  auto write = [&]() -> asio::awaitable<void> {
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(text), asio::as_tuple(asio::use_awaitable));
    (void)ec;
    (void)n;
  };
  auto read = [&]() -> asio::awaitable<void> {
    co_await beast::http::async_read(socket, buffer, parser, asio::use_awaitable);
  };
  co_await with_deadline(write() && read(), step_limit);
  const auto& res = parser.get();
  http_answer out;
  out.status = res.result_int();
  for (const auto& field : res) out.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  out.body = res.body();
  co_return out;
}

}  // namespace

std::string http_answer::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

boost::json::value http_answer::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  INFO("body: " << body);
  REQUIRE_FALSE(ec);
  return v;
}

asio::awaitable<http_answer> http_call(std::uint16_t port, std::string method, std::string target,
                                       std::string body, header_list headers) {
  std::string text = method + " " + target + " HTTP/1.1\r\nConnection: close\r\n";
  const bool own_host = std::any_of(headers.begin(), headers.end(),
                                    [](const auto& h) { return lower(h.first) == "host"; });
  if (!own_host) text += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST") text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  text += "\r\n" + body;
  co_return co_await exchange(port, std::move(text));
}

// Plain functions handing their arguments to http_call's frame (no braced list lives in a
// coroutine: GCC 12 miscompiles those).
asio::awaitable<http_answer> http_get(std::uint16_t port, std::string target) {
  return http_call(port, "GET", std::move(target), "", header_list());
}

asio::awaitable<http_answer> http_post(std::uint16_t port, std::string target, std::string body,
                                       std::string token) {
  header_list headers{{"Content-Type", "application/json"}, {"X-Streamq-Token", std::move(token)}};
  return http_call(port, "POST", std::move(target), std::move(body), std::move(headers));
}

std::string url_encode(const std::string& value) {
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace streamq::test

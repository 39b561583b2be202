#pragma once
// Raw TCP clients for the endpoint's tests: they write exactly the bytes a test gives (also
// malformed or partial ones) and read replies with Beast's response parser. Every read has a
// deadline, so a test fails instead of hanging.

#include <streamq/http/endpoint.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace streamq::test {

struct http_reply {
  unsigned status = 0;
  std::string content_type;
  std::string content_length;  // as sent ("" when absent)
  std::string allow;
  std::string body;
  bool keep_alive = false;
};

// A connection to the endpoint with its read buffer (bytes of later replies stay in it).
struct http_connection {
  boost::asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;
};

boost::asio::awaitable<http_connection> connect_to(const http::endpoint& ep);
boost::asio::awaitable<void> send_text(http_connection& c, std::string_view text);
// Reads one reply (Beast's parser; for a reply to HEAD pass head = true: no body follows).
boost::asio::awaitable<http_reply> read_reply(http_connection& c, bool head);
// Reads until the endpoint closes the connection; returns everything it sent. Fails the test
// if it stays open longer than `limit`.
boost::asio::awaitable<std::string> read_until_closed(http_connection& c,
                                                      std::chrono::milliseconds limit);
// One request on a fresh connection, one reply.
boost::asio::awaitable<http_reply> round_trip(const http::endpoint& ep, std::string_view text);

// "GET <target> HTTP/1.1" with a Host header (and `extra` header lines, each ending in CRLF).
std::string get_request(std::string_view target, std::string_view extra);
std::string get_request(std::string_view target);

// Runs `ep` next to `body` on the current executor; when the body ends, the endpoint stops and
// its run() is awaited. Rethrows a failure of either.
boost::asio::awaitable<void> serve_while(http::endpoint& ep,
                                         std::function<boost::asio::awaitable<void>()> body);

// A config with short timeouts, for tests.
http::endpoint_config test_config();

}  // namespace streamq::test

#pragma once
// An HTTP client for the dashboard's tests: writes exactly the request text a test builds (so a
// test can send "/dashboard/../x" or a hostile body as it is), reads one reply with Beast's
// parser, every step under a deadline so a test fails instead of hanging. Parses JSON answers
// with Boost.JSON, whose compiled code comes from streamq_dashboard (its json.cpp).

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace streamq::test {

struct http_answer {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  [[nodiscard]] std::string header(const std::string& lower_name) const;
  // The body as JSON (REQUIREs that it parses).
  [[nodiscard]] boost::json::value json() const;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// `method target` on a new connection to 127.0.0.1:port, with Connection: close, the given
// headers (Host: 127.0.0.1:port unless they name one), and Content-Length for a body or POST.
boost::asio::awaitable<http_answer> http_call(std::uint16_t port, std::string method,
                                              std::string target, std::string body,
                                              header_list headers);
boost::asio::awaitable<http_answer> http_get(std::uint16_t port, std::string target);
// A change as the page sends it: POST, Content-Type: application/json, X-Streamq-Token.
boost::asio::awaitable<http_answer> http_post(std::uint16_t port, std::string target,
                                              std::string body, std::string token);

// "/dashboard/api/topic?topic=" + percent-encoded `value` ...: a query value encoded.
[[nodiscard]] std::string url_encode(const std::string& value);

}  // namespace streamq::test

#pragma once
// The endpoint's decisions, apart from any socket: which status a failed read gets, whether a
// request head is acceptable, how a target splits, which route answers, whether a connection
// stays open. Tested in test/unit/http_rules_test.cpp without an io_context.

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::http::detail {

// What to do after reading a request failed.
struct read_failure {
  unsigned status = 0;   // the status to answer before closing; 0: close without answering
  bool timeout = false;  // counted in endpoint_stats::timeouts
  std::string_view why;  // for the debug log record
};
// `ec` is the error of reading a request's head or body, client_errc::timeout when
// request_timeout passed. `received_nothing`: no byte of this request had arrived (a
// connection that closes or times out then is not an error worth a status). `unparsed`: the
// bytes the parser had not consumed (they start with the request line when that failed).
[[nodiscard]] read_failure classify_read_error(const boost::system::error_code& ec,
                                               bool received_nothing, std::string_view unparsed);

// Beast refuses every version but 1.0 and 1.1 as bad_version; a well-formed other version
// ("HTTP/2.0", "HTTP/0.9") deserves 505 rather than 400. `request_line`: the received bytes
// from the start of the request line.
[[nodiscard]] unsigned status_for_bad_version(std::string_view request_line);

// The status a parsed head is refused with, or 0 when it is acceptable. `version` is Beast's
// (11 for HTTP/1.1; its parser has refused all but 10 and 11); `has_body` says the head announces a
// body (Content-Length > 0 or Transfer-Encoding).
[[nodiscard]] unsigned check_head(unsigned version, std::string_view method, bool has_host,
                                  bool has_body);

// Whether a request method may carry a body (GET and HEAD may not).
[[nodiscard]] bool method_takes_body(std::string_view method);

struct target_parts {
  std::string_view path;
  std::string_view query;
};
// Splits an origin-form ("/p?q") or absolute-form ("http://host/p?q") target; nullopt for
// anything else ("*", "p", an empty target), which is answered 400.
[[nodiscard]] std::optional<target_parts> split_target(std::string_view target);

// The routes, as data: paths, kinds and methods; the handlers live next to it, by index.
class route_table {
 public:
  struct match {
    unsigned status = 0;    // 0: found; 404; 405
    std::size_t index = 0;  // the route's index in registration order, when found
    std::string allow;      // for 405: the route's methods, "GET, HEAD"
  };
  // Throws std::invalid_argument (naming the path) for a path not starting with '/', a path
  // of the same kind registered twice, or a method list that is empty or holds a non-token.
  // Returns the new route's index.
  std::size_t add(std::string path, bool prefix, std::vector<std::string> methods);
  // Exact routes first, then the longest matching prefix.
  [[nodiscard]] match find(std::string_view method, std::string_view path) const;
  [[nodiscard]] std::size_t size() const noexcept { return routes_.size(); }

 private:
  struct entry {
    std::string path;
    bool prefix = false;
    std::vector<std::string> methods;
  };
  std::vector<entry> routes_;
};

// Whether the connection serves another request after this response.
[[nodiscard]] bool keep_open(bool client_keeps_alive, std::size_t served, std::size_t max_requests,
                             bool stopping);

// A header a handler may set: a token name and a value without CR, LF or NUL (anything else
// would let a handler's data split the response).
[[nodiscard]] bool valid_header(std::string_view name, std::string_view value);
// A status a handler may answer with: 200..599 (1xx are interim, below 100 is not HTTP).
[[nodiscard]] bool valid_final_status(unsigned status);

// Case-insensitive ASCII comparison (header names).
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace streamq::http::detail

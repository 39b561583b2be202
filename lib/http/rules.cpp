#include "rules.hpp"

#include <streamq/redis/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace streamq::http::detail {
namespace beast_http = boost::beast::http;

namespace {

// RFC 9110 5.6.2: tchar.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= '0' && u <= '9') return true;
    if ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

}  // namespace

unsigned status_for_bad_version(std::string_view request_line) {
  const auto end = request_line.find('\n');
  if (end == std::string_view::npos) return 400;
  auto line = request_line.substr(0, end);
  if (line.ends_with('\r')) line.remove_suffix(1);
  const auto space = line.rfind(' ');
  if (space == std::string_view::npos) return 400;
  const auto version = line.substr(space + 1);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const bool well_formed = version.size() == 8 && version.starts_with("HTTP/") &&
                           digit(version[5]) && version[6] == '.' && digit(version[7]);
  return well_formed ? 505 : 400;
}

read_failure classify_read_error(const boost::system::error_code& ec, bool received_nothing,
                                 std::string_view unparsed) {
  const bool timed_out = ec == redis::client_errc::timeout || ec == boost::beast::error::timeout;
  if (timed_out) {
    // A kept-alive connection that sends nothing more is idle, not slow.
    if (received_nothing) return {0, false, "idle connection timed out"};
    return {408, true, "request not received within request_timeout"};
  }
  if (ec == beast_http::error::header_limit || ec == beast_http::error::buffer_overflow)
    return {431, false, "request header over header_limit"};
  if (ec == beast_http::error::body_limit) return {413, false, "request body over body_limit"};
  // The peer went away or the endpoint is stopping: nobody to answer.
  if (ec == beast_http::error::end_of_stream || ec == boost::asio::error::eof ||
      ec == beast_http::error::partial_message || ec == boost::asio::error::connection_reset ||
      ec == boost::asio::error::operation_aborted || ec == boost::asio::error::broken_pipe)
    return {0, false, "connection closed by the client"};
  if (ec == beast_http::error::bad_version)
    return {status_for_bad_version(unparsed), false, "unsupported or malformed HTTP version"};
  if (ec.category() == beast_http::make_error_code(beast_http::error::bad_method).category())
    return {400, false, "malformed request"};
  return {0, false, "connection failed"};
}

bool method_takes_body(std::string_view method) {
  return method != "GET" && method != "HEAD";
}

unsigned check_head(unsigned version, std::string_view method, bool has_host, bool has_body) {
  // RFC 9112 3.2: an HTTP/1.1 request without Host is answered 400.
  if (version == 11 && !has_host) return 400;
  if (has_body && !method_takes_body(method)) return 413;
  return 0;
}

std::optional<target_parts> split_target(std::string_view target) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      const auto rest = target.substr(scheme.size());
      const auto slash = rest.find_first_of("/?");
      if (slash == std::string_view::npos) return target_parts{"/", ""};
      target = rest.substr(slash);
      if (target.front() == '?') return target_parts{"/", target.substr(1)};
      break;
    }
  }
  if (target.empty() || target.front() != '/') return std::nullopt;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return target_parts{target, ""};
  return target_parts{target.substr(0, q), target.substr(q + 1)};
}

std::size_t route_table::add(std::string path, bool prefix, std::vector<std::string> methods) {
  const auto refuse = [&](const std::string& why) {
    throw std::invalid_argument("streamq endpoint route '" + path + "': " + why);
  };
  if (path.empty() || path.front() != '/') refuse("a path starts with '/'");
  if (methods.empty()) refuse("the method list is empty");
  for (const auto& m : methods)
    if (!is_token(m)) refuse("'" + m + "' is not a method name");
  for (const auto& r : routes_)
    if (r.path == path && r.prefix == prefix) refuse("registered twice");
  routes_.push_back(entry{std::move(path), prefix, std::move(methods)});
  return routes_.size() - 1;
}

route_table::match route_table::find(std::string_view method, std::string_view path) const {
  const entry* best = nullptr;
  for (const auto& r : routes_) {
    if (!r.prefix && r.path == path) {
      best = &r;
      break;
    }
    if (r.prefix && path.starts_with(r.path) && (!best || best->path.size() < r.path.size()))
      best = &r;
  }
  match m;
  if (!best) {
    m.status = 404;
    return m;
  }
  m.index = static_cast<std::size_t>(best - routes_.data());
  if (std::find(best->methods.begin(), best->methods.end(), method) == best->methods.end()) {
    m.status = 405;
    for (const auto& allowed : best->methods) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += allowed;
    }
  }
  return m;
}

bool keep_open(bool client_keeps_alive, std::size_t served, std::size_t max_requests,
               bool stopping) {
  return client_keeps_alive && served < max_requests && !stopping;
}

bool valid_header(std::string_view name, std::string_view value) {
  return is_token(name) &&
         value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool valid_final_status(unsigned status) {
  return status >= 200 && status <= 599;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  const auto lower = [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace streamq::http::detail

// The dashboard's request rules: see rules.hpp.
#include "rules.hpp"

#include "sansio/replay_plan.hpp"  // parse_entry_id

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <stdexcept>

namespace streamq::dashboard::detail {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

api_error refusal(unsigned status, std::string code, std::string message) {
  return {status, std::move(code), std::move(message)};
}

}  // namespace

api_error invalid_argument(std::string message) {
  return refusal(400, "invalid_argument", std::move(message));
}

api_error not_found(std::string message) { return refusal(404, "not_found", std::move(message)); }

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;  // "a=1&&b=2", a trailing '&'
    const auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1), true);
    if (!name || !value || name->empty()) return std::nullopt;
    if (!out.emplace(std::move(*name), std::move(*value)).second) return std::nullopt;
  }
  return out;
}

bool tokens_equal(std::string_view given, std::string_view expected) {
  unsigned char a[SHA256_DIGEST_LENGTH];
  unsigned char b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

bool host_allowed(const http::request& req, std::span<const std::string> allowed) {
  const auto header = req.find_header("host");
  if (!header) return true;
  auto host = trim(*header);
  if (host.starts_with('[')) return host.find(']') != std::string_view::npos;  // IPv6 literal
  host = host.substr(0, host.rfind(':'));
  in_addr v4{};
  if (::inet_pton(AF_INET, std::string(host).c_str(), &v4) == 1 || iequals(host, "localhost"))
    return true;
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& name) { return name == "*" || iequals(host, name); });
}

bool is_cross_site(const http::request& req) {
  if (const auto site = req.find_header("sec-fetch-site"); site && iequals(trim(*site), "cross-site"))
    return true;
  const auto origin = req.find_header("origin");
  if (!origin) return false;  // not a browser's cross-origin request (curl, scripts)
  // "null" (sandboxed frames, file: pages) and anything without a scheme is another site.
  const auto o = trim(*origin);
  const auto scheme_end = o.find("://");
  if (scheme_end == std::string_view::npos) return true;
  const auto scheme = o.substr(0, scheme_end);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return true;
  const auto host = req.find_header("host");
  return !host || !iequals(o.substr(scheme_end + 3), trim(*host));
}

std::optional<api_error> check_mutation(const http::request& req, bool read_only,
                                        std::string_view token) {
  if (read_only) return refusal(403, "read_only", "the dashboard is read-only");
  if (token.empty())
    return refusal(403, "read_only", "changes are disabled: the dashboard has no token configured");
  if (is_cross_site(req))
    return refusal(403, "cross_site", "refused: the request comes from another site");
  const auto given = req.find_header("x-streamq-token");
  if (!given || !tokens_equal(*given, token))
    return refusal(403, "bad_token", "missing or wrong X-Streamq-Token");
  const auto type = req.find_header("content-type");
  if (!type || !iequals(trim(type->substr(0, type->find(';'))), "application/json"))
    return refusal(415, "unsupported_media_type", "the body must be Content-Type: application/json");
  return std::nullopt;
}

bool is_entry_id(std::string_view id) {
  return id.find('-') != std::string_view::npos && streams::detail::parse_entry_id(id).has_value();
}

bool is_task_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
  });
}

std::optional<std::size_t> parse_count(const std::optional<std::string>& text, std::size_t fallback) {
  if (!text) return fallback;
  std::size_t value = 0;
  const auto& s = *text;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value < 1 || value > max_count)
    return std::nullopt;
  return value;
}

std::optional<route_target> classify_path(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto rest = path.substr(prefix.size());
  if (rest.empty()) return route_target{route_target::kind::redirect, {}};
  if (rest.front() != '/') return std::nullopt;  // "/dashboardx" is not under "/dashboard"
  rest.remove_prefix(1);
  if (rest.substr(0, 4) == "api/") return route_target{route_target::kind::api, rest.substr(4)};
  return route_target{route_target::kind::asset, rest};
}

std::string normalise_prefix(std::string_view prefix) {
  const auto bad = [&](const char* why) {
    return std::invalid_argument("streamq dashboard_config.prefix '" + std::string(prefix) +
                                 "': " + why);
  };
  if (prefix.empty() || prefix.front() != '/') throw bad("must start with '/'");
  if (!std::all_of(prefix.begin(), prefix.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '~' || c == '/' || c == '-';
      }))
    throw bad("may hold only A-Z a-z 0-9 . _ ~ - /");
  std::string out(prefix);
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out == "/") return "";
  std::string_view rest(out);
  rest.remove_prefix(1);
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..")
      throw bad("must not hold empty, '.' or '..' segments");
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return out;
}

std::vector<http::header> security_headers(bool html, bool api) {
  std::vector<http::header> h{{"X-Content-Type-Options", "nosniff"},
                              {"X-Frame-Options", "DENY"},
                              {"Referrer-Policy", "no-referrer"},
                              {"Cache-Control", api ? "no-store" : "no-cache"}};
  if (html) h.push_back({"Content-Security-Policy", std::string(content_security_policy)});
  return h;
}

}  // namespace streamq::dashboard::detail

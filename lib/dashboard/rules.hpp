#pragma once
// The dashboard's decisions about a request, apart from any socket or Redis: which file or
// API route a path names, what a query string says, whether a mutation may run, whether an
// input is well formed, which headers every answer carries. Tested in
// test/dashboard/dashboard_rules_test.cpp without an io_context.

#include <streamq/http/endpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::dashboard::detail {

// A refusal as the API answers it: {"error":"<message>","code":"<code>"} with `status`.
struct api_error {
  unsigned status = 400;
  std::string code;     // "invalid_argument", "bad_token", ... (docs/dashboard.md)
  std::string message;  // one line, for people; never holds a secret
};
[[nodiscard]] api_error invalid_argument(std::string message);
[[nodiscard]] api_error not_found(std::string message);

// A query string ("a=1&b=x%20y") as name -> value, percent-decoded ('+' is a space). nullopt
// when it is malformed (a bad %-escape, a name given twice, an empty name), so a request is
// never read two ways.
[[nodiscard]] std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

// "%41b" -> "Ab"; nullopt for a '%' not followed by two hex digits. `plus_is_space` for query
// strings (application/x-www-form-urlencoded), not for paths.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// Equal token texts, in time that does not depend on where they differ nor on their lengths:
// both are hashed (SHA-256) and the digests compared with CRYPTO_memcmp.
[[nodiscard]] bool tokens_equal(std::string_view given, std::string_view expected);

// Whether a mutation (POST api/...) may run: refused 403 "read_only" when the dashboard is
// read-only or has no token; 403 "cross_site" when the browser says the request comes from
// another site (Sec-Fetch-Site: cross-site, or an Origin whose host is not the request's
// Host); 403 "bad_token" when X-Streamq-Token is missing or wrong; 415
// "unsupported_media_type" unless Content-Type is application/json. nullopt: it may run.
[[nodiscard]] std::optional<api_error> check_mutation(const http::request& req, bool read_only,
                                                      std::string_view token);

// Whether the request's Host names this server as expected: an IP literal ("127.0.0.1:8080",
// "[::1]:8080"), "localhost", or one of `allowed` ("*" allows any name); names compared
// without case, the port ignored. A page on another name resolved to this address (DNS
// rebinding) sends its own name and is refused, so it cannot read the API. A request without
// Host (HTTP/1.0) passes: browsers always send one.
[[nodiscard]] bool host_allowed(const http::request& req, std::span<const std::string> allowed);

// Whether a request's Origin / Sec-Fetch-Site say it comes from another site (above).
[[nodiscard]] bool is_cross_site(const http::request& req);

// A stream entry ID as Redis writes them: "<ms>-<seq>", both decimal without sign, each
// fitting 64 bits.
[[nodiscard]] bool is_entry_id(std::string_view id);
// A delayed task's ID or a recurring task's name: 1 to 128 characters from [A-Za-z0-9._:-].
[[nodiscard]] bool is_task_id(std::string_view id);

// A `count` parameter: absent -> `fallback`; otherwise a decimal from 1 to max_count.
inline constexpr std::size_t max_count = 1000;
[[nodiscard]] std::optional<std::size_t> parse_count(const std::optional<std::string>& text,
                                                     std::size_t fallback);

// What a path under the mount prefix names.
struct route_target {
  enum class kind { asset, api, redirect };
  kind what = kind::asset;
  std::string_view rest;  // asset: the file's name ("" for the page); api: "overview"
};
// `path` is the request's path as sent; `prefix` the mount prefix without its trailing slash
// ("" when mounted at "/"). nullopt when the path is not under the prefix.
[[nodiscard]] std::optional<route_target> classify_path(std::string_view path,
                                                        std::string_view prefix);

// The mount prefix as configured ("/dashboard", "/dashboard/", "/") normalised: no trailing
// slash, "" for the root. Throws std::invalid_argument for one that does not start with '/',
// holds "//", "." or ".." segments, or characters outside [A-Za-z0-9._~/-].
[[nodiscard]] std::string normalise_prefix(std::string_view prefix);

// Headers every answer carries (nosniff, no framing, no referrer); `html` adds the
// Content-Security-Policy; `api` adds Cache-Control: no-store (assets get no-cache instead).
[[nodiscard]] std::vector<http::header> security_headers(bool html, bool api);

inline constexpr std::string_view content_security_policy =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'";

}  // namespace streamq::dashboard::detail

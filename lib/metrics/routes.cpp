#include <streamq/metrics/routes.hpp>

#include <streamq/http/endpoint.hpp>
#include <streamq/metrics/metrics.hpp>

#include <cstdio>

namespace streamq::metrics {

namespace {

// A JSON string: quotes, backslashes and control characters escaped. The reasons come from
// streamq's own error texts (never a password: they are built from error codes and names).
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
}

}  // namespace

std::string readiness_json(const readiness& r) {
  std::string out = r.ok ? "{\"ready\":true,\"checks\":[" : "{\"ready\":false,\"checks\":[";
  bool first = true;
  for (const auto& check : r.checks) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    append_json_string(out, check.name);
    out += check.ok ? ",\"ok\":true" : ",\"ok\":false";
    if (!check.reason.empty()) {
      out += ",\"reason\":";
      append_json_string(out, check.reason);
    }
    out += '}';
  }
  out += "]}";
  return out;
}

void add_routes(http::endpoint& ep, metrics& m) {
  ep.route("/metrics", http::sync_handler([&m](const http::request&) {
             return http::response{.status = 200,
                                   .content_type = "text/plain; version=0.0.4; charset=utf-8",
                                   .body = m.render(),
                                   .headers = {}};
           }));
  ep.route("/healthz", http::sync_handler([](const http::request&) {
             return http::response{.status = 200,
                                   .content_type = "text/plain; charset=utf-8",
                                   .body = "ok\n",
                                   .headers = {}};
           }));
  ep.route("/readyz", http::sync_handler([&m](const http::request&) {
             const auto r = m.ready();
             return http::response{.status = r.ok ? 200u : 503u,
                                   .content_type = "application/json",
                                   .body = readiness_json(r) + "\n",
                                   .headers = {}};
           }));
}

}  // namespace streamq::metrics

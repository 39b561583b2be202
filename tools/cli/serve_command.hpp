#pragma once
// `streamq serve`: the dashboard (lib/dashboard) on its own HTTP endpoint, with /healthz, until
// SIGINT or SIGTERM. Unlike the other commands it is long-running, so it has its own runner:
// its client reconnects (a Redis restart is waited out; the API answers 503 meanwhile), and
// there is no overall deadline.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace streamq::cli {

struct serve_options {
  std::string url;                 // a redis:// URL (redis::parse_url)
  std::string key_prefix;          // names.hpp's key prefix of the topics shown
  std::string listen = "127.0.0.1:8080";  // address:port; port 0 picks a free one
  std::string token_file;          // the token's file; empty: $STREAMQ_DASHBOARD_TOKEN
  bool read_only = false;
  std::vector<std::string> allowed_hosts;  // host names besides IP literals and localhost
  std::vector<std::string> descriptor_sets;
  std::vector<std::string> protos;
  std::vector<std::string> proto_paths;
};

// The environment variable holding the token when no --token-file is given.
inline constexpr const char* token_variable = "STREAMQ_DASHBOARD_TOKEN";

// "127.0.0.1:8080", "[::1]:0", "0.0.0.0:80": the address and the port; nullopt for anything
// else (no port, a port over 65535, an empty address).
struct listen_address {
  std::string address;
  std::uint16_t port = 0;
};
[[nodiscard]] std::optional<listen_address> parse_listen(const std::string& text);

// A token file's text as the token: the trailing line break (and spaces) an editor or `echo`
// leaves removed. Empty when nothing else is left.
[[nodiscard]] std::string token_from_file_text(const std::string& text);

// Serves until SIGINT or SIGTERM; returns the exit code (runner.hpp's exit_code), having
// printed "streamq: dashboard on http://ADDRESS:PORT/" on stderr once listening, and a
// one-line error for any failure.
[[nodiscard]] int run_serve(const serve_options& options);

}  // namespace streamq::cli

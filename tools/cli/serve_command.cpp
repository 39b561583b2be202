// `streamq serve`: see serve_command.hpp.
#include "serve_command.hpp"

#include "cli_state.hpp"
#include "runner.hpp"  // exit codes, classify_failure

#include <streamq/client.hpp>
#include <streamq/dashboard/dashboard.hpp>
#include <streamq/http/endpoint.hpp>
#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <CLI/CLI.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>

namespace streamq::cli {

namespace asio = boost::asio;

std::optional<listen_address> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string address = text.substr(0, colon);
  if (address.front() == '[') {
    if (address.size() < 3 || address.back() != ']') return std::nullopt;
    address = address.substr(1, address.size() - 2);
  } else if (address.find(':') != std::string::npos) {
    return std::nullopt;  // an IPv6 address needs its brackets: "[::1]:8080"
  }
  const std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535)
    return std::nullopt;
  return listen_address{address, static_cast<std::uint16_t>(port)};
}

std::string token_from_file_text(const std::string& text) {
  auto end = text.find_last_not_of(" \t\r\n");
  return end == std::string::npos ? std::string() : text.substr(0, end + 1);
}

namespace {

void print_error(const std::string& message) {
  std::fprintf(stderr, "streamq: %s\n", message.c_str());
}

// The token from --token-file or the environment; nullopt (and a message) when the file
// cannot be read.
std::optional<std::string> read_token(const serve_options& o) {
  if (o.token_file.empty()) {
    const char* env = std::getenv(token_variable);
    return std::string(env != nullptr ? env : "");
  }
  std::ifstream in(o.token_file, std::ios::binary);
  if (!in) {
    print_error("cannot read --token-file " + o.token_file);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return token_from_file_text(text.str());
}

std::vector<std::filesystem::path> paths(const std::vector<std::string>& files) {
  return {files.begin(), files.end()};
}

}  // namespace

int run_serve(const serve_options& o) {
  redis::connection_config config;
  try {
    config = redis::parse_url(o.url);
  } catch (const std::invalid_argument& e) {
    print_error(std::string("invalid --redis URL: ") + e.what());
    return exit_usage_error;
  }
  const auto listen = parse_listen(o.listen);
  if (!listen) {
    print_error("invalid --listen '" + o.listen + "': expected ADDRESS:PORT, e.g. 127.0.0.1:8080");
    return exit_usage_error;
  }
  const auto token = read_token(o);
  if (!token) return exit_usage_error;
  const std::string where = config.redacted_url();

  asio::io_context io;
  client c(io.get_executor(), config);
  std::unique_ptr<http::endpoint> ep;
  std::unique_ptr<dashboard::dashboard> board;
  try {
    http::endpoint_config ec;
    ec.address = listen->address;
    ec.port = listen->port;
    ep = std::make_unique<http::endpoint>(io.get_executor(), ec);
    dashboard::dashboard_config dc;
    dc.prefix = "/";
    dc.token = *token;
    dc.read_only = o.read_only;
    dc.allowed_hosts = o.allowed_hosts;
    dc.key_prefix = o.key_prefix;
    dc.descriptor_sets = paths(o.descriptor_sets);
    dc.protos = paths(o.protos);
    dc.proto_paths = paths(o.proto_paths);
    board = std::make_unique<dashboard::dashboard>(c, *ep, std::move(dc));
    ep->route("/healthz", http::sync_handler([](const http::request&) {
                return http::response{200, "text/plain; charset=utf-8", "ok\n", {}};
              }));
  } catch (const boost::system::system_error& e) {
    // Cannot bind (address in use), or a descriptor set / .proto that cannot be read.
    print_error(e.what());
    return exit_runtime_error;
  } catch (const std::invalid_argument& e) {
    print_error(e.what());
    return exit_usage_error;
  }
  const auto bound = ep->local_endpoint();
  const std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                                    : bound.address().to_string();
  // The first line is what scripts (and the browser test) wait for: keep its form.
  std::fprintf(stderr, "streamq: dashboard on http://%s:%u/\n", host.c_str(),
               static_cast<unsigned>(bound.port()));
  std::fprintf(stderr, "streamq: topics of %s%s\n", where.c_str(),
               board->config().read_only || token->empty() ? " (read-only: no changes)" : "");
  std::fflush(stderr);

  // Shutdown order: the endpoint and the dashboard's replays stop first (each replay stops at
  // its current request), then the client, which they use until they have ended.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool served = false;
  boost::system::error_code client_error;
  std::exception_ptr failure;
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    ep->stop();
    board->stop();
  });
  using namespace asio::experimental::awaitable_operators;
  asio::co_spawn(io, ep->async_run() && board->async_run(), [&](std::exception_ptr e) {
    served = true;
    failure = e;
    c.cancel();
    signals.cancel();
  });
  c.async_run([&](const boost::system::error_code& ec) {
    // With reconnection on, the client's run ends by itself only for a fatal error (bad
    // credentials, say): nothing can be served then.
    if (!served) {
      client_error = ec;
      ep->stop();
      board->stop();
    }
  });
  io.run();

  if (client_error && client_error != redis::client_errc::shut_down) {
    const auto phase = c.shared_connection().stats().connects == 0 ? connection_phase::connecting
                                                                   : connection_phase::connected;
    const auto report = classify_failure(client_error, where, phase);
    print_error(report.message);
    return report.code;
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      print_error(e.what());
    }
    return exit_runtime_error;
  }
  return exit_ok;
}

void add_serve_command(CLI::App& app, cli_state& state) {
  const auto serve = std::make_shared<serve_options>();
  auto* serve_cmd = app.add_subcommand(
      "serve", "Serve the web dashboard (topics, groups, dead letters, replays) until SIGINT or "
               "SIGTERM. Changes need a token, read from --token-file or $" +
                   std::string(token_variable) +
                   ", never from the command line: other users can read a process's arguments "
                   "(ps, /proc). Without a token the dashboard is read-only.");
  serve_cmd->add_option("--listen", serve->listen,
                        "ADDRESS:PORT to serve on (port 0: a free one, printed at start-up); "
                        "loopback by default: exposing it is your decision")
      ->capture_default_str();
  serve_cmd->add_option("--token-file", serve->token_file,
                        "File holding the token that changes must carry (X-Streamq-Token)");
  serve_cmd->add_flag("--read-only", serve->read_only, "Refuse every change, even with the token");
  serve_cmd->add_option("--allow-host", serve->allowed_hosts,
                        "A host name the dashboard is reached by, besides IP addresses and "
                        "localhost (repeatable; other names are refused, against DNS rebinding)");
  serve_cmd->callback([&state, serve] {
    serve->url = state.run.url;
    serve->key_prefix = state.out.key_prefix;
    // The global --proto, --proto-path and --descriptor-set render the page's payloads too.
    serve->protos = state.payloads.protos;
    serve->proto_paths = state.payloads.proto_paths;
    serve->descriptor_sets = state.payloads.descriptor_sets;
    // The other commands' runner (one connection attempt, one deadline) does not fit a
    // long-running server: serve runs itself.
    state.run_itself = [serve] { return run_serve(*serve); };
  });
}

}  // namespace streamq::cli

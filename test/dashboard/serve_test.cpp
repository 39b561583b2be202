// `streamq serve`: its argument rules (unit), and the binary itself started as a process on
// an ephemeral port against a password-protected redis-server: it prints where it listens,
// serves the page, the API and /healthz, accepts a change with the token from its file, keeps
// the password and the token out of everything it prints and answers, and exits 0 on SIGTERM.
#include "dashboard_client.hpp"
#include "serve_command.hpp"

#include "support/async_test.hpp"
#include "support/posix_helpers.hpp"
#include "support/redis_server.hpp"

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace streamq::test;
using streamq::cli::parse_listen;
using streamq::cli::token_from_file_text;

namespace {

const std::string password = "Sq-NoLeak-serve-Pw3q";
const std::string token = "serve-test-token-98765";
constexpr std::string_view listening = "streamq: dashboard on http://127.0.0.1:";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A running `streamq serve`; killed (SIGKILL) if a test ends without stopping it.
struct serve_process {
  pid_t pid = -1;
  std::string log;
  std::uint16_t port = 0;

  serve_process(const std::string& url, const std::string& dir, std::vector<std::string> extra) {
    log = dir + "/serve.log";
    std::vector<std::string> argv{STREAMQ_CLI_BINARY, "serve", "--redis", url, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid = detail::spawn_process(argv, log);
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (port == 0 && std::chrono::steady_clock::now() < until) {
      const auto text = read_file(log);
      if (const auto at = text.find(listening); at != std::string::npos && text.find('\n', at) != std::string::npos)
        port = static_cast<std::uint16_t>(std::stoi(text.substr(at + listening.size())));
      else
        std::this_thread::sleep_for(20ms);
    }
    INFO(read_file(log));
    REQUIRE(port != 0);
  }
  ~serve_process() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int status = 0;
      detail::waitpid_retry(pid, &status, 0);
    }
  }
  // SIGTERM, then the exit status (REQUIREs an exit within 10 s).
  int terminate() {
    ::kill(pid, SIGTERM);
    int status = 0;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (detail::waitpid_retry(pid, &status, WNOHANG) == 0) {
      REQUIRE(std::chrono::steady_clock::now() < until);
      std::this_thread::sleep_for(10ms);
    }
    pid = -1;
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
  }
};

}  // namespace

TEST_CASE("serve rules: --listen is ADDRESS:PORT, IPv6 in brackets") {
  const auto v4 = parse_listen("127.0.0.1:8080");
  REQUIRE(v4);
  CHECK(v4->address == "127.0.0.1");
  CHECK(v4->port == 8080);
  const auto v6 = parse_listen("[::1]:0");
  REQUIRE(v6);
  CHECK(v6->address == "::1");
  CHECK(v6->port == 0);
  for (const auto* bad : {"127.0.0.1", ":8080", "127.0.0.1:", "127.0.0.1:65536", "::1:80",
                          "[::1:80", "[]:80", "host:8o"})
    CHECK_MESSAGE(!parse_listen(bad), bad);
}

TEST_CASE("serve rules: a token file's trailing line break is not part of the token") {
  CHECK(token_from_file_text("abc\n") == "abc");
  CHECK(token_from_file_text("abc \r\n\n") == "abc");
  CHECK(token_from_file_text("a b") == "a b");
  CHECK(token_from_file_text("\n").empty());
}

TEST_CASE("serve: the command serves the dashboard on an ephemeral port and stops on SIGTERM") {
  redis_server_options o;
  o.requirepass = password;
  redis_server server(o);
  const auto url = "redis://:" + password + "@127.0.0.1:" + std::to_string(server.port());
  const auto token_file = server.dir() + "/token";
  detail::write_text(token_file, token + "\n");
  serve_process serve(url, server.dir(), {"--token-file", token_file});

  std::vector<std::string> answers;
  run_coroutine([&]() -> asio::awaitable<void> {
    const auto session = co_await http_get(serve.port, "/api/session");
    REQUIRE(session.status == 200);
    CHECK(session.json().at("mutations_enabled").as_bool());
    const auto overview = co_await http_get(serve.port, "/api/overview");
    CHECK(overview.status == 200);
    const auto page = co_await http_get(serve.port, "/");
    CHECK(page.status == 200);
    CHECK(page.header("content-type") == "text/html; charset=utf-8");
    const auto health = co_await http_get(serve.port, "/healthz");
    CHECK(health.status == 200);
    const auto change = co_await http_post(serve.port, "/api/dead-letters/purge",
                                           R"({"topic":"orders","group":"billing","all":true})", token);
    CHECK(change.status == 200);
    CHECK(change.json().at("purged").to_number<int>() == 0);
    const auto refused = co_await http_post(serve.port, "/api/dead-letters/purge",
                                            R"({"topic":"orders","group":"billing","all":true})", "nope");
    CHECK(refused.status == 403);
    answers.push_back(session.body);
    answers.push_back(overview.body);
    answers.push_back(page.body);
    answers.push_back(change.body);
    answers.push_back(refused.body);
  });
  CHECK(serve.terminate() == 0);
  const auto printed = read_file(serve.log);
  INFO(printed);
  CHECK(printed.find(password) == std::string::npos);
  CHECK(printed.find(token) == std::string::npos);
  for (const auto& a : answers) {
    CHECK(a.find(password) == std::string::npos);
    CHECK(a.find(token) == std::string::npos);
  }
}

TEST_CASE("serve: without a token the served dashboard refuses every change") {
  redis_server server;
  ::unsetenv(streamq::cli::token_variable);
  serve_process serve(server.url(), server.dir(), {});
  run_coroutine([&]() -> asio::awaitable<void> {
    const auto session = co_await http_get(serve.port, "/api/session");
    CHECK_FALSE(session.json().at("mutations_enabled").as_bool());
    const auto change = co_await http_post(serve.port, "/api/dead-letters/purge",
                                           R"({"topic":"orders","group":"billing","all":true})", "");
    CHECK(change.status == 403);
    CHECK(change.json().at("code").as_string() == "read_only");
  });
  CHECK(serve.terminate() == 0);
}

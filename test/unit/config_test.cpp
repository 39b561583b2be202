// Tests of lib/redis/config.cpp: parse_url(), connection_config::validate(), redacted_url().

#include <streamq/redis/config.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace redis = streamq::redis;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view secret = "hunter2";

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// parse_url(url) must throw std::invalid_argument whose text neither echoes the password nor
// is empty; returns the text.
std::string parse_error(std::string_view url) {
  INFO(url);
  try {
    (void)redis::parse_url(url);
  } catch (const std::invalid_argument& e) {
    CHECK_FALSE(contains(e.what(), secret));
    CHECK_FALSE(std::string_view(e.what()).empty());
    return e.what();
  }
  FAIL("parse_url accepted a malformed URL");
  return {};
}

// validate() of `base` changed by `edit` must throw naming `field`, without the passwords
// (the data nodes' and the sentinels').
void check_invalid_from(redis::connection_config cfg,
                        const std::function<void(redis::connection_config&)>& edit,
                        std::string_view field) {
  cfg.password = std::string(secret);
  cfg.sentinel.password = std::string(secret);
  edit(cfg);
  INFO(field);
  try {
    cfg.validate();
    FAIL("validate() accepted an invalid config");
  } catch (const std::invalid_argument& e) {
    CHECK(contains(e.what(), field));
    CHECK_FALSE(contains(e.what(), secret));
  }
}

void check_invalid(const std::function<void(redis::connection_config&)>& edit,
                   std::string_view field) {
  check_invalid_from(redis::connection_config{}, edit, field);
}

}  // namespace

TEST_CASE("parse_url: defaults") {
  const auto cfg = redis::parse_url("redis://localhost");
  CHECK(cfg.host == "localhost");
  CHECK(cfg.port == 6379);
  CHECK(cfg.database == 0);
  CHECK(cfg.unix_socket.empty());
  CHECK_FALSE(cfg.tls.enabled);
  CHECK(cfg.username.empty());
  CHECK(cfg.password.empty());
  CHECK(cfg.resp3);
  CHECK(cfg.client_name == "streamq");
  CHECK(cfg.connect_timeout == redis::connection_config{}.connect_timeout);
  CHECK_NOTHROW(redis::connection_config{}.validate());
}

TEST_CASE("parse_url: host, port and database") {
  auto cfg = redis::parse_url("redis://cache.example:6380/5");
  CHECK(cfg.host == "cache.example");
  CHECK(cfg.port == 6380);
  CHECK(cfg.database == 5);
  CHECK(redis::parse_url("redis://h:1").port == 1);
  CHECK(redis::parse_url("redis://h:65535").port == 65535);
  CHECK(redis::parse_url("redis://h/").database == 0);
  CHECK(redis::parse_url("redis://h?db=7").database == 7);
  CHECK(redis::parse_url("redis://10.1.2.3:7000").host == "10.1.2.3");
}

TEST_CASE("parse_url: IPv6 literals") {
  auto cfg = redis::parse_url("redis://[::1]:6380");
  CHECK(cfg.host == "::1");
  CHECK(cfg.port == 6380);
  cfg = redis::parse_url("redis://[::1]");
  CHECK(cfg.host == "::1");
  CHECK(cfg.port == 6379);
  cfg = redis::parse_url("redis://u:pw@[fe80::1]:7000/3");
  CHECK(cfg.host == "fe80::1");
  CHECK(cfg.port == 7000);
  CHECK(cfg.database == 3);
  CHECK(cfg.password == "pw");
}

TEST_CASE("parse_url: credentials") {
  auto cfg = redis::parse_url("redis://alice:s3cret@h:1/2");
  CHECK(cfg.username == "alice");
  CHECK(cfg.password == "s3cret");
  CHECK(cfg.host == "h");
  CHECK(cfg.database == 2);

  cfg = redis::parse_url("redis://al%69ce:p%40ss%3Aw%2Frd%25@h");
  CHECK(cfg.username == "alice");
  CHECK(cfg.password == "p@ss:w/rd%");

  cfg = redis::parse_url("redis://u:p@ss@h:1");  // '@' in a password may stay unescaped
  CHECK(cfg.username == "u");
  CHECK(cfg.password == "p@ss");
  CHECK(cfg.host == "h");
  CHECK(cfg.port == 1);

  cfg = redis::parse_url("redis://u:pa:ss@h");  // only the first ':' separates
  CHECK(cfg.password == "pa:ss");

  cfg = redis::parse_url("redis://:only-password@h");
  CHECK(cfg.username.empty());
  CHECK(cfg.password == "only-password");

  cfg = redis::parse_url("redis://only-user@h");
  CHECK(cfg.username == "only-user");
  CHECK(cfg.password.empty());
}

TEST_CASE("parse_url: rediss:// and its TLS options") {
  auto cfg = redis::parse_url(
      "rediss://u:pw@redis.internal:6390?ca=/etc/ca.pem&cert=/etc/c.pem&key=/etc/k%20.pem"
      "&sni=other.name&verify=0");
  CHECK(cfg.tls.enabled);
  CHECK(cfg.host == "redis.internal");
  CHECK(cfg.port == 6390);
  CHECK(cfg.tls.ca_file == "/etc/ca.pem");
  CHECK(cfg.tls.cert_file == "/etc/c.pem");
  CHECK(cfg.tls.key_file == "/etc/k .pem");
  CHECK(cfg.tls.server_name == "other.name");
  CHECK_FALSE(cfg.tls.verify_peer);

  cfg = redis::parse_url("rediss://h");
  CHECK(cfg.tls.enabled);
  CHECK(cfg.tls.verify_peer);
  CHECK(cfg.tls.ca_file.empty());
  CHECK(redis::parse_url("rediss://h?verify=1").tls.verify_peer);
  CHECK_FALSE(redis::parse_url("rediss://h?verify=false").tls.verify_peer);
}

TEST_CASE("parse_url: other options") {
  const auto cfg = redis::parse_url(
      "redis://h?client_name=worker%201&connect_timeout_ms=250&health_check_ms=0&resp=2&&db=4");
  CHECK(cfg.client_name == "worker 1");
  CHECK(cfg.connect_timeout == 250ms);
  CHECK(cfg.health_check_interval == 0ms);
  CHECK_FALSE(cfg.resp3);
  CHECK(cfg.database == 4);
  CHECK(redis::parse_url("redis://h?resp=3").resp3);
}

TEST_CASE("parse_url: unix sockets") {
  auto cfg = redis::parse_url("unix:///var/run/redis.sock?db=2");
  CHECK(cfg.unix_socket == "/var/run/redis.sock");
  CHECK(cfg.database == 2);
  CHECK_FALSE(cfg.tls.enabled);

  cfg = redis::parse_url("unix://u:p%40w@/tmp/my%20dir/r.sock");
  CHECK(cfg.unix_socket == "/tmp/my dir/r.sock");
  CHECK(cfg.username == "u");
  CHECK(cfg.password == "p@w");
}

TEST_CASE("parse_url: malformed URLs throw without echoing the password") {
  CHECK(contains(parse_error("http://u:hunter2@h"), "scheme"));
  CHECK(contains(parse_error("u:hunter2@h:6379"), "scheme"));
  CHECK(contains(parse_error("redis://u:hunter2@h:0"), "port"));
  CHECK(contains(parse_error("redis://u:hunter2@h:70000"), "port"));
  CHECK(contains(parse_error("redis://u:hunter2@h:-1"), "port"));
  CHECK(contains(parse_error("redis://u:hunter2@h:99999999999"), "port"));
  CHECK(contains(parse_error("redis://u:hunter2@h:abc"), "port"));
  CHECK(contains(parse_error("redis://u:hunter2@h?bogus=1"), "bogus"));
  parse_error("redis://u:hunter2@h?novalue");
  parse_error("redis://u:hunter2%zz@h");  // bad escape in the password
  parse_error("redis://u:hunter2%4@h");   // truncated escape
  parse_error("redis://u%g1:hunter2@h");
  CHECK(contains(parse_error("unix://u:hunter2@tmp/redis.sock"), "absolute"));
  parse_error("unix://");
  parse_error("redis://");
  parse_error("redis://u:hunter2@");
  parse_error("redis://u:hunter2@[::1");
  parse_error("redis://u:hunter2@[::1]x");
  parse_error("redis://u:hunter2@h/abc");
  parse_error("redis://u:hunter2@h?db=x");
  parse_error("redis://u:hunter2@h?connect_timeout_ms=soon");
  CHECK(contains(parse_error("redis://u:hunter2@h?db=-1"), "database"));
  CHECK(contains(parse_error("redis://u:hunter2@h?connect_timeout_ms=0"), "connect_timeout"));
  CHECK(contains(parse_error("rediss://u:hunter2@h?cert=/c.pem"), "tls.key_file"));
}

TEST_CASE("connection_config::validate names the invalid field") {
  using cfg_t = redis::connection_config;
  check_invalid([](cfg_t& c) { c.host.clear(); }, "host");
  check_invalid([](cfg_t& c) { c.port = 0; }, "port");
  check_invalid(
      [](cfg_t& c) {
        c.unix_socket = "/tmp/s";
        c.tls.enabled = true;
      },
      "tls.enabled");
  check_invalid([](cfg_t& c) { c.database = -1; }, "database");
  check_invalid([](cfg_t& c) { c.tls.cert_file = "/c.pem"; }, "tls.key_file");
  check_invalid([](cfg_t& c) { c.connect_timeout = 0ms; }, "connect_timeout");
  check_invalid([](cfg_t& c) { c.health_check_interval = -1ms; }, "health_check_interval");
  check_invalid([](cfg_t& c) { c.health_check_timeout = 0ms; }, "health_check_timeout");
  check_invalid([](cfg_t& c) { c.reconnect.initial_delay = 0ms; }, "reconnect.initial_delay");
  check_invalid([](cfg_t& c) { c.reconnect.max_delay = 10ms; }, "reconnect.max_delay");
  check_invalid([](cfg_t& c) { c.reconnect.multiplier = 0.5; }, "reconnect.multiplier");
  check_invalid([](cfg_t& c) { c.reconnect.jitter = 1.5; }, "reconnect.jitter");
  check_invalid([](cfg_t& c) { c.reconnect.jitter = -0.1; }, "reconnect.jitter");
  check_invalid([](cfg_t& c) { c.max_pending_requests = 0; }, "max_pending_requests");
  check_invalid([](cfg_t& c) { c.max_write_bytes = 0; }, "max_write_bytes");
  check_invalid([](cfg_t& c) { c.parser.max_depth = 0; }, "parser.max_depth");
  check_invalid([](cfg_t& c) { c.parser.max_line_length = 8; }, "parser.max_line_length");

  // boundaries that are fine
  cfg_t ok;
  ok.host.clear();
  ok.unix_socket = "/tmp/s";  // no host needed
  ok.port = 0;
  ok.health_check_interval = 0ms;  // health check off: its timeout is not used
  ok.health_check_timeout = 0ms;
  ok.reconnect.multiplier = 1.0;
  ok.reconnect.jitter = 1.0;
  ok.reconnect.max_delay = ok.reconnect.initial_delay;
  CHECK_NOTHROW(ok.validate());
}

TEST_CASE("redacted_url never contains the password") {
  auto cfg = redis::parse_url("redis://alice:hunter2@h:6380/2");
  CHECK(cfg.redacted_url() == "redis://alice:***@h:6380/2");
  cfg = redis::parse_url("rediss://:hunter2@[::1]");
  CHECK(cfg.redacted_url() == "rediss://:***@[::1]:6379");
  cfg = redis::parse_url("unix://u:hunter2@/tmp/r.sock?db=3");
  CHECK(cfg.redacted_url() == "unix://u:***@/tmp/r.sock?db=3");
  cfg = redis::parse_url("redis://user@h");
  CHECK(cfg.redacted_url() == "redis://user@h:6379");
  CHECK(redis::connection_config{}.redacted_url() == "redis://127.0.0.1:6379");
  for (const char* url : {"redis://u:hunter2@h", "redis://:hunter2@h", "rediss://x:hunter2@h:1/9",
                          "unix://:hunter2@/s", "redis://u:hunter2%40hunter2@h"}) {
    INFO(url);
    const auto parsed = redis::parse_url(url);
    CHECK(contains(parsed.password, secret));
    CHECK_FALSE(contains(parsed.redacted_url(), secret));
  }
}

// Regressions: the user info used to be split at the first '?', so a password containing
// '?' was cut apart and its tail echoed by the "unknown option" message.
TEST_CASE("parse_url: a '?' in the password is never echoed") {
  const auto cfg = redis::parse_url("redis://user:12?hunter2=1@localhost?db=3");
  CHECK(cfg.password == "12?hunter2=1");
  CHECK(cfg.host == "localhost");
  CHECK(cfg.database == 3);
  try {
    (void)redis::parse_url("redis://user:12?hunter2=1@localhost?bogus=1");
    FAIL("an unknown option must be refused");
  } catch (const std::invalid_argument& e) {
    CHECK_FALSE(contains(e.what(), "hunter2"));
  }
}

TEST_CASE("parse_url: scheme is case-insensitive and fragments are refused") {
  CHECK(redis::parse_url("REDISS://localhost:6380").tls.enabled);
  parse_error("redis://localhost:6379#frag");
}

// validate() compares with < and >, which NaN passes.
TEST_CASE("connection_config::validate rejects NaN") {
  check_invalid([](redis::connection_config& c) { c.reconnect.multiplier = std::nan(""); },
                "reconnect.multiplier");
  check_invalid([](redis::connection_config& c) { c.reconnect.jitter = std::nan(""); },
                "reconnect.jitter");
}

// resp=N accepts any number and silently treats everything but 3 as RESP2.
TEST_CASE("parse_url: resp other than 2 or 3 is refused") {
  parse_error("redis://h?resp=7");
}

TEST_CASE("connection_config::validate names the invalid sentinel field") {
  const auto sentinels = redis::parse_url("redis+sentinel://s1/mymaster");
  const auto check_invalid = [&](const std::function<void(redis::connection_config&)>& edit,
                                 std::string_view field) {
    check_invalid_from(sentinels, edit, field);
  };
  check_invalid([](auto& c) { c.sentinel.master_name.clear(); }, "sentinel.master_name");
  check_invalid([](auto& c) { c.sentinel.master_name = "a b"; }, "sentinel.master_name");
  check_invalid([](auto& c) { c.sentinel.master_name = "a\nb"; }, "sentinel.master_name");
  check_invalid([](auto& c) { c.sentinel.addresses.push_back({"", 26379}); }, "sentinel.addresses");
  check_invalid([](auto& c) { c.sentinel.addresses.push_back({"h", 0}); }, "sentinel.addresses");
  check_invalid([](auto& c) { c.sentinel.timeout = std::chrono::milliseconds(0); },
                "sentinel.timeout");
  check_invalid([](auto& c) { c.unix_socket = "/tmp/r.sock"; }, "sentinel.addresses");
  check_invalid([](auto& c) { c.cluster.mode = redis::cluster_mode::auto_detect; },
                "sentinel.addresses");
  check_invalid([](auto& c) { c.cluster.seeds.push_back({"h", 7000}); }, "sentinel.addresses");
  check_invalid(
      [](auto& c) {
        c.sentinel.addresses.clear();
        c.sentinel.master_name = "mymaster";
      },
      "sentinel.addresses");
  // Off by default: a plain configuration knows nothing of sentinels.
  redis::connection_config plain;
  CHECK(plain.sentinel.addresses.empty());
  CHECK_NOTHROW(plain.validate());
  CHECK(plain.redacted_url() == "redis://127.0.0.1:6379");
}

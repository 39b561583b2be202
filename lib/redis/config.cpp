#include <streamq/redis/config.hpp>

#include <cctype>
#include <charconv>
#include <stdexcept>
#include <string>

namespace streamq::redis {
namespace {

[[noreturn]] void invalid(std::string_view field, std::string_view why) {
  throw std::invalid_argument("streamq connection_config." + std::string(field) + ": " +
                              std::string(why));
}

[[noreturn]] void bad_url(std::string_view why) {
  throw std::invalid_argument("streamq: malformed Redis URL: " + std::string(why));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) bad_url("truncated percent-escape");
      const int hi = hex_digit(s[i + 1]);
      const int lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) bad_url("invalid percent-escape");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

template <class Int>
Int parse_number(std::string_view s, std::string_view what) {
  Int v{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty())
    bad_url(std::string(what) + " is not a number");
  return v;
}

// The sentinel_* options; false for any other name. Only redis+sentinel URLs take them.
bool apply_sentinel_option(connection_config& cfg, std::string_view name,
                           const std::string& value) {
  if (name.substr(0, 9) != "sentinel_") return false;
  if (cfg.sentinel.addresses.empty()) bad_url("sentinel options need a redis+sentinel:// URL");
  if (name == "sentinel_username")
    cfg.sentinel.username = value;
  else if (name == "sentinel_password")
    cfg.sentinel.password = value;
  else if (name == "sentinel_tls") {
    if (value != "0" && value != "1") bad_url("sentinel_tls must be 0 or 1");
    cfg.sentinel.tls = value == "1";
  } else if (name == "sentinel_timeout_ms")
    cfg.sentinel.timeout = std::chrono::milliseconds(parse_number<long>(value, name));
  else
    bad_url("unknown option '" + std::string(name) + "'");
  return true;
}

void apply_option(connection_config& cfg, std::string_view name, const std::string& value) {
  using std::chrono::milliseconds;
  if (apply_sentinel_option(cfg, name, value)) return;
  if (name == "db")
    cfg.database = parse_number<int>(value, "db");
  else if (name == "client_name")
    cfg.client_name = value;
  else if (name == "connect_timeout_ms")
    cfg.connect_timeout = milliseconds(parse_number<long>(value, name));
  else if (name == "health_check_ms")
    cfg.health_check_interval = milliseconds(parse_number<long>(value, name));
  else if (name == "resp") {
    const int version = parse_number<int>(value, "resp");
    if (version != 2 && version != 3) bad_url("resp must be 2 or 3");
    cfg.resp3 = version == 3;
  } else if (name == "ca")
    cfg.tls.ca_file = value;
  else if (name == "cert")
    cfg.tls.cert_file = value;
  else if (name == "key")
    cfg.tls.key_file = value;
  else if (name == "sni")
    cfg.tls.server_name = value;
  else if (name == "verify")
    cfg.tls.verify_peer = value != "0" && value != "false";
  else if (name == "cluster") {
    if (value == "auto")
      cfg.cluster.mode = cluster_mode::auto_detect;
    else if (value == "on")
      cfg.cluster.mode = cluster_mode::on;
    else if (value == "off")
      cfg.cluster.mode = cluster_mode::off;
    else
      bad_url("cluster must be auto, on or off");
  } else if (name == "cluster_refresh_ms")
    cfg.cluster.refresh_interval = milliseconds(parse_number<long>(value, name));
  else
    bad_url("unknown option '" + std::string(name) + "'");
}

// host[:port] or [IPv6][:port]; the port defaults to `default_port`.
seed_address parse_host_port(std::string_view hostport, std::uint16_t default_port) {
  seed_address out;
  out.port = default_port;
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {  // [IPv6]:port
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) bad_url("unterminated IPv6 address");
    out.host = std::string(hostport.substr(1, close - 1));
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') bad_url("junk after IPv6 address");
      port = hostport.substr(close + 2);
    }
  } else {
    const auto colon = hostport.find(':');
    out.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
  }
  if (out.host.empty()) bad_url("missing host");
  if (!port.empty()) {
    const auto p = parse_number<unsigned>(port, "port");
    if (p == 0 || p > 65535) bad_url("port out of range");
    out.port = static_cast<std::uint16_t>(p);
  }
  return out;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out =
      host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
  return out + ':' + std::to_string(port);
}

// A master name as a URL path segment: unreserved characters as they are, the rest escaped.
std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xF];
    }
  }
  return out;
}

void validate_sentinel(const connection_config& cfg) {
  const sentinel_config& s = cfg.sentinel;
  if (s.addresses.empty()) {
    if (!s.master_name.empty())
      invalid("sentinel.addresses", "empty while sentinel.master_name is set");
    return;
  }
  for (const auto& address : s.addresses) {
    if (address.host.empty()) invalid("sentinel.addresses", "a sentinel has an empty host");
    if (address.port == 0) invalid("sentinel.addresses", "a sentinel's port must be 1..65535");
  }
  if (s.master_name.empty()) invalid("sentinel.master_name", "required with sentinel.addresses");
  // +switch-master messages separate the name from the addresses by spaces.
  for (const char c : s.master_name)
    if (std::isspace(static_cast<unsigned char>(c)) != 0 ||
        std::iscntrl(static_cast<unsigned char>(c)) != 0)
      invalid("sentinel.master_name", "must not contain spaces or control characters");
  if (s.timeout.count() <= 0) invalid("sentinel.timeout", "must be positive");
  if (!cfg.unix_socket.empty())
    invalid("sentinel.addresses", "the sentinels name a TCP address; unix_socket is set");
  if (cfg.cluster.mode != cluster_mode::off || !cfg.cluster.seeds.empty())
    invalid("sentinel.addresses", "sentinel mode and cluster mode exclude each other");
}

}  // namespace

void connection_config::validate() const {
  if (unix_socket.empty() && host.empty()) invalid("host", "empty (and no unix_socket)");
  if (unix_socket.empty() && port == 0) invalid("port", "must be 1..65535");
  if (!unix_socket.empty() && tls.enabled)
    invalid("tls.enabled", "TLS over a Unix socket is not supported");
  if (database < 0) invalid("database", "must be >= 0");
  if (!tls.cert_file.empty() && tls.key_file.empty())
    invalid("tls.key_file", "required with tls.cert_file");
  if (connect_timeout.count() <= 0) invalid("connect_timeout", "must be positive");
  if (health_check_interval.count() < 0) invalid("health_check_interval", "must be >= 0");
  if (health_check_interval.count() > 0 && health_check_timeout.count() <= 0)
    invalid("health_check_timeout", "must be positive");
  if (reconnect.initial_delay.count() <= 0) invalid("reconnect.initial_delay", "must be positive");
  if (reconnect.max_delay < reconnect.initial_delay)
    invalid("reconnect.max_delay", "must be >= initial_delay");
  // written so that NaN fails too
  if (!(reconnect.multiplier >= 1.0)) invalid("reconnect.multiplier", "must be >= 1");
  if (!(reconnect.jitter >= 0.0 && reconnect.jitter <= 1.0))
    invalid("reconnect.jitter", "must be in [0, 1]");
  if (max_pending_requests == 0) invalid("max_pending_requests", "must be positive");
  if (max_write_bytes == 0) invalid("max_write_bytes", "must be positive");
  if (parser.max_depth == 0) invalid("parser.max_depth", "must be positive");
  if (parser.max_line_length < 16) invalid("parser.max_line_length", "must be >= 16");
  for (const auto& seed : cluster.seeds) {
    if (seed.host.empty()) invalid("cluster.seeds", "a seed has an empty host");
    if (seed.port == 0) invalid("cluster.seeds", "a seed's port must be 1..65535");
  }
  if (!cluster.seeds.empty() && !unix_socket.empty())
    invalid("cluster.seeds", "cluster seeds are TCP addresses; unix_socket is set");
  if (cluster.mode != cluster_mode::off && !unix_socket.empty())
    invalid("cluster.mode", "a cluster is reached over TCP; unix_socket is set");
  if (cluster.refresh_interval.count() < 0) invalid("cluster.refresh_interval", "must be >= 0");
  if (cluster.min_refresh_gap.count() < 0) invalid("cluster.min_refresh_gap", "must be >= 0");
  if (cluster.retry_deadline.count() <= 0) invalid("cluster.retry_deadline", "must be positive");
  if (cluster.max_attempts == 0) invalid("cluster.max_attempts", "must be positive");
  if (cluster.initial_backoff.count() <= 0) invalid("cluster.initial_backoff", "must be positive");
  if (cluster.max_backoff < cluster.initial_backoff)
    invalid("cluster.max_backoff", "must be >= initial_backoff");
  validate_sentinel(*this);
}

std::string connection_config::redacted_url() const {
  const bool sentinel_mode = !sentinel.addresses.empty();
  std::string url = unix_socket.empty() ? (tls.enabled ? "rediss://" : "redis://") : "unix://";
  if (sentinel_mode) url = tls.enabled ? "rediss+sentinel://" : "redis+sentinel://";
  if (!username.empty() || !password.empty()) {
    url += username;
    if (!password.empty()) url += ":***";
    url += '@';
  }
  if (sentinel_mode) {
    for (std::size_t i = 0; i < sentinel.addresses.size(); ++i)
      url +=
          (i == 0 ? "" : ",") + host_port(sentinel.addresses[i].host, sentinel.addresses[i].port);
    url += '/' + percent_encode(sentinel.master_name);
    if (database != 0) url += '/' + std::to_string(database);
    std::string query;
    if (!sentinel.username.empty())
      query += "&sentinel_username=" + percent_encode(sentinel.username);
    if (!sentinel.password.empty()) query += "&sentinel_password=***";
    if (sentinel.tls != tls.enabled) query += sentinel.tls ? "&sentinel_tls=1" : "&sentinel_tls=0";
    if (!query.empty()) url += '?' + query.substr(1);
  } else if (unix_socket.empty()) {
    url += host_port(host, port);
    for (const auto& seed : cluster.seeds) url += ',' + host_port(seed.host, seed.port);
    if (database != 0) url += '/' + std::to_string(database);
  } else {
    url += unix_socket;
    if (database != 0) url += "?db=" + std::to_string(database);
  }
  return url;
}

connection_config parse_url(std::string_view url) {
  connection_config cfg;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) bad_url("missing scheme");
  std::string scheme(url.substr(0, scheme_end));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view rest = url.substr(scheme_end + 3);
  const bool sentinel_mode = scheme == "redis+sentinel" || scheme == "rediss+sentinel";
  if (scheme == "rediss" || scheme == "rediss+sentinel")
    cfg.tls.enabled = true;
  else if (scheme != "redis" && scheme != "unix" && !sentinel_mode)
    bad_url("scheme must be redis, rediss, unix, redis+sentinel or rediss+sentinel");
  cfg.sentinel.tls = cfg.tls.enabled;

  // User info ends at the last '@' of the whole URL, before the query is split off, so a
  // password may contain '@', '?', '/' or '#' unescaped and no piece of it is ever taken
  // for an option (and echoed in an error). An '@' in an option value must be escaped.
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    cfg.username = percent_decode(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) cfg.password = percent_decode(userinfo.substr(colon + 1));
  }
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.find('#') != std::string_view::npos) bad_url("fragments are not allowed");

  if (scheme == "unix") {
    if (rest.empty() || rest.front() != '/') bad_url("unix socket path must be absolute");
    cfg.unix_socket = percent_decode(rest);
  } else if (sentinel_mode) {
    // s1[:port],s2[:port]/<master-name>[/db]
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) bad_url("missing /<master-name> after the sentinels");
    std::string_view hostport = rest.substr(0, slash);
    std::string_view path = rest.substr(slash + 1);
    const auto db_slash = path.find('/');
    if (db_slash != std::string_view::npos) {
      const std::string_view db = path.substr(db_slash + 1);
      if (!db.empty()) cfg.database = parse_number<int>(db, "database");
      path = path.substr(0, db_slash);
    }
    cfg.sentinel.master_name = percent_decode(path);
    if (cfg.sentinel.master_name.empty()) bad_url("missing master name");
    while (true) {
      const auto comma = hostport.find(',');
      cfg.sentinel.addresses.push_back(parse_host_port(hostport.substr(0, comma), 26379));
      if (comma == std::string_view::npos) break;
      hostport = hostport.substr(comma + 1);
    }
  } else {
    std::string_view hostport = rest;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      hostport = rest.substr(0, slash);
      const std::string_view db = rest.substr(slash + 1);
      if (!db.empty()) cfg.database = parse_number<int>(db, "database");
    }
    bool first = true;
    while (true) {
      const auto comma = hostport.find(',');
      seed_address address = parse_host_port(hostport.substr(0, comma), 6379);
      if (first) {
        cfg.host = std::move(address.host);
        cfg.port = address.port;
        first = false;
      } else {
        cfg.cluster.seeds.push_back(std::move(address));
      }
      if (comma == std::string_view::npos) break;
      hostport = hostport.substr(comma + 1);
    }
    // Several seeds only make sense for a cluster: find out at connect unless told.
    if (!cfg.cluster.seeds.empty()) cfg.cluster.mode = cluster_mode::auto_detect;
  }

  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) bad_url("option without value");
    apply_option(cfg, pair.substr(0, eq), percent_decode(pair.substr(eq + 1)));
  }
  cfg.validate();
  return cfg;
}

}  // namespace streamq::redis

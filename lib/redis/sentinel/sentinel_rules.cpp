#include "sentinel_rules.hpp"

#include <streamq/resp/error.hpp>

#include <algorithm>
#include <charconv>
#include <utility>

namespace streamq::redis::sentinel {
namespace {

bool is_text(const resp::value& v) noexcept {
  return v.data_type == resp::type::blob_string || v.data_type == resp::type::simple_string ||
         v.data_type == resp::type::verbatim_string;
}

// A whole run of decimal digits naming a port 1..65535.
std::optional<std::uint16_t> parse_port(std::string_view text) noexcept {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v == 0 || v > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// An IP address or host name as sentinels write them: no spaces, brackets or control bytes.
bool plausible_host(std::string_view host) noexcept {
  if (host.empty()) return false;
  return std::none_of(host.begin(), host.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= ' ' || u == 0x7f || c == '[' || c == ']';
  });
}

}  // namespace

std::string to_string(const master_address& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ':' + std::to_string(a.port);
}

void build_get_master_addr(resp::request& req, std::string_view master_name) {
  req.push("SENTINEL", "GET-MASTER-ADDR-BY-NAME", master_name);
}

addr_status decode_master_addr(const resp::value& reply, master_address& out) {
  if (reply.is_null()) return addr_status::unknown_master;
  if (reply.is_error()) return addr_status::error_reply;
  if (reply.data_type != resp::type::array || reply.elements.size() != 2)
    return addr_status::malformed;
  const resp::value& host = reply.elements[0];
  const resp::value& port = reply.elements[1];
  if (!is_text(host) || !plausible_host(host.text)) return addr_status::malformed;
  // Sentinels send the port as a bulk string; accept an integer too.
  if (!is_text(port) && port.data_type != resp::type::integer) return addr_status::malformed;
  const auto p = parse_port(port.text);
  if (!p) return addr_status::malformed;
  out.host = host.text;
  out.port = *p;
  return addr_status::ok;
}

void build_role(resp::request& req) {
  req.push("ROLE");
}

node_role decode_role(const resp::value& reply) noexcept {
  if (reply.data_type != resp::type::array || reply.elements.empty()) return node_role::unknown;
  const resp::value& first = reply.elements.front();
  if (!is_text(first)) return node_role::unknown;
  if (first.text == "master") return node_role::master;
  if (first.text == "slave" || first.text == "replica") return node_role::replica;
  if (first.text == "sentinel") return node_role::sentinel;
  return node_role::unknown;
}

error_code role_verdict(const resp::value& reply) {
  if (reply.is_error()) {
    const resp::server_errc e = resp::classify_server_error(reply.text);
    if (e == resp::server_errc::noperm) return {};
    return std::error_code(e);
  }
  return decode_role(reply) == node_role::master ? error_code{}
                                                 : error_code(client_errc::not_master);
}

void build_subscribe_switch_master(resp::request& req) {
  req.push("SUBSCRIBE", switch_master_channel);
}

std::optional<switch_master> parse_switch_master(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (words.size() <= 5) {
    const auto space = text.find(' ', pos);
    words.push_back(text.substr(pos, space == std::string_view::npos ? space : space - pos));
    if (space == std::string_view::npos) break;
    pos = space + 1;
  }
  if (words.size() != 5) return std::nullopt;
  for (const auto w : words)
    if (w.empty()) return std::nullopt;  // two spaces in a row, or a leading or trailing one
  const auto from_port = parse_port(words[2]);
  const auto to_port = parse_port(words[4]);
  if (!from_port || !to_port || !plausible_host(words[1]) || !plausible_host(words[3]))
    return std::nullopt;
  switch_master s;
  s.master_name = words[0];
  s.from = {std::string(words[1]), *from_port};
  s.to = {std::string(words[3]), *to_port};
  return s;
}

std::optional<switch_master> switch_master_of(const resp::value& push) {
  if (push.data_type != resp::type::push || push.elements.size() != 3) return std::nullopt;
  const auto& kind = push.elements[0];
  const auto& channel = push.elements[1];
  const auto& text = push.elements[2];
  if (!is_text(kind) || kind.text != "message") return std::nullopt;
  if (!is_text(channel) || channel.text != switch_master_channel) return std::nullopt;
  if (!is_text(text)) return std::nullopt;
  return parse_switch_master(text.text);
}

bool must_move(const std::optional<master_address>& current, const master_address& named) noexcept {
  return current.has_value() && *current != named;
}

bool is_demotion(const resp::node& n) noexcept {
  return n.depth == 0 && resp::is_error(n.data_type) &&
         resp::classify_server_error(n.value) == resp::server_errc::readonly;
}

void prefer(std::vector<seed_address>& order, std::size_t answered) {
  if (answered == 0 || answered >= order.size()) return;
  std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(answered),
              order.begin() + static_cast<std::ptrdiff_t>(answered) + 1);
}

connection_config link_config(const connection_config& data, const seed_address& sentinel,
                              bool subscriber) {
  connection_config c;
  c.host = sentinel.host;
  c.port = sentinel.port;
  c.tls = data.tls;
  c.tls.enabled = data.sentinel.tls;
  c.tls.server_name.clear();  // the data nodes' name: each sentinel is verified as its host
  c.username = data.sentinel.username;
  c.password = data.sentinel.password;
  c.database = 0;
  c.client_name = data.client_name.empty() ? std::string() : data.client_name + "-sentinel";
  c.resp3 = true;
  c.connect_timeout = data.sentinel.timeout;
  if (subscriber) {
    c.health_check_interval = data.health_check_interval.count() > 0
                                  ? data.health_check_interval
                                  : std::chrono::milliseconds(2000);
    c.health_check_timeout = data.health_check_timeout.count() > 0
                                 ? data.health_check_timeout
                                 : std::chrono::milliseconds(5000);
  } else {
    c.health_check_interval = std::chrono::milliseconds(0);
  }
  c.reconnect.enabled = false;
  c.keep_unwritten_on_disconnect = true;  // requests made before the link is up wait for it
  c.allow_blocking_commands = false;
  c.parser = data.parser;
  // cluster and sentinel stay off (defaults): a link never recurses into sentinel mode.
  return c;
}

}  // namespace streamq::redis::sentinel

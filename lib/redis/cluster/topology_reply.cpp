#include "topology_reply.hpp"

#include <streamq/resp/error.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace streamq::redis::cluster {
namespace {

using resp::type;

bool is_text(const resp::value& v) noexcept {
  return v.data_type == type::blob_string || v.data_type == type::simple_string ||
         v.data_type == type::verbatim_string;
}

// A map (RESP3) or an array of key/value pairs (RESP2): what value::find() searches.
bool is_pairs(const resp::value& v) noexcept {
  return (v.data_type == type::map || v.data_type == type::array) && v.elements.size() % 2 == 0;
}

// An integer reply, or text that is one whole decimal number, within [min, max].
std::optional<std::int64_t> to_integer(const resp::value& v, std::int64_t min, std::int64_t max) {
  if (v.data_type != type::integer && !is_text(v)) return std::nullopt;
  std::int64_t out = 0;
  const char* first = v.text.data();
  const char* last = first + v.text.size();
  const auto [end, ec] = std::from_chars(first, last, out);
  if (ec != std::errc() || end != last || first == last || out < min || out > max)
    return std::nullopt;
  return out;
}

std::optional<std::uint16_t> to_port(const resp::value& v) {
  const auto p = to_integer(v, 1, 65535);
  if (!p) return std::nullopt;
  return static_cast<std::uint16_t>(*p);
}

std::optional<std::uint16_t> to_slot(const resp::value& v) {
  const auto s = to_integer(v, 0, static_cast<std::int64_t>(slot_count) - 1);
  if (!s) return std::nullopt;
  return static_cast<std::uint16_t>(*s);
}

// The text of an optional text field; empty when absent or of another type.
std::string_view text_of(const resp::value* v) noexcept {
  return (v != nullptr && is_text(*v)) ? std::string_view(v->text) : std::string_view();
}

// Resolves a node's preferred endpoint (see the header). `endpoint` null: absent or NULL.
void resolve_host(const resp::value* endpoint, std::string_view hostname, std::string_view ip,
                  std::string_view origin_host, node& n) {
  const std::string_view announced = text_of(endpoint);
  if (announced.empty()) {
    n.address.host = origin_host;
  } else if (announced != "?") {
    n.address.host = announced;
  } else if (!hostname.empty() && hostname != "?") {
    n.address.host = hostname;
  } else if (!ip.empty()) {
    n.address.host = ip;
  } else {
    n.known = false;
  }
}

class decoder {
 public:
  decoder(const char* command, std::vector<shard>& out) : command_(command), out_(out) {}

  decode_result refused(const resp::value& reply) {
    out_.clear();
    return {resp::classify_server_error(reply.text), reply.text};
  }
  decode_result malformed(const std::string& where, const char* what) {
    out_.clear();
    std::string text = command_;
    text += ": ";
    if (!where.empty()) (text += where) += ": ";
    text += what;
    return {cluster_errc::malformed_topology, std::move(text)};
  }

 private:
  const char* command_;
  std::vector<shard>& out_;
};

std::string shard_at(std::size_t i) {
  return "shard " + std::to_string(i);
}
std::string node_at(std::size_t shard, std::size_t n) {
  return shard_at(shard) + " node " + std::to_string(n);
}

// One node map of CLUSTER SHARDS; nullptr on success, else what was wrong.
const char* decode_shard_node(const resp::value& v, const reply_origin& origin, node& n) {
  if (!is_pairs(v)) return "node is not a map";
  const resp::value* id = v.find("id");
  if (id == nullptr || !is_text(*id) || id->text.empty()) return "node without id";
  n.id = id->text;

  const std::string_view role = text_of(v.find("role"));
  if (role == "master" || role == "primary")
    n.role = node_role::master;
  else if (role == "replica" || role == "slave")
    n.role = node_role::replica;
  else
    return "node without a known role";

  const resp::value* plain = v.find("port");
  const resp::value* tls = v.find("tls-port");
  const resp::value* port =
      origin.tls ? (tls != nullptr ? tls : plain) : (plain != nullptr ? plain : tls);
  if (port == nullptr) return "node without port or tls-port";
  const auto p = to_port(*port);
  if (!p) return "port is not a number in 1..65535";
  n.address.port = *p;

  const resp::value* endpoint = v.find("endpoint");
  if (endpoint != nullptr && !endpoint->is_null() && !is_text(*endpoint))
    return "endpoint is not text";
  resolve_host(endpoint, text_of(v.find("hostname")), text_of(v.find("ip")), origin.host, n);

  const std::string_view health = text_of(v.find("health"));
  if (health == "online")
    n.health = node_health::online;
  else if (health == "loading")
    n.health = node_health::loading;
  else if (health == "fail" || health == "failed")  // Redis sends "fail"; its docs say "failed"
    n.health = node_health::failed;
  else
    n.health = node_health::unknown;

  if (const resp::value* offset = v.find("replication-offset")) {
    const auto o = to_integer(*offset, 0, std::numeric_limits<std::int64_t>::max());
    if (!o) return "replication-offset is not a number";
    n.replication_offset = *o;
  }
  return nullptr;
}

// A flat list of inclusive start/end pairs (CLUSTER SHARDS' "slots").
const char* decode_ranges(const resp::value& v, std::vector<slot_range>& ranges) {
  if (v.data_type != type::array || v.elements.size() % 2 != 0)
    return "slots is not a list of start/end pairs";
  for (std::size_t i = 0; i < v.elements.size(); i += 2) {
    const auto first = to_slot(v.elements[i]);
    const auto last = to_slot(v.elements[i + 1]);
    if (!first || !last) return "slot is not a number in 0..16383";
    if (*first > *last) return "slot range ends before it starts";
    ranges.push_back({*first, *last});
  }
  return nullptr;
}

// One node of CLUSTER SLOTS: [endpoint, port, id?, metadata?, ...].
const char* decode_slots_node(const resp::value& v, const reply_origin& origin, node_role role,
                              node& n) {
  if (v.data_type != type::array || v.elements.size() < 2) return "node is not [endpoint, port]";
  const resp::value& endpoint = v.elements[0];
  if (!endpoint.is_null() && !is_text(endpoint)) return "endpoint is not text";
  const auto p = to_port(v.elements[1]);
  if (!p) return "port is not a number in 1..65535";
  n.address.port = *p;
  n.role = role;
  n.health = node_health::unknown;
  if (v.elements.size() > 2) {
    if (!is_text(v.elements[2])) return "node id is not text";
    n.id = v.elements[2].text;
  }
  std::string_view hostname, ip;
  if (v.elements.size() > 3) {
    const resp::value& meta = v.elements[3];
    if (!is_pairs(meta)) return "networking metadata is not a map";
    hostname = text_of(meta.find("hostname"));
    ip = text_of(meta.find("ip"));
  }
  resolve_host(&endpoint, hostname, ip, origin.host, n);
  return nullptr;
}

// Whether two nodes of CLUSTER SLOTS are the same master (by id; by address without ids).
bool same_master(const node& a, const node& b) {
  if (!a.id.empty() || !b.id.empty()) return a.id == b.id;
  return a.known && b.known && a.address == b.address;
}

}  // namespace

void build_cluster_shards(resp::request& req) {
  req.push("CLUSTER", "SHARDS");
}

void build_cluster_slots(resp::request& req) {
  req.push("CLUSTER", "SLOTS");
}

decode_result decode_cluster_shards(const resp::value& reply, const reply_origin& origin,
                                    std::vector<shard>& out) {
  out.clear();
  decoder d("CLUSTER SHARDS", out);
  if (reply.is_error()) return d.refused(reply);
  if (reply.data_type != type::array) return d.malformed({}, "reply is not an array");
  std::vector<node> nodes;
  for (std::size_t i = 0; i < reply.elements.size(); ++i) {
    const resp::value& entry = reply.elements[i];
    if (!is_pairs(entry)) return d.malformed(shard_at(i), "shard is not a map");
    const resp::value* slots = entry.find("slots");
    const resp::value* node_list = entry.find("nodes");
    if (slots == nullptr || node_list == nullptr)
      return d.malformed(shard_at(i), "shard without slots or nodes");
    shard s;
    if (const char* what = decode_ranges(*slots, s.slots)) return d.malformed(shard_at(i), what);
    if (node_list->data_type != type::array)
      return d.malformed(shard_at(i), "nodes is not an array");
    nodes.clear();
    for (std::size_t j = 0; j < node_list->elements.size(); ++j) {
      node& n = nodes.emplace_back();
      if (const char* what = decode_shard_node(node_list->elements[j], origin, n))
        return d.malformed(node_at(i, j), what);
    }
    const node* master = nullptr;
    for (const node& n : nodes) {
      if (n.role != node_role::master) continue;
      const bool better = n.health == node_health::online && master != nullptr &&
                          master->health != node_health::online;
      if (master == nullptr || better) master = &n;
    }
    if (master == nullptr) continue;
    s.master = *master;
    for (node& n : nodes)
      if (n.role == node_role::replica) s.replicas.push_back(std::move(n));
    out.push_back(std::move(s));
  }
  return {};
}

decode_result decode_cluster_slots(const resp::value& reply, const reply_origin& origin,
                                   std::vector<shard>& out) {
  out.clear();
  decoder d("CLUSTER SLOTS", out);
  if (reply.is_error()) return d.refused(reply);
  if (reply.data_type != type::array) return d.malformed({}, "reply is not an array");
  for (std::size_t i = 0; i < reply.elements.size(); ++i) {
    const resp::value& row = reply.elements[i];
    const std::string where = "range " + std::to_string(i);
    if (row.data_type != type::array || row.elements.size() < 3)
      return d.malformed(where, "range is not [start, end, master, replica...]");
    const auto first = to_slot(row.elements[0]);
    const auto last = to_slot(row.elements[1]);
    if (!first || !last) return d.malformed(where, "slot is not a number in 0..16383");
    if (*first > *last) return d.malformed(where, "slot range ends before it starts");

    shard row_shard;
    if (const char* what =
            decode_slots_node(row.elements[2], origin, node_role::master, row_shard.master))
      return d.malformed(where + " master", what);
    for (std::size_t j = 3; j < row.elements.size(); ++j) {
      node& replica = row_shard.replicas.emplace_back();
      if (const char* what =
              decode_slots_node(row.elements[j], origin, node_role::replica, replica))
        return d.malformed(where + " replica " + std::to_string(j - 3), what);
    }
    shard* s = nullptr;
    for (shard& known : out)
      if (same_master(known.master, row_shard.master)) s = &known;
    // Every range of a master repeats its replicas: the first range's list is kept.
    if (s == nullptr) s = &out.emplace_back(std::move(row_shard));
    s->slots.push_back({*first, *last});
  }
  return {};
}

}  // namespace streamq::redis::cluster

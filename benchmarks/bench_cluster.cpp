#include "bench_cluster.hpp"

#include <streamq/resp/request.hpp>

#include <algorithm>
#include <map>

namespace streamq::bench {

bool is_sentinel_url(std::string_view url) noexcept {
  const auto scheme_end = url.find("://");
  return scheme_end != std::string_view::npos && url.substr(0, scheme_end).ends_with("+sentinel");
}

redis::connection_config client_config(const std::string& url) {
  redis::connection_config config = redis::parse_url(url);
  // A cluster is reached over TCP only, and not through sentinels (validate() refuses a
  // cluster mode with either).
  if (!url_sets_cluster_mode(url) && !is_sentinel_url(url) && config.unix_socket.empty() &&
      config.cluster.mode == redis::cluster_mode::off) {
    config.cluster.mode = redis::cluster_mode::auto_detect;
    config.validate();
  }
  return config;
}

std::vector<std::string> topic_names(std::string_view base, std::size_t topics) {
  if (topics <= 1) return {std::string(base)};
  std::vector<std::string> names;
  names.reserve(topics);
  for (std::size_t i = 0; i < topics; ++i)
    names.push_back(std::string(base) + "-" + std::to_string(i));
  return names;
}

std::vector<std::string> masters_of(const streamq::client& client,
                                    std::span<const std::string> keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(client.node_for_slot(resp::hash_slot(k)));
  return out;
}

void add_topic_fields(json_line& out, std::span<const std::string> masters,
                      std::span<const std::uint64_t> messages, double elapsed_s) {
  add_topic_fields(out, masters.size(), masters, messages, elapsed_s);
}

void add_topic_fields(json_line& out, std::size_t topics, std::span<const std::string> masters,
                      std::span<const std::uint64_t> messages, double elapsed_s) {
  const bool cluster =
      std::any_of(masters.begin(), masters.end(), [](const std::string& m) { return !m.empty(); });
  out.integer("topics", static_cast<std::int64_t>(topics)).boolean("cluster", cluster);
  if (!cluster) return;
  struct share {
    std::int64_t topics = 0;
    std::uint64_t messages = 0;
  };
  std::map<std::string, share> by_node;  // ordered: the same node order on every run
  for (std::size_t i = 0; i < masters.size(); ++i) {
    auto& s = by_node[masters[i].empty() ? std::string("unknown") : masters[i]];
    ++s.topics;
    s.messages += i < messages.size() ? messages[i] : 0;
  }
  std::string nodes = "[";
  for (const auto& [node, s] : by_node) {
    if (nodes.size() > 1) nodes += ',';
    const double m = static_cast<double>(s.messages);
    nodes += json_line()
                 .text("node", node)
                 .integer("topics", s.topics)
                 .integer("messages", static_cast<std::int64_t>(s.messages))
                 .number("msgs_per_sec", elapsed_s > 0 ? m / elapsed_s : 0.0, 0)
                 .str();
  }
  nodes += ']';
  out.raw("nodes", nodes);
}

}  // namespace streamq::bench

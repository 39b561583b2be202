#include "commands/discovery_requests.hpp"

#include "commands/partition_requests.hpp"
#include "commands/reply_checks.hpp"
#include "commands/schedule_requests.hpp"

#include <utility>

namespace streamq::streams::detail {

namespace {
constexpr std::string_view stream_suffix = "}:stream";
}  // namespace

std::string topic_stream_pattern(std::string_view key_prefix) {
  std::string pattern(key_prefix);
  pattern += ":{*";
  pattern += stream_suffix;
  return pattern;
}

std::optional<std::string> topic_of_stream_key(std::string_view key, std::string_view key_prefix) {
  // "<prefix>:{" T "}:stream", T without braces (no valid name has one).
  if (key.size() <= key_prefix.size() + 2 + stream_suffix.size() ||
      key.substr(0, key_prefix.size()) != key_prefix ||
      key.substr(key_prefix.size(), 2) != ":{" || !key.ends_with(stream_suffix))
    return std::nullopt;
  const auto topic = key.substr(key_prefix.size() + 2,
                                key.size() - key_prefix.size() - 2 - stream_suffix.size());
  if (!is_valid_topic_name(topic) || !is_valid_key_prefix(key_prefix)) return std::nullopt;
  // names.hpp spells the keys: a key it would not give for this topic is not the topic's.
  if (topic_keys(topic, key_prefix).stream() != key) return std::nullopt;
  return std::string(topic);
}

void build_scan_streams(resp::request& req, const std::string& cursor, const std::string& pattern,
                        std::uint64_t count) {
  req.push("SCAN", cursor, "MATCH", pattern, "COUNT", count, "TYPE", "stream");
}

void build_routing_probe(resp::request& req) { req.push("PING"); }

command_result decode_scan_streams(const resp::value& reply, scan_page& out) {
  out = scan_page{};
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_array(reply) || reply.elements.size() != 2 ||
      !reply::is_text(reply.elements[0]) || reply.elements[0].text.empty() ||
      !reply::to_strings(reply.elements[1], out.keys)) {
    out = scan_page{};
    return reply::malformed("SCAN reply");
  }
  out.cursor = reply.elements[0].text;
  return {};
}

void build_stream_overview(resp::request& req, const topic_keys& keys) {
  build_stream_length(req, keys.stream());
  build_stream_summary(req, keys.stream());
  build_group_info(req, keys.stream());
  build_scheduled_count(req, keys);
  build_partition_count(req, keys);
}

command_result decode_stream_overview(std::span<const resp::value> replies,
                                      stream_overview& out) {
  out = stream_overview{};
  if (replies.size() != stream_overview_commands) return reply::malformed("stream overview replies");
  auto fail = [&out](command_result r) {
    out = stream_overview{};
    return r;
  };
  if (auto r = decode_stream_length(replies[0], out.length); !r) return fail(r);
  // XINFO refuses a key that does not exist; an existing stream emptied by trimming answers.
  out.exists = out.length > 0 || !replies[1].is_error();
  if (out.exists) {
    if (auto r = decode_stream_summary(replies[1], out.summary); !r) return fail(r);
    if (auto r = decode_group_info(replies[2], out.groups); !r) return fail(r);
  }
  if (auto r = decode_scheduled_count(replies[3], out.delayed); !r) return fail(r);
  if (auto r = decode_partition_count(replies[4], out.partitions); !r) return fail(r);
  return {};
}

}  // namespace streamq::streams::detail

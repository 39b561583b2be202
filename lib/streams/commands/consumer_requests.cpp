#include "commands/consumer_requests.hpp"

#include "commands/reply_checks.hpp"

#include "commands/script.hpp"

#include <streamq/resp/error.hpp>

#include <streamq_lua_scripts.hpp>

#include <charconv>
#include <cmath>
#include <vector>
#include <utility>

namespace streamq::streams::detail {

namespace {

// The shape checks every decoder shares (reply_checks.hpp).
using reply::is_text;
using reply::malformed;
using reply::refused;
using reply::to_integer;

bool to_unsigned(const resp::value& v, std::uint64_t& out) {
  return reply::to_integer(v, out);
}

// One group of XINFO GROUPS: a map, or RESP2's flat [field, value, ...] array.
bool decode_group(const resp::value& group, group_info& out) {
  if ((group.data_type != resp::type::map && group.data_type != resp::type::array) ||
      group.elements.size() % 2 != 0)
    return false;
  bool name = false, consumers = false, pending = false, last = false;
  for (std::size_t i = 0; i < group.elements.size(); i += 2) {
    const auto& field = group.elements[i];
    const auto& value = group.elements[i + 1];
    if (!is_text(field)) return false;
    if (field.text == "name") {
      if (!is_text(value)) return false;
      out.name = value.text;
      name = true;
    } else if (field.text == "consumers") {
      if (!to_unsigned(value, out.consumers)) return false;
      consumers = true;
    } else if (field.text == "pending") {
      if (!to_unsigned(value, out.pending)) return false;
      pending = true;
    } else if (field.text == "last-delivered-id") {
      if (!is_text(value)) return false;
      out.last_delivered_id = value.text;
      last = true;
    } else if (field.text == "lag") {
      if (value.is_null()) {
        out.lag.reset();
      } else {
        std::uint64_t lag = 0;
        if (!to_unsigned(value, lag)) return false;
        out.lag = lag;
      }
    }
  }
  return name && consumers && pending && last;
}

const lua_script& ack_processed_script() {
  static const lua_script script{lua::ack_processed};
  return script;
}

}  // namespace

void build_create_group(resp::request& req, const std::string& stream, const std::string& group,
                        bool from_beginning) {
  req.push("XGROUP", "CREATE", resp::key{stream}, group, from_beginning ? "0" : "$", "MKSTREAM");
}

command_result decode_create_group(const resp::value& reply, group_status& status) {
  status = group_status::refused;
  if (reply.is_error()) {
    auto result = refused(reply);
    if (result.ec == resp::server_errc::busygroup) {
      status = group_status::exists;
      return {};
    }
    return result;
  }
  if (reply.data_type != resp::type::simple_string || reply.text != "OK")
    return malformed("XGROUP CREATE");
  status = group_status::created;
  return {};
}

command_result decode_create_groups(std::span<const resp::value> replies, std::size_t commands,
                                    std::vector<command_result>& results,
                                    std::vector<group_status>& status) {
  results.assign(commands, command_result{});
  status.assign(commands, group_status::refused);
  if (replies.size() != commands) return malformed("XGROUP CREATE replies");
  for (std::size_t i = 0; i < commands; ++i)
    results[i] = decode_create_group(replies[i], status[i]);
  return {};
}

void build_group_info(resp::request& req, const std::string& stream) {
  req.push("XINFO", "GROUPS", resp::key{stream});
}

command_result decode_group_info(const resp::value& reply, std::vector<group_info>& groups) {
  groups.clear();
  if (reply.is_error()) return refused(reply);
  if (reply.data_type != resp::type::array) return malformed("XINFO GROUPS reply");
  for (const auto& group : reply.elements) {
    group_info info;
    if (!decode_group(group, info)) {
      groups.clear();
      return malformed("XINFO GROUPS group");
    }
    groups.push_back(std::move(info));
  }
  return {};
}

const group_info* find_group(std::span<const group_info> groups, std::string_view name) noexcept {
  for (const auto& g : groups)
    if (g.name == name) return &g;
  return nullptr;
}

void build_stream_length(resp::request& req, const std::string& stream) {
  req.push("XLEN", resp::key{stream});
}

command_result decode_stream_length(const resp::value& reply, std::uint64_t& length) {
  length = 0;
  if (reply.is_error()) return refused(reply);
  if (reply.data_type != resp::type::integer || !to_unsigned(reply, length)) {
    length = 0;
    return malformed("XLEN");
  }
  return {};
}

void build_stream_states(resp::request& req, std::span<const std::string> streams) {
  for (const auto& stream : streams) {
    build_stream_length(req, stream);
    build_group_info(req, stream);
  }
}

command_result decode_stream_states(std::span<const resp::value> replies, std::size_t streams,
                                    std::vector<stream_state>& out) {
  out.clear();
  out.resize(streams);
  if (replies.size() != 2 * streams) return malformed("XLEN and XINFO GROUPS replies");
  for (std::size_t i = 0; i < streams; ++i) {
    out[i].length_result = decode_stream_length(replies[2 * i], out[i].length);
    out[i].groups_result = decode_group_info(replies[2 * i + 1], out[i].groups);
  }
  return {};
}

void build_read_new(resp::request& req, const std::string& group, const std::string& consumer,
                    std::size_t count, std::chrono::milliseconds block,
                    std::span<const std::string_view> streams) {
  // Plain vectors, not std::views::transform: clang 14 (the fuzz build) cannot instantiate
  // libstdc++ 12's range adaptors. One read per block period, so the two allocations are noise.
  std::vector<resp::key> keys;
  keys.reserve(streams.size());
  for (std::string_view s : streams) keys.push_back(resp::key{s});
  const std::vector<std::string_view> new_entries(streams.size(), std::string_view(">"));
  req.push("XREADGROUP", "GROUP", group, consumer, "COUNT", count, "BLOCK", block.count(),
           "STREAMS", keys, new_entries);
}

void build_processed_at(resp::request& req, const std::string& processed_key,
                        const std::string& message_key) {
  req.push("ZSCORE", resp::key{processed_key}, message_key);
}

command_result decode_processed_at(const resp::value& reply, std::optional<double>& handled_at_ms) {
  handled_at_ms.reset();
  if (reply.is_error()) return refused(reply);
  if (reply.is_null()) return {};
  if (reply.data_type != resp::type::double_type && !is_text(reply)) return malformed("ZSCORE");
  double score = 0;
  const auto* first = reply.text.data();
  const auto* last = first + reply.text.size();
  auto [end, ec] = std::from_chars(first, last, score);
  if (ec != std::errc() || end != last || first == last || std::isnan(score))
    return malformed("ZSCORE score");
  handled_at_ms = score;
  return {};
}

void build_ack_processed(resp::request& req, bool by_source, const std::string& processed_key,
                         const std::string& stream, const std::string& group, const std::string& id,
                         const std::string& message_key, std::chrono::milliseconds remember_for,
                         const ack_fence* fence) {
  if (fence == nullptr) {
    ack_processed_script().push(req, by_source, lua::ack_processed.keys, resp::key{processed_key},
                                resp::key{stream}, group, id, message_key, remember_for.count());
    return;
  }
  ack_processed_script().push(req, by_source, lua::ack_processed.keys + 1,
                              resp::key{processed_key}, resp::key{stream},
                              resp::key{fence->lease_key}, group, id, message_key,
                              remember_for.count(), fence->owner, fence->epoch);
}

command_result decode_ack_processed(const resp::value& reply, std::uint64_t& acked) {
  acked = 0;
  if (reply.is_error()) return refused(reply);
  if (std::int64_t flag = 0;
      reply.data_type == resp::type::integer && to_integer(reply, flag) && flag == -1)
    return {errc::ownership_lost, {}};
  if (reply.data_type != resp::type::integer || !to_unsigned(reply, acked)) {
    acked = 0;
    return malformed("ack_processed");
  }
  return {};
}

}  // namespace streamq::streams::detail

#include "growth_requests.hpp"

#include "consumer_requests.hpp"  // decode_group_info, find_group
#include "reply_checks.hpp"
#include "script.hpp"

#include <streamq_lua_scripts.hpp>

#include <string>
#include <vector>

namespace streamq::streams::detail {

namespace {

const lua_script& cut_partition_script() {
  static const lua_script script(lua::cut_partition);
  return script;
}

const lua_script& finish_growth_script() {
  static const lua_script script(lua::finish_growth);
  return script;
}

bool to_count(const resp::value& v, std::uint32_t& out) {
  std::uint32_t n = 0;
  if (v.data_type != resp::type::integer || !reply::to_integer(v, n) || n == 0 ||
      n > max_partitions)
    return false;
  out = n;
  return true;
}

// "<ms>-<seq>", both decimal: what a cut is stored as (docs/wire-format.md, section 12).
bool is_entry_id(std::string_view id) {
  const auto dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size()) return false;
  for (std::size_t i = 0; i < id.size(); ++i)
    if (i != dash && (id[i] < '0' || id[i] > '9')) return false;
  return true;
}

}  // namespace

void build_cut_partition(resp::request& req, bool by_source, const topic_keys& partition,
                         std::uint32_t from, std::uint32_t to) {
  cut_partition_script().push(req, by_source, 2, resp::key{partition.meta()},
                              resp::key{partition.stream()}, from, to);
}

command_result decode_cut_partition(const resp::value& reply, std::string& cut) {
  cut.clear();
  if (reply.is_error()) return reply::refused(reply);
  std::int64_t done = -1;
  if (!reply::is_array(reply) || reply.elements.size() != 2 ||
      reply.elements[0].data_type != resp::type::integer ||
      !reply::to_integer(reply.elements[0], done) || (done != 0 && done != 1))
    return reply::malformed("cut_partition {done, cut or count}");
  if (done == 0) {
    std::uint32_t count = 0;
    if (!to_count(reply.elements[1], count)) return reply::malformed("cut_partition count");
    return {errc::partitions_changed,
            "the partition is at " + std::to_string(count) + " partitions (another growth)"};
  }
  if (!reply::is_text(reply.elements[1]) || !is_entry_id(reply.elements[1].text))
    return reply::malformed("cut_partition cut");
  cut = reply.elements[1].text;
  return {};
}

void build_finish_growth(resp::request& req, bool by_source, const topic_keys& topic,
                         std::uint32_t from, std::uint32_t to, std::span<const std::string> cuts) {
  finish_growth_script().push(req, by_source, 1, resp::key{topic.partitions()}, from, to, cuts);
}

command_result decode_finish_growth(const resp::value& reply, std::uint32_t& count) {
  count = 0;
  if (reply.is_error()) return reply::refused(reply);
  std::int64_t outcome = -2;
  std::uint32_t now = 0;
  if (!reply::is_array(reply) || reply.elements.size() != 2 || !to_count(reply.elements[0], now) ||
      reply.elements[1].data_type != resp::type::integer ||
      !reply::to_integer(reply.elements[1], outcome) || outcome < -1 || outcome > 1)
    return reply::malformed("finish_growth {count, outcome}");
  count = now;
  if (outcome == -1)
    return {errc::partitions_changed, "the topic is not growing to that count: it has " +
                                          std::to_string(now) + " partitions"};
  return {};
}

void build_partition_state(resp::request& req, const topic_keys& topic) {
  req.push("HMGET", resp::key{topic.partitions()}, "count", "growing");
}

command_result decode_partition_state(const resp::value& reply, partition_state& out) {
  out = {};
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_array(reply) || reply.elements.size() != 2)
    return reply::malformed("HMGET count, growing");
  partition_state read;
  // A field as stored: absent, or a count of 1 to max_partitions.
  auto field = [](const resp::value& v, std::uint32_t& n) {
    if (v.data_type == resp::type::null) return true;
    return reply::is_text(v) && reply::to_integer(v, n) && n > 0 && n <= max_partitions;
  };
  if (!field(reply.elements[0], read.count) || !field(reply.elements[1], read.growing) ||
      (read.growing != 0 && read.growing <= read.count))
    return reply::malformed("partition count, growing");
  out = read;
  return {};
}

void build_growth_origin(resp::request& req, const topic_keys& topic, std::uint32_t q) {
  const std::string n = std::to_string(q);
  req.push("HMGET", resp::key{topic.partitions()}, "after:" + n, "cut:" + n);
}

command_result decode_growth_origin(const resp::value& reply,
                                    std::optional<growth_origin>& origin) {
  origin.reset();
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_array(reply) || reply.elements.size() != 2)
    return reply::malformed("HMGET after, cut");
  const auto& partition = reply.elements[0];
  const auto& cut = reply.elements[1];
  const bool none = partition.data_type == resp::type::null && cut.data_type == resp::type::null;
  if (none) return {};
  growth_origin read;
  if (!reply::is_text(partition) || !reply::to_integer(partition, read.partition) ||
      read.partition >= max_partitions || !reply::is_text(cut) || !is_entry_id(cut.text))
    return reply::malformed("growth origin (after, cut)");
  read.cut = cut.text;
  origin = std::move(read);
  return {};
}

void build_drain_check(resp::request& req, const std::string& stream, const std::string& group,
                       const std::string& cut) {
  build_group_info(req, stream);
  req.push("XPENDING", resp::key{stream}, group, "-", cut, 1);
}

command_result decode_drain_check(std::span<const resp::value> replies, std::string_view group,
                                  drain_observation& out) {
  out = {};
  if (replies.size() != 2) return reply::malformed("drain check replies");
  std::vector<group_info> groups;
  if (auto r = decode_group_info(replies[0], groups); !r) return r;
  const group_info* found = find_group(groups, group);
  if (found == nullptr) return {};  // XPENDING then answered NOGROUP: nothing to read
  std::vector<pending_row> rows;
  if (auto r = decode_pending_entries(replies[1], rows); !r) return r;
  if (rows.size() > 1) return reply::malformed("XPENDING COUNT 1 rows");
  out.group_exists = true;
  out.last_delivered_id = found->last_delivered_id;
  if (!rows.empty()) out.first_pending = std::move(rows.front().id);
  return {};
}

}  // namespace streamq::streams::detail

#include "commands/sampling_requests.hpp"

#include "commands/reply_checks.hpp"

#include <streamq/resp/error.hpp>

#include <charconv>
#include <utility>

namespace streamq::streams::detail {

namespace {

using reply::is_array;
using reply::is_text;
using reply::malformed;
using reply::refused;
using reply::to_integer;

// A field of a map (or RESP2 flat array) that must be text.
bool text_field(const resp::value& map, std::string_view name, std::string& out) {
  const auto* v = map.find(name);
  if (v == nullptr || !is_text(*v)) return false;
  out = v->text;
  return true;
}

// A field that may be absent (older servers) or null (unknown): false only for another shape.
bool optional_count(const resp::value& map, std::string_view name,
                    std::optional<std::uint64_t>& out) {
  out.reset();
  const auto* v = map.find(name);
  if (v == nullptr || v->is_null()) return true;
  std::uint64_t n = 0;
  if (!to_integer(*v, n)) return false;
  out = n;
  return true;
}

bool is_map(const resp::value& v) {
  return (v.data_type == resp::type::map || is_array(v)) && v.elements.size() % 2 == 0;
}

bool decode_stream(const resp::value& v, stream_summary& out) {
  if (!is_map(v)) return false;
  const auto* length = v.find("length");
  if (length == nullptr || !to_integer(*length, out.length)) return false;
  if (!text_field(v, "last-generated-id", out.last_generated_id)) return false;
  if (v.find("max-deleted-entry-id") == nullptr)
    out.max_deleted_entry_id = "0-0";
  else if (!text_field(v, "max-deleted-entry-id", out.max_deleted_entry_id))
    return false;
  if (!optional_count(v, "entries-added", out.entries_added)) return false;
  if (out.length == 0) return true;
  if (v.find("recorded-first-entry-id") != nullptr)
    return text_field(v, "recorded-first-entry-id", out.first_entry_id);
  const auto* first = v.find("first-entry");
  if (first == nullptr || !is_array(*first) || first->elements.empty() ||
      !is_text(first->elements[0]))
    return false;
  out.first_entry_id = first->elements[0].text;
  return true;
}

// `group`'s entry in XINFO GROUPS: true with `out` set, true with `out` empty when absent.
bool decode_groups(const resp::value& v, const std::string& group,
                   std::optional<group_position>& out) {
  out.reset();
  if (!is_array(v)) return false;
  for (const auto& g : v.elements) {
    std::string name;
    if (!is_map(g) || !text_field(g, "name", name)) return false;
    if (name != group) continue;
    group_position p;
    const auto* pending = g.find("pending");
    if (pending == nullptr || !to_integer(*pending, p.pending)) return false;
    if (!text_field(g, "last-delivered-id", p.last_delivered_id)) return false;
    if (!optional_count(g, "entries-read", p.entries_read) || !optional_count(g, "lag", p.lag))
      return false;
    out = std::move(p);
  }
  return true;
}

// XPENDING's summary: [count, smallest ID | null, greatest ID | null, consumers | null].
bool decode_pending(const resp::value& v, std::optional<std::string>& oldest) {
  oldest.reset();
  if (!is_array(v) || v.elements.size() != 4) return false;
  std::uint64_t count = 0;
  if (!to_integer(v.elements[0], count)) return false;
  if (count == 0) return true;
  if (!is_text(v.elements[1])) return false;
  oldest = v.elements[1].text;
  return true;
}

// ZRANGE ... WITHSCORES of at most one member: RESP2 [member, score], RESP3 [[member, score]].
bool decode_first_score(const resp::value& v, std::optional<double>& score) {
  score.reset();
  if (!is_array(v)) return false;
  if (v.elements.empty()) return true;
  const resp::value* s = nullptr;
  if (v.elements.size() == 2 && is_text(v.elements[0]))
    s = &v.elements[1];
  else if (v.elements.size() == 1 && is_array(v.elements[0]) && v.elements[0].elements.size() == 2)
    s = &v.elements[0].elements[1];
  if (s == nullptr || (s->data_type != resp::type::double_type && !is_text(*s))) return false;
  double parsed = 0;
  const auto* end = s->text.data() + s->text.size();
  const auto [ptr, ec] = std::from_chars(s->text.data(), end, parsed);
  if (ec != std::errc() || ptr != end) return false;
  score = parsed;
  return true;
}

}  // namespace

void build_topic_sample(resp::request& req, const topic_keys& keys, const std::string& group) {
  req.push("XLEN", resp::key{keys.stream()});
  build_stream_summary(req, keys.stream());
  req.push("XINFO", "GROUPS", resp::key{keys.stream()});
  req.push("XPENDING", resp::key{keys.stream()}, group);
  req.push("XLEN", resp::key{keys.dead_letters(group)});
  req.push("ZCARD", resp::key{keys.delayed()});
  req.push("ZRANGE", resp::key{keys.delayed()}, 0, 0, "WITHSCORES");
}

command_result decode_topic_sample(std::span<const resp::value> replies, const std::string& group,
                                   topic_sample_reply& out) {
  out = topic_sample_reply{};
  if (replies.size() != topic_sample_commands) return malformed("topic sample replies");
  auto fail = [&out](command_result r) {
    out = topic_sample_reply{};
    return r;
  };
  std::uint64_t length = 0;
  if (auto r = reply::count(replies[0], length, "XLEN"); !r) return fail(r);
  // Absent stream: XINFO STREAM, XINFO GROUPS and XPENDING refuse; an empty one with no group.
  const bool absent = length == 0 && replies[1].is_error();
  if (!absent) {
    if (replies[1].is_error()) return fail(refused(replies[1]));
    if (!decode_stream(replies[1], out.stream)) return fail(malformed("XINFO STREAM"));
    if (replies[2].is_error()) return fail(refused(replies[2]));
    if (!decode_groups(replies[2], group, out.group)) return fail(malformed("XINFO GROUPS"));
    if (replies[3].is_error()) {
      auto r = refused(replies[3]);
      // NOGROUP for a group XINFO GROUPS did not list: no group yet, not a failure.
      if (out.group || r.ec != resp::server_errc::nogroup) return fail(r);
    } else if (!decode_pending(replies[3], out.oldest_pending_id)) {
      return fail(malformed("XPENDING summary"));
    }
  }
  if (auto r = reply::count(replies[4], out.dead_letters, "XLEN"); !r) return fail(r);
  if (auto r = reply::count(replies[5], out.delayed, "ZCARD"); !r) return fail(r);
  if (replies[6].is_error()) return fail(refused(replies[6]));
  if (!decode_first_score(replies[6], out.earliest_due_ms))
    return fail(malformed("ZRANGE WITHSCORES"));
  return {};
}

void build_stream_summary(resp::request& req, const std::string& stream) {
  req.push("XINFO", "STREAM", resp::key{stream});
}

command_result decode_stream_summary(const resp::value& reply, stream_summary& out) {
  out = stream_summary{};
  if (reply.is_error()) return refused(reply);
  if (!decode_stream(reply, out)) {
    out = stream_summary{};
    return malformed("XINFO STREAM");
  }
  return {};
}

void build_entries_after(resp::request& req, const std::string& stream, const std::string& after,
                         std::uint64_t count) {
  req.push("XRANGE", resp::key{stream}, "(" + after, "+", "COUNT", count);
}

command_result decode_entries_after(const resp::value& reply, range_page& out) {
  out = range_page{};
  if (reply.is_error()) return refused(reply);
  if (!is_array(reply)) return malformed("XRANGE reply");
  for (const auto& entry : reply.elements) {
    if (!is_array(entry) || entry.elements.size() != 2 || !is_text(entry.elements[0])) {
      out = range_page{};
      return malformed("XRANGE entry");
    }
    out.last_id = entry.elements[0].text;
  }
  out.entries = reply.elements.size();
  return {};
}

}  // namespace streamq::streams::detail

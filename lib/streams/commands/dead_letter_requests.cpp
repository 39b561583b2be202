#include "dead_letter_requests.hpp"

#include "reply_checks.hpp"
#include "script.hpp"
#include "transaction.hpp"

#include <streamq_lua_scripts.hpp>

namespace streamq::streams::detail {

namespace {

const lua_script& republish_script() {
  static const lua_script script(lua::republish_dead_letter);
  return script;
}

}  // namespace

void build_dead_letter_range(resp::request& req, const std::string& key, const std::string& start,
                             const std::string& end, std::size_t count) {
  req.push("XRANGE", resp::key{key}, start, end, "COUNT", count);
}

command_result decode_dead_letter_range(const resp::value& reply,
                                        std::vector<stream_entry>& entries) {
  entries.clear();
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_array(reply)) return reply::malformed("XRANGE reply");
  for (const auto& v : reply.elements) {
    stream_entry entry;
    if (!reply::is_array(v) || v.elements.size() != 2 || !reply::is_text(v.elements[0]) ||
        !reply::to_strings(v.elements[1], entry.fields) || entry.fields.size() % 2 != 0) {
      entries.clear();
      return reply::malformed("XRANGE entry");
    }
    entry.id = v.elements[0].text;
    entries.push_back(std::move(entry));
  }
  return {};
}

void build_dead_letter_count(resp::request& req, const std::string& key) {
  req.push("XLEN", resp::key{key});
}

command_result decode_dead_letter_count(const resp::value& reply, std::uint64_t& count) {
  return reply::count(reply, count, "XLEN");
}

void build_purge_dead_letter(resp::request& req, const std::string& key, const std::string& id) {
  req.push("XDEL", resp::key{key}, id);
}

command_result decode_purge_dead_letter(const resp::value& reply, bool& deleted) {
  deleted = false;
  std::uint64_t n = 0;
  auto result = reply::count(reply, n, "XDEL");
  if (result && n > 1) return reply::malformed("XDEL count of one ID");
  deleted = n == 1;
  return result;
}

void build_purge_dead_letters(resp::request& req, const std::string& key) {
  build_transaction(req, [&](resp::request& r) {
    r.push("XLEN", resp::key{key});
    r.push("DEL", resp::key{key});
  });
}

command_result decode_purge_dead_letters(std::span<const resp::value> replies,
                                         std::uint64_t& removed) {
  removed = 0;
  std::span<const resp::value> results;
  if (auto r = decode_transaction(replies, 2, results); !r) return r;
  std::uint64_t deleted_keys = 0;
  if (auto r = reply::count(results[0], removed, "XLEN"); !r) return r;
  if (auto r = reply::count(results[1], deleted_keys, "DEL"); !r || deleted_keys > 1) {
    removed = 0;
    return r ? reply::malformed("DEL count of one key") : r;
  }
  return {};
}

void build_republish_dead_letter(resp::request& req, bool by_source, const std::string& key,
                                 const std::string& stream, const std::string& dead_id,
                                 std::span<const std::string> fields) {
  republish_script().push(req, by_source, 2, resp::key{key}, resp::key{stream}, dead_id, fields);
}

command_result decode_republish_dead_letter(const resp::value& reply, std::string& new_id) {
  new_id.clear();
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_text(reply)) return reply::malformed("republish_dead_letter");
  new_id = reply.text;
  return {};
}

}  // namespace streamq::streams::detail

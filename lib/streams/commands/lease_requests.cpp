#include "lease_requests.hpp"

#include "reply_checks.hpp"
#include "script.hpp"

#include <streamq_lua_scripts.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

namespace streamq::streams::detail {

namespace {

const lua_script& acquire_script() {
  static const lua_script script(lua::lease_acquire);
  return script;
}

const lua_script& release_script() {
  static const lua_script script(lua::lease_release);
  return script;
}

const lua_script& heartbeat_script() {
  static const lua_script script(lua::members_heartbeat);
  return script;
}

// A ttl as the scripts take it: a negative one would put the deadline in the past, which is
// what 0 already means (expired at once).
std::int64_t ttl_ms(std::chrono::milliseconds ttl) {
  return std::max<std::int64_t>(0, ttl.count());
}

// An integer reply (the scripts' numbers), not negative.
template <class Integer>
bool to_count(const resp::value& v, Integer& out) {
  Integer n{};
  if (v.data_type != resp::type::integer || !reply::to_integer(v, n) || n < 0) return false;
  out = n;
  return true;
}

// One number HMGET read: nil (the field is absent) reads as 0.
template <class Integer>
bool to_field(const resp::value& v, Integer& out) {
  if (v.data_type == resp::type::null) {
    out = 0;
    return true;
  }
  Integer n{};
  if (!reply::is_text(v) || !reply::to_integer(v, n) || n < 0) return false;
  out = n;
  return true;
}

}  // namespace

void build_lease_acquire(resp::request& req, bool by_source, const std::string& lease_key,
                         const std::string& owner, std::chrono::milliseconds ttl,
                         std::uint64_t epoch, const std::string& group) {
  acquire_script().push(req, by_source, 1, resp::key{lease_key}, owner, ttl_ms(ttl), epoch,
                        group);
}

std::string lease_read_gate(const std::string& lease_key, std::uint64_t epoch) {
  return lease_key + ":gate:" + std::to_string(epoch);
}

void build_read_gates_open(resp::request& req, std::span<const std::string> gates) {
  for (const auto& gate : gates) req.push("EXISTS", resp::key{gate});
}

command_result decode_read_gates_open(std::span<const resp::value> replies, std::size_t gates,
                                      std::vector<bool>& open) {
  open.clear();
  if (replies.size() != gates) return reply::malformed("EXISTS replies");
  for (const auto& r : replies) {
    command_result failure;
    if (r.is_error())
      failure = reply::refused(r);
    else if (r.data_type != resp::type::integer || (r.text != "0" && r.text != "1"))
      failure = reply::malformed("EXISTS");
    if (!failure) {
      open.clear();  // all or nothing
      return failure;
    }
    open.push_back(r.text == "1");
  }
  return {};
}

command_result decode_lease_acquire(const resp::value& reply, lease_state& out) {
  out = {};
  if (reply.is_error()) return reply::refused(reply);
  lease_state got;
  // A grant always names its owner: an epoch without one would fence nobody.
  if (!reply::is_array(reply) || reply.elements.size() != 3 ||
      !to_count(reply.elements[0], got.epoch) || !to_count(reply.elements[1], got.until_ms) ||
      !reply::is_text(reply.elements[2]) || (got.epoch > 0 && reply.elements[2].text.empty()))
    return reply::malformed("lease_acquire {epoch, until, owner}");
  got.owner = reply.elements[2].text;
  out = std::move(got);
  return {};
}

void build_lease_release(resp::request& req, bool by_source, const std::string& lease_key,
                         const std::string& owner, std::uint64_t epoch) {
  release_script().push(req, by_source, 1, resp::key{lease_key}, owner, epoch);
}

command_result decode_lease_release(const resp::value& reply, bool& released) {
  released = false;
  if (reply.is_error()) return reply::refused(reply);
  int outcome = 0;
  if (reply.data_type != resp::type::integer || !reply::to_integer(reply, outcome) ||
      (outcome != 0 && outcome != 1))
    return reply::malformed("lease_release 0 or 1");
  released = outcome == 1;
  return {};
}

void build_members_heartbeat(resp::request& req, bool by_source, const std::string& members_key,
                             const std::string& member, std::chrono::milliseconds ttl,
                             bool leaving) {
  heartbeat_script().push(req, by_source, 1, resp::key{members_key}, member, ttl_ms(ttl),
                          leaving ? "1" : "0");
}

command_result decode_members_heartbeat(const resp::value& reply,
                                        std::vector<std::string>& members) {
  members.clear();
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::to_strings(reply, members)) return reply::malformed("members_heartbeat names");
  return {};
}

void build_lease_read(resp::request& req, const std::string& lease_key) {
  req.push("HMGET", resp::key{lease_key}, "owner", "epoch", "until");
}

command_result decode_lease_read(const resp::value& reply, lease_state& out) {
  out = {};
  if (reply.is_error()) return reply::refused(reply);
  lease_state got;
  if (!reply::is_array(reply) || reply.elements.size() != 3 ||
      (reply.elements[0].data_type != resp::type::null && !reply::is_text(reply.elements[0])) ||
      !to_field(reply.elements[1], got.epoch) || !to_field(reply.elements[2], got.until_ms))
    return reply::malformed("HMGET lease {owner, epoch, until}");
  if (reply.elements[0].data_type != resp::type::null) got.owner = reply.elements[0].text;
  out = std::move(got);
  return {};
}

namespace {
// A sorted-set score as the server sends it: an integer or a double, as text (RESP2 bulk or
// RESP3 double); whole milliseconds are expected.
bool to_score_ms(const resp::value& v, std::int64_t& out) {
  if (!reply::is_text(v) && v.data_type != resp::type::double_type &&
      v.data_type != resp::type::integer)
    return false;
  if (reply::to_integer(v, out)) return true;
  const std::string text(v.text);
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(d >= 0) || d > 9.0e15) return false;
  out = static_cast<std::int64_t>(d);
  return true;
}
}  // namespace

void build_members_read(resp::request& req, const std::string& members_key) {
  req.push("ZRANGE", resp::key{members_key}, 0, -1, "WITHSCORES");
}

command_result decode_members_read(const resp::value& reply, std::vector<member_entry>& members) {
  members.clear();
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_array(reply)) return reply::malformed("ZRANGE WITHSCORES");
  std::vector<member_entry> out;
  auto take = [&](const resp::value& name, const resp::value& score) {
    member_entry m;
    if (!reply::is_text(name) || !to_score_ms(score, m.expires_ms)) return false;
    m.name = name.text;
    out.push_back(std::move(m));
    return true;
  };
  const auto& e = reply.elements;
  const bool pairs = !e.empty() && reply::is_array(e.front());
  if (pairs) {
    for (const auto& pair : e)
      if (!reply::is_array(pair) || pair.elements.size() != 2 ||
          !take(pair.elements[0], pair.elements[1]))
        return reply::malformed("ZRANGE WITHSCORES pair");
  } else {
    if (e.size() % 2 != 0) return reply::malformed("ZRANGE WITHSCORES");
    for (std::size_t i = 0; i < e.size(); i += 2)
      if (!take(e[i], e[i + 1])) return reply::malformed("ZRANGE WITHSCORES entry");
  }
  members = std::move(out);
  return {};
}

}  // namespace streamq::streams::detail

#include "lease_requests.hpp"

#include "reply_checks.hpp"
#include "script.hpp"

#include <streamq_lua_scripts.hpp>

#include <algorithm>
#include <cstdint>
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
                         std::uint64_t epoch) {
  acquire_script().push(req, by_source, 1, resp::key{lease_key}, owner, ttl_ms(ttl), epoch);
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

}  // namespace streamq::streams::detail

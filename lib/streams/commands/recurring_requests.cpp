#include "recurring_requests.hpp"

#include "reply_checks.hpp"
#include "script.hpp"

#include <streamq/streams/envelope.hpp>

#include <streamq_lua_scripts.hpp>

namespace streamq::streams::detail {

namespace {

const lua_script& upsert_script() {
  static const lua_script script(lua::upsert_recurring);
  return script;
}

const lua_script& flag_script() {
  static const lua_script script(lua::recurring_flag);
  return script;
}

const lua_script& fire_script() {
  static const lua_script script(lua::fire_recurring);
  return script;
}

// A script's integer reply within [low, high].
bool to_flag(const resp::value& reply, int low, int high, int& flag) {
  return reply.data_type == resp::type::integer && reply::to_integer(reply, flag) && flag >= low &&
         flag <= high;
}

std::string_view change_name(recurring_change change) {
  switch (change) {
    case recurring_change::pause:
      return "pause";
    case recurring_change::resume:
      return "resume";
    case recurring_change::remove:
      break;
  }
  return "remove";
}

}  // namespace

void build_recurring_tasks(resp::request& req, const topic_keys& keys) {
  req.push("HGETALL", resp::key{keys.cron()});
}

command_result decode_recurring_tasks(const resp::value& reply, hash_fields& fields) {
  fields.clear();
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::to_pairs(reply, fields)) return reply::malformed("HGETALL");
  return {};
}

void build_upsert_recurring(resp::request& req, bool by_source, const topic_keys& keys,
                            const std::string& name, const std::string& spec,
                            std::string_view envelope, bool run_once) {
  upsert_script().push(req, by_source, 1, resp::key{keys.cron()}, name, spec, envelope,
                       run_once ? "run_once" : "skip");
}

command_result decode_upsert_recurring(const resp::value& reply, bool& restarted) {
  restarted = false;
  if (reply.is_error()) return reply::refused(reply);
  int flag = -1;
  if (!to_flag(reply, 0, 1, flag)) return reply::malformed("upsert_recurring");
  restarted = flag == 1;
  return {};
}

void build_recurring_flag(resp::request& req, bool by_source, const topic_keys& keys,
                          const std::string& name, recurring_change change) {
  flag_script().push(req, by_source, 1, resp::key{keys.cron()}, name, change_name(change));
}

command_result decode_recurring_flag(const resp::value& reply, bool& exists) {
  exists = false;
  if (reply.is_error()) return reply::refused(reply);
  int flag = -1;
  if (!to_flag(reply, 0, 1, flag)) return reply::malformed("recurring_flag");
  exists = flag == 1;
  return {};
}

void build_fire_recurring(resp::request& req, bool by_source, const topic_keys& keys,
                          const std::string& name, const std::string& spec,
                          std::int64_t occurrence_ms, bool fire, std::string_view suffix) {
  fire_script().push(req, by_source, 2, resp::key{keys.cron()}, resp::key{keys.stream()}, name,
                     spec, occurrence_ms, fire ? "fire" : "skip", suffix, version_field,
                     envelope_version, envelope_field);
}

command_result decode_fire_recurring(const resp::value& reply, fire_status& status) {
  status = fire_status::claimed_already;
  if (reply.is_error()) return reply::refused(reply);
  int flag = 0;
  if (!to_flag(reply, -2, 2, flag)) return reply::malformed("fire_recurring");
  status = static_cast<fire_status>(flag);
  return {};
}

}  // namespace streamq::streams::detail

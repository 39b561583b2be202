#include "scheduler_scripts.hpp"

#include <streamq_lua_scripts.hpp>

// Each script is the file lib/streams/scripts/<name>-<key count>.lua named here.

namespace streamq::streams::detail {

const lua_script& dedup_publish_script() {
  static const lua_script script(lua::dedup_publish);
  return script;
}

const lua_script& schedule_script() {
  static const lua_script script(lua::schedule);
  return script;
}

const lua_script& poll_script() {
  static const lua_script script(lua::poll_scheduled);
  return script;
}

const lua_script& cancel_script() {
  static const lua_script script(lua::cancel_scheduled);
  return script;
}

const lua_script& list_scheduled_script() {
  static const lua_script script(lua::list_scheduled);
  return script;
}

const lua_script& upsert_recurring_script() {
  static const lua_script script(lua::upsert_recurring);
  return script;
}

const lua_script& recurring_flag_script() {
  static const lua_script script(lua::recurring_flag);
  return script;
}

const lua_script& fire_recurring_script() {
  static const lua_script script(lua::fire_recurring);
  return script;
}

const lua_script& ack_processed_script() {
  static const lua_script script(lua::ack_processed);
  return script;
}

}  // namespace streamq::streams::detail

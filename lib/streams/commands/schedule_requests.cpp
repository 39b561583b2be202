#include "schedule_requests.hpp"

#include "reply_checks.hpp"
#include "script.hpp"

#include <streamq/streams/envelope.hpp>

#include <streamq_lua_scripts.hpp>

namespace streamq::streams::detail {

namespace {

const lua_script& schedule_script() {
  static const lua_script script(lua::schedule);
  return script;
}

const lua_script& cancel_script() {
  static const lua_script script(lua::cancel_scheduled);
  return script;
}

const lua_script& list_script() {
  static const lua_script script(lua::list_scheduled);
  return script;
}

const lua_script& poll_script() {
  static const lua_script script(lua::poll_scheduled);
  return script;
}

}  // namespace

void build_schedule_task(resp::request& req, bool by_source, const topic_keys& keys,
                         std::string_view idempotency_key, std::chrono::milliseconds window,
                         task_due due, std::string_view envelope) {
  // Without a key the script reads no dedup key: both are the meta key, so that every key
  // stays in the topic's slot, and the window is "0".
  const bool keyed = !idempotency_key.empty();
  const std::string dedup_key = keyed ? keys.task_dedup(idempotency_key) : keys.meta();
  // Wave 1 kept task keys in the publisher's namespace: the script still reads them there.
  const std::string wave1_key = keyed ? keys.dedup(idempotency_key) : keys.meta();
  schedule_script().push(req, by_source, 5, resp::key{keys.delayed()},
                         resp::key{keys.delayed_data()}, resp::key{keys.meta()},
                         resp::key{dedup_key}, resp::key{wave1_key}, due.ms, envelope,
                         keyed ? window.count() : 0, due.relative ? "in" : "at");
}

command_result decode_schedule_task(const resp::value& reply, scheduled_reply& out) {
  out = {};
  if (reply.is_error()) return reply::refused(reply);
  int stored = -1;
  if (!reply::is_array(reply) || reply.elements.size() != 4 ||
      !reply::to_integer(reply.elements[0], stored) || (stored != 0 && stored != 1) ||
      !reply::is_text(reply.elements[1]) || !reply::to_integer(reply.elements[2], out.due_ms) ||
      !reply::to_integer(reply.elements[3], out.now_ms)) {
    out = {};
    return reply::malformed("schedule");
  }
  out.duplicate = stored == 0;
  out.id = reply.elements[1].text;
  return {};
}

void build_cancel_scheduled(resp::request& req, bool by_source, const topic_keys& keys,
                            const std::string& id) {
  cancel_script().push(req, by_source, 2, resp::key{keys.delayed()}, resp::key{keys.delayed_data()},
                       id);
}

command_result decode_cancel_scheduled(const resp::value& reply, bool& removed) {
  removed = false;
  if (reply.is_error()) return reply::refused(reply);
  int flag = -1;
  if (reply.data_type != resp::type::integer || !reply::to_integer(reply, flag) ||
      (flag != 0 && flag != 1))
    return reply::malformed("cancel_scheduled");
  removed = flag == 1;
  return {};
}

void build_list_scheduled(resp::request& req, bool by_source, const topic_keys& keys,
                          std::size_t limit) {
  list_script().push(req, by_source, 2, resp::key{keys.delayed()}, resp::key{keys.delayed_data()},
                     limit);
}

command_result decode_list_scheduled(const resp::value& reply, std::vector<listed_task>& tasks) {
  tasks.clear();
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_array(reply) || reply.elements.size() % 3 != 0)
    return reply::malformed("list_scheduled");
  for (std::size_t i = 0; i < reply.elements.size(); i += 3) {
    listed_task task;
    if (!reply::is_text(reply.elements[i]) ||
        !reply::to_integer(reply.elements[i + 1], task.due_ms) ||
        !reply::is_text(reply.elements[i + 2])) {
      tasks.clear();
      return reply::malformed("list_scheduled task");
    }
    task.id = reply.elements[i].text;
    task.envelope = reply.elements[i + 2].text;
    tasks.push_back(std::move(task));
  }
  return {};
}

void build_scheduled_count(resp::request& req, const topic_keys& keys) {
  req.push("ZCARD", resp::key{keys.delayed()});
}

command_result decode_scheduled_count(const resp::value& reply, std::uint64_t& count) {
  return reply::count(reply, count, "ZCARD");
}

void build_poll_scheduled(resp::request& req, bool by_source, const topic_keys& keys,
                          std::size_t batch) {
  poll_script().push(req, by_source, 3, resp::key{keys.stream()}, resp::key{keys.delayed()},
                     resp::key{keys.delayed_data()}, batch, version_field, envelope_version,
                     envelope_field);
}

command_result decode_poll_scheduled(const resp::value& reply, polled_tasks& out) {
  out = {};
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_array(reply) || reply.elements.size() != 3 ||
      !reply::to_integer(reply.elements[0], out.moved) ||
      !reply::to_integer(reply.elements[1], out.next_due_ms) ||
      !reply::to_integer(reply.elements[2], out.now_ms)) {
    out = {};
    return reply::malformed("poll_scheduled");
  }
  return {};
}

}  // namespace streamq::streams::detail

#pragma once
// The scheduler's delayed-task commands as pure functions, with no Asio: build_* appends one
// command (or, for scripts, one EVALSHA/EVAL call: `by_source` picks which), decode_* reads its
// reply, by the rules delivery_requests.hpp states for every decoder (output empty unless it
// succeeds; error replies classified, their text in `diagnostic`; any other shape
// errc::malformed_entry). Recurring tasks are in recurring_requests.hpp.

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include "delivery_requests.hpp"  // command_result

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// When a task is due: at a Unix time, or after a delay from the server's clock (TIME, read
// by the script).
struct task_due {
  std::int64_t ms = 0;  // Unix ms, or the delay
  bool relative = false;
};

// schedule-5.lua: stores a task (its serialized envelope) in the topic's delayed set. With an
// idempotency key, once per key within `window`: a later one within it stores nothing.
// Reply: [1, task ID, due ms, server now ms] stored, or [0, the earlier task's ID, 0, now ms].
void build_schedule_task(resp::request& req, bool by_source, const topic_keys& keys,
                         std::string_view idempotency_key, std::chrono::milliseconds window,
                         task_due due, std::string_view envelope);
struct scheduled_reply {
  bool duplicate = false;
  std::string id;
  std::int64_t due_ms = 0;  // by the server's clock; 0 for a duplicate
  std::int64_t now_ms = 0;  // the server's clock as the script ran
  friend bool operator==(const scheduled_reply&, const scheduled_reply&) = default;
};
[[nodiscard]] command_result decode_schedule_task(const resp::value& reply, scheduled_reply& out);

// cancel_scheduled-2.lua: removes task `id`.
// Reply: 1 removed, 0 not there.
void build_cancel_scheduled(resp::request& req, bool by_source, const topic_keys& keys,
                            const std::string& id);
[[nodiscard]] command_result decode_cancel_scheduled(const resp::value& reply, bool& removed);

// list_scheduled-2.lua: at most `limit` tasks, soonest first.
// Reply: [id, due ms, envelope, ...] flat; the envelope empty when its data is gone.
void build_list_scheduled(resp::request& req, bool by_source, const topic_keys& keys,
                          std::size_t limit);
struct listed_task {
  std::string id;
  std::int64_t due_ms = 0;
  std::string envelope;  // serialized v1::Envelope
  friend bool operator==(const listed_task&, const listed_task&) = default;
};
[[nodiscard]] command_result decode_list_scheduled(const resp::value& reply,
                                                   std::vector<listed_task>& tasks);

// ZCARD <delayed>: how many tasks wait.
// Reply: the count.
void build_scheduled_count(resp::request& req, const topic_keys& keys);
[[nodiscard]] command_result decode_scheduled_count(const resp::value& reply, std::uint64_t& count);

// poll_scheduled-3.lua: moves at most `batch` due tasks (by the server's clock) into the topic.
// Reply: [moved, next due ms or -1, server now ms].
void build_poll_scheduled(resp::request& req, bool by_source, const topic_keys& keys,
                          std::size_t batch);
struct polled_tasks {
  std::uint64_t moved = 0;
  std::int64_t next_due_ms = -1;  // the earliest task still waiting; -1: none
  std::int64_t now_ms = 0;
  friend bool operator==(const polled_tasks&, const polled_tasks&) = default;
};
[[nodiscard]] command_result decode_poll_scheduled(const resp::value& reply, polled_tasks& out);

}  // namespace streamq::streams::detail

#pragma once
// The scheduler's recurring-task commands as pure functions, with no Asio, by the rules of
// schedule_requests.hpp. A topic's recurring tasks live in one hash (topic_keys::cron()),
// fields "<name>|spec", "<name>|env", "<name>|policy", "<name>|last", "<name>|paused", written
// by the scripts below; what the fields mean is recurring.cpp's (parse_recurring).

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/names.hpp>

#include "delivery_requests.hpp"  // command_result

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamq::streams::detail {

// HGETALL <cron>: every recurring task's fields.
// Reply: the hash's field/value pairs (a RESP3 map, or RESP2's flat array).
void build_recurring_tasks(resp::request& req, const topic_keys& keys);
using hash_fields = std::vector<std::pair<std::string, std::string>>;
[[nodiscard]] command_result decode_recurring_tasks(const resp::value& reply, hash_fields& fields);

// upsert_recurring-1.lua: creates or updates task `name`; a changed `spec` restarts its history
// at the server's TIME. `run_once`: missed occurrences fire once (missed_policy::run_once),
// else they are skipped.
// Reply: 1 the spec changed (or the task is new), 0 it did not.
void build_upsert_recurring(resp::request& req, bool by_source, const topic_keys& keys,
                            const std::string& name, const std::string& spec,
                            std::string_view envelope, bool run_once);
[[nodiscard]] command_result decode_upsert_recurring(const resp::value& reply, bool& restarted);

// recurring_flag-1.lua: pauses, resumes or removes task `name`.
// Reply: 1 the task exists, 0 it does not (nothing changed).
enum class recurring_change : std::uint8_t { pause, resume, remove };
void build_recurring_flag(resp::request& req, bool by_source, const topic_keys& keys,
                          const std::string& name, recurring_change change);
[[nodiscard]] command_result decode_recurring_flag(const resp::value& reply, bool& exists);

// fire_recurring-2.lua: claims the occurrence at `occurrence_ms` of task `name` (as computed
// from `spec`), and publishes it with `suffix` (a serialized Envelope merged over the stored
// one) when `fire`, or only claims it (a skipped occurrence).
// Reply: one of fire_status's values.
void build_fire_recurring(resp::request& req, bool by_source, const topic_keys& keys,
                          const std::string& name, const std::string& spec,
                          std::int64_t occurrence_ms, bool fire, std::string_view suffix);
enum class fire_status : std::int8_t {
  spec_changed = -2,  // the spec is not `spec` any more, or the task was removed
  paused = -1,
  claimed_already = 0,  // another scheduler claimed this occurrence (or a later one)
  fired = 1,
  skipped = 2,
};
[[nodiscard]] command_result decode_fire_recurring(const resp::value& reply, fire_status& status);

}  // namespace streamq::streams::detail

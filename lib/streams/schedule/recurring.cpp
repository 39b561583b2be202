// streams::scheduler: recurring tasks. Every scheduler process computes the same
// occurrences from the stored spec; fire_recurring-2.lua claims each one atomically, so it is
// published exactly once however many processes run. Which occurrence a poll claims, and
// whether it is published, is next_occurrence()'s decision (sansio/scheduling.hpp).
#include <streamq/streams/message_id.hpp>

#include "commands/recurring_requests.hpp"
#include "scheduler_impl.hpp"
#include "scheduler_internal.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>

namespace streamq::streams::detail {
namespace asio = boost::asio;

std::vector<recurring_task> parse_recurring(
    const hash_fields& hash, std::vector<std::pair<std::string, std::string>>* unreadable) {
  // Fields are "<name>|spec", "<name>|env", "<name>|policy", "<name>|last", "<name>|paused";
  // names cannot contain '|' (names.hpp).
  std::map<std::string, std::map<std::string, const std::string*>, std::less<>> by_name;
  for (const auto& [field, value] : hash) {
    const auto bar = field.rfind('|');
    if (bar == std::string::npos) continue;
    by_name[field.substr(0, bar)][field.substr(bar + 1)] = &value;
  }
  std::vector<recurring_task> tasks;
  for (const auto& [name, fields] : by_name) {
    const auto spec = fields.find("spec");
    const auto env = fields.find("env");
    if (spec == fields.end() || env == fields.end()) continue;
    recurring_task task;
    task.name = name;
    task.spec = *spec->second;
    if (!task.envelope.ParseFromString(*env->second)) {
      if (unreadable != nullptr) unreadable->emplace_back(name, task.spec);
      continue;
    }
    if (const auto p = fields.find("policy"); p != fields.end() && *p->second == "run_once")
      task.on_missed = missed_policy::run_once;
    if (const auto p = fields.find("paused"); p != fields.end()) task.paused = *p->second == "1";
    if (const auto l = fields.find("last"); l != fields.end())
      task.last_occurrence = from_unix_ms(std::strtoll(l->second->c_str(), nullptr, 10));
    tasks.push_back(std::move(task));
  }
  return tasks;
}

asio::awaitable<void> scheduler_impl::upsert_recurring(
    std::string topic, std::string name, schedule when,
    std::shared_ptr<const google::protobuf::Message> message, missed_policy on_missed) {
  const auto keys = keys_of(topic);
  validate_name(name_kind::topic, name);  // the same rules as topic names
  const v1::Envelope envelope = make_envelope(*message, envelope_options{});
  if (auto ec = check_limits(envelope, config_.limits)) fail(ec, "recurring task message");
  const std::string spec = when.spec();
  const std::string bytes = envelope.SerializeAsString();
  // A new or changed schedule starts at the server's TIME, read by the script: the same
  // clock the pollers fire by.
  bool restarted = false;
  check(co_await send_script(
            client_,
            [&](resp::request& req, bool by_source) {
              build_upsert_recurring(req, by_source, *keys, name, spec, bytes,
                                     on_missed == missed_policy::run_once);
            },
            [&](const resp::value& reply) { return decode_upsert_recurring(reply, restarted); }),
        "registering a recurring task");
  wake_for(std::chrono::milliseconds(0));  // recompute the next wake-up
}

asio::awaitable<std::vector<recurring_task>> scheduler_impl::list_recurring(std::string topic) {
  const auto keys = keys_of(topic);
  hash_fields fields;
  check(co_await send_command(
            client_, [&](resp::request& req) { build_recurring_tasks(req, *keys); },
            [&](const resp::value& reply) { return decode_recurring_tasks(reply, fields); }),
        "listing recurring tasks");
  co_return parse_recurring(fields);
}

asio::awaitable<bool> scheduler_impl::set_recurring_flag(std::string topic, std::string name,
                                                         recurring_change change) {
  const auto keys = keys_of(topic);
  bool exists = false;
  check(co_await send_script(
            client_,
            [&](resp::request& req, bool by_source) {
              build_recurring_flag(req, by_source, *keys, name, change);
            },
            [&](const resp::value& reply) { return decode_recurring_flag(reply, exists); }),
        "changing a recurring task");
  co_return exists;
}

void scheduler_impl::recurring_unreadable(scheduler_topic& t, const std::string& name,
                                          const std::string& spec, std::string_view why) {
  if (!t.unreadable.insert(name + "|" + spec).second) return;  // reported already
  const std::string& topic = t.keys->topic();
  std::string detail = "recurring task '" + name + "' is never fired: " + std::string(why);
  failures_.log().log(log_level::warning, "scheduler", "recurring_task_unreadable", detail,
                      {{"topic", topic}, {"task", name}, {"spec", spec}});
  report({scheduler_event::kind::recurring_task_unreadable, topic, {}, std::move(detail), 0});
}

const schedule* scheduler_impl::schedule_of(scheduler_topic& t, const recurring_task& task) {
  auto parsed = t.parsed.find(task.spec);
  if (parsed == t.parsed.end()) {
    try {
      parsed = t.parsed.emplace(task.spec, schedule::parse(task.spec)).first;
    } catch (const std::invalid_argument& e) {
      // Written by a newer streamq, or by hand: not ours to fire, but someone must know.
      recurring_unreadable(t, task.name, task.spec, e.what());
      return nullptr;
    }
  }
  return &parsed->second;
}

asio::awaitable<std::chrono::milliseconds> scheduler_impl::fire_recurring(
    std::size_t topic_index, std::int64_t server_now_ms) {
  scheduler_topic& t = *topics_[topic_index];
  const auto now = from_unix_ms(server_now_ms);
  poll_sleep sleep(config_.max_sleep);
  // Forget parsed schedules no task uses any more (removed, or changed to another spec).
  if (t.parsed.size() > t.recurring.size())
    std::erase_if(t.parsed, [&](const auto& cached) {
      return std::none_of(t.recurring.begin(), t.recurring.end(),
                          [&](const recurring_task& task) { return task.spec == cached.first; });
    });
  for (const auto& task : t.recurring) {
    if (task.paused) continue;
    const schedule* when = schedule_of(t, task);
    if (when == nullptr) continue;
    const auto next =
        next_occurrence(*when, task.last_occurrence, task.on_missed, now, config_.misfire_grace);
    using kind = occurrence_decision::kind;
    if (next.what == kind::wait) sleep.need(next.wait);
    if (next.what != kind::fire && next.what != kind::skip) continue;  // wait, none
    const bool fire = next.what == kind::fire;
    const auto occurrence_ms = unix_ms(next.occurrence);
    v1::Envelope suffix;  // merged over the stored template (see the script)
    suffix.set_message_id(new_message_id());
    suffix.set_created_at_unix_ms(occurrence_ms);
    (*suffix.mutable_headers())["streamq-occurrence"] = std::to_string(occurrence_ms);
    const std::string suffix_bytes = suffix.SerializeAsString();
    fire_status status = fire_status::claimed_already;
    check(co_await send_script(
              client_,
              [&](resp::request& req, bool by_source) {
                build_fire_recurring(req, by_source, *t.keys, task.name, task.spec, occurrence_ms,
                                     fire, suffix_bytes);
              },
              [&](const resp::value& reply) { return decode_fire_recurring(reply, status); }),
          "firing a recurring task");
    if (status == fire_status::fired) ++counters_.recurring_fired;
    if (status == fire_status::skipped) ++counters_.recurring_skipped;
    sleep.need(std::chrono::milliseconds(0));  // look again at once: another may be due
  }
  co_return sleep.get();
}

}  // namespace streamq::streams::detail

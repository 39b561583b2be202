// The API's changes (POST): dead letters requeued or purged, delayed tasks cancelled,
// recurring tasks paused or resumed, replays started or cancelled. dashboard.cpp has already
// checked the request (check_mutation); each handler reads its body with parse_body, which
// refuses unknown fields and wrong types, so a refused request changes nothing.
#include "api.hpp"

#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/replay.hpp>

#include <boost/json/object.hpp>

namespace streamq::dashboard::detail {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Most types a replay filter may list.
constexpr std::size_t max_replay_types = 100;
// Highest replay rate accepted (messages per second).
constexpr double max_replay_rate = 1e6;

// The fields each body may hold.
constexpr std::string_view letter_fields[] = {"topic", "group", "id", "all"};
constexpr std::string_view delayed_fields[] = {"topic", "id"};
constexpr std::string_view recurring_fields[] = {"topic", "name"};
constexpr std::string_view replay_fields[] = {"topic", "from", "to", "types", "into_topic",
                                              "dry_run", "rate"};
constexpr std::string_view replay_cancel_fields[] = {"id"};

// `id` or `"all": true`, exactly one of them.
struct letter_selection {
  std::optional<std::string> id;  // nullopt: all
};
letter_selection select_letters(const json::object& body) {
  const bool all = optional_bool(body, "all").value_or(false);
  const bool has_id = body.contains("id");
  if (all == has_id) throw api_failure(invalid_argument("give either \"id\" or \"all\": true"));
  if (all) return {std::nullopt};
  return {body_entry_id(body, "id")};
}

// Requeues (or purges) one dead letter or all of a group's: the answer names what was done.
asio::awaitable<json::value> change_letters(api_context& ctx, const http::request& req, bool requeue) {
  const auto body = parse_body(req.body, letter_fields);
  streams::dead_letters letters(ctx.c, body_topic(body, "topic"), body_group(body), ctx.config.key_prefix);
  const auto which = select_letters(body);
  json::object out;
  auto& done = out[requeue ? "requeued" : "purged"];
  if (which.id && requeue)
    done = co_await letters.requeue(*which.id);
  else if (which.id)
    done = co_await letters.purge(*which.id);
  else if (requeue)
    done = co_await letters.requeue_all();
  else
    done = co_await letters.purge_all();
  co_return out;
}

asio::awaitable<json::value> requeue(api_context& ctx, const http::request& req, const query_map&) {
  return change_letters(ctx, req, true);
}

asio::awaitable<json::value> purge(api_context& ctx, const http::request& req, const query_map&) {
  return change_letters(ctx, req, false);
}

asio::awaitable<json::value> cancel_delayed(api_context& ctx, const http::request& req, const query_map&) {
  const auto body = parse_body(req.body, delayed_fields);
  const auto topic = body_topic(body, "topic");
  const auto id = required_string(body, "id");
  if (!is_task_id(id)) throw api_failure(invalid_argument("id must be a delayed task's ID"));
  const bool cancelled = co_await ctx.scheduler.cancel_scheduled(topic, id);
  co_return json::object{{"cancelled", cancelled}};
}

// Pauses (or resumes) recurring task `name`: 404 when there is none.
asio::awaitable<json::value> set_paused(api_context& ctx, const http::request& req, bool paused) {
  const auto body = parse_body(req.body, recurring_fields);
  const auto topic = body_topic(body, "topic");
  const auto name = required_string(body, "name");
  if (!is_task_id(name)) throw api_failure(invalid_argument("name must be a recurring task's name"));
  const bool found = paused ? co_await ctx.scheduler.pause_recurring(topic, name)
                            : co_await ctx.scheduler.resume_recurring(topic, name);
  if (!found) throw api_failure(not_found("no recurring task " + name + " on topic " + topic));
  co_return json::object{{"ok", true}};
}

asio::awaitable<json::value> pause(api_context& ctx, const http::request& req, const query_map&) {
  return set_paused(ctx, req, true);
}

asio::awaitable<json::value> resume(api_context& ctx, const http::request& req, const query_map&) {
  return set_paused(ctx, req, false);
}

// A replay's start or end: an entry ID, or "ms" alone (replay_options reads both).
std::string replay_bound(const json::object& body, std::string_view name) {
  auto v = optional_string(body, name).value_or("");
  if (!v.empty() && !is_entry_id(v) && !is_entry_id(v + "-0"))
    throw api_failure(invalid_argument(std::string(name) + " must be an entry ID (ms-seq or ms)"));
  return v;
}

asio::awaitable<json::value> start_replay(api_context& ctx, const http::request& req, const query_map&) {
  const auto body =
      parse_body(req.body, replay_fields);
  streams::replay_options o;
  o.topic = body_topic(body, "topic");
  o.from_id = replay_bound(body, "from");
  o.to_id = replay_bound(body, "to");
  o.filter.types = optional_strings(body, "types", max_replay_types).value_or(std::vector<std::string>{});
  o.dry_run = optional_bool(body, "dry_run").value_or(false);
  o.max_per_second = optional_number(body, "rate", max_replay_rate).value_or(0);
  o.key_prefix = ctx.config.key_prefix;
  o.request_timeout = ctx.config.request_timeout;
  auto into = optional_string(body, "into_topic").value_or("");
  if (o.dry_run == !into.empty())
    throw api_failure(invalid_argument("give either \"into_topic\" or \"dry_run\": true"));
  if (!into.empty()) streams::validate_name(streams::name_kind::topic, into);
  if (into == o.topic) throw api_failure(invalid_argument("into_topic must differ from topic"));
  const auto started = ctx.replays.start(std::move(o), std::move(into));
  using refusal = replay_jobs::refusal;
  if (started.refused == refusal::not_running)
    throw api_failure({503, "unavailable", "replays cannot start: the dashboard is not running"});
  if (started.refused == refusal::too_many)
    throw api_failure({429, "too_many_replays",
                       "already " + std::to_string(ctx.config.max_replays) + " replays running"});
  co_return json::object{{"id", started.id}};
}

asio::awaitable<json::value> cancel_replay(api_context& ctx, const http::request& req, const query_map&) {
  const auto body = parse_body(req.body, replay_cancel_fields);
  const auto id = optional_integer(body, "id", UINT64_MAX);
  if (!id) throw api_failure(invalid_argument("field \"id\" is required"));
  if (!ctx.replays.find(*id)) throw api_failure(not_found("no replay " + std::to_string(*id)));
  co_return json::object{{"cancelled", ctx.replays.cancel(*id)}};
}

const api_route routes[] = {
    {"dead-letters/requeue", requeue},  {"dead-letters/purge", purge},
    {"delayed/cancel", cancel_delayed}, {"recurring/pause", pause},
    {"recurring/resume", resume},       {"replay/start", start_replay},
    {"replay/cancel", cancel_replay},
};

}  // namespace

std::span<const api_route> mutation_routes() { return routes; }

std::string body_topic(const json::object& body, std::string_view name) {
  return valid_topic(required_string(body, name));
}

std::string body_group(const json::object& body) { return valid_group(required_string(body, "group")); }

std::string body_entry_id(const json::object& body, std::string_view name) {
  return valid_entry_id(required_string(body, name), name);
}

}  // namespace streamq::dashboard::detail

// The API's reads (GET): session, overview, pending entries, dead letters, one message, one
// dead letter, replays; api/topic is in topic_api.cpp. Every Redis request is built and
// decoded in lib/streams/commands/ or made by the library's own components.
#include "api.hpp"

#include <streamq/admin/topics.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>

#include "commands/delivery_requests.hpp"
#include "commands/replay_requests.hpp"
#include "commands/send_command.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <charconv>

namespace streamq::dashboard::detail {

namespace asio = boost::asio;
namespace json = boost::json;
namespace sd = streams::detail;

std::optional<std::string> query_value(const query_map& query, std::string_view name) {
  const auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

namespace {

std::string required(const query_map& query, std::string_view name) {
  auto v = query_value(query, name);
  if (!v) throw api_failure(invalid_argument("query parameter \"" + std::string(name) + "\" is required"));
  return std::move(*v);
}

std::size_t query_count(const query_map& query) {
  const auto count = parse_count(query_value(query, "count"), 100);
  if (!count)
    throw api_failure(invalid_argument("count must be a number from 1 to " + std::to_string(max_count)));
  return *count;
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::value message_json(const v1::Envelope& envelope, const admin::payload_renderer& r) {
  return from_text(admin::envelope_json(envelope, &r));
}

json::object letter_json(const streams::dead_letter_entry& e) {
  json::object o{{"id", e.id}, {"decoded", e.decoded}};
  if (!e.decoded) {
    o["problem"] = e.error.message();
    return o;
  }
  const auto& l = e.letter;
  o["entry_id"] = l.original_entry_id();
  o["type"] = l.envelope().type();
  o["attempts"] = l.attempts();
  o["error"] = l.last_error();
  o["error_code"] = l.error_code();
  o["consumer"] = l.consumer();
  o["dead_at_ms"] = l.dead_lettered_at_unix_ms();
  return o;
}

asio::awaitable<json::value> session(api_context& ctx, const http::request&, const query_map&) {
  const bool enabled = !ctx.config.read_only && !ctx.config.token.empty();
  co_return json::object{{"read_only", ctx.config.read_only},
                         {"mutations_enabled", enabled},
                         {"version", STREAMQ_DASHBOARD_VERSION}};
}

asio::awaitable<json::value> overview(api_context& ctx, const http::request&, const query_map&) {
  const auto topics = co_await admin::async_list_topics(ctx.c, ctx.config.key_prefix);
  json::array items;
  for (const auto& t : topics)
    items.push_back(json::object{{"topic", t.topic},
                                 {"partitions", t.partitions},
                                 {"length", t.length},
                                 {"entries_added", or_null(t.entries_added)},
                                 {"groups", t.groups},
                                 {"lag", or_null(t.lag)},
                                 {"lag_is_lower_bound", t.lag_is_lower_bound},
                                 {"pending", t.pending},
                                 {"oldest_pending_age_ms", or_null(t.oldest_pending_age_ms)},
                                 {"dead_letters", t.dead_letters},
                                 {"delayed", t.delayed}});
  co_return json::object{{"time_ms", unix_ms_now()}, {"topics", std::move(items)}};
}

asio::awaitable<json::value> pending(api_context& ctx, const http::request&, const query_map& query) {
  const streams::topic_keys keys(query_topic(query, "topic"), ctx.config.key_prefix);
  const auto group = query_group(query);
  const auto count = query_count(query);
  const std::string none;
  const sd::group_ref ref{&keys, &group, &none, &none, &none, nullptr};
  const std::string start = "-";
  std::vector<sd::pending_row> rows;
  const auto sent = co_await sd::send_command(
      ctx.c,
      [&](resp::request& req) {
        sd::build_pending_entries(req, ref, std::chrono::milliseconds(0), start, count, none);
      },
      [&](const resp::value& v) { return sd::decode_pending_entries(v, rows); });
  if (!sent) sd::throw_failure(sent);
  json::array entries;
  for (const auto& r : rows)
    entries.push_back(json::object{
        {"id", r.id}, {"consumer", r.owner}, {"idle_ms", r.idle_ms}, {"deliveries", r.deliveries}});
  co_return json::object{{"entries", std::move(entries)}};
}

asio::awaitable<json::value> dead_letter_list(api_context& ctx, const http::request&,
                                              const query_map& query) {
  streams::dead_letters letters(ctx.c, query_topic(query, "topic"), query_group(query),
                                ctx.config.key_prefix);
  const auto count = query_count(query);
  auto after = query_value(query, "after").value_or("-");
  if (after != "-") after = valid_entry_id(std::move(after), "after");
  const auto entries = co_await letters.async_list(count, after);
  json::array items;
  for (const auto& e : entries) items.push_back(letter_json(e));
  co_return json::object{{"dead_letters", std::move(items)}};
}

asio::awaitable<json::value> message(api_context& ctx, const http::request&, const query_map& query) {
  const streams::topic_keys keys(query_topic(query, "topic"), ctx.config.key_prefix);
  const auto id = query_entry_id(query, "id");
  std::vector<sd::stream_entry> entries;
  const auto sent = co_await sd::send_command(
      ctx.c, [&](resp::request& req) { sd::build_replay_page(req, keys.stream(), id, id, 1); },
      [&](const resp::value& v) { return sd::decode_replay_page(v, entries); });
  if (!sent) sd::throw_failure(sent);
  if (entries.empty()) throw api_failure(not_found("no entry " + id + " in topic " + keys.topic()));
  v1::Envelope envelope;
  if (const auto ec = streams::decode_entry(entries.front().fields, envelope))
    co_return json::object{{"id", id}, {"decoded", false}, {"problem", ec.message()}};
  auto out = message_json(envelope, ctx.renderer);
  out.as_object()["id"] = id;
  out.as_object()["decoded"] = true;
  co_return out;
}

asio::awaitable<json::value> dead_letter(api_context& ctx, const http::request&,
                                         const query_map& query) {
  streams::dead_letters letters(ctx.c, query_topic(query, "topic"), query_group(query),
                                ctx.config.key_prefix);
  const auto id = query_entry_id(query, "id");
  const auto entry = co_await letters.async_get(id);
  if (!entry) throw api_failure(not_found("no dead letter " + id));
  auto out = letter_json(*entry);
  if (entry->decoded && entry->letter.has_envelope())
    out["message"] = message_json(entry->letter.envelope(), ctx.renderer);
  else
    out["message"] = nullptr;
  co_return out;
}

asio::awaitable<json::value> replays(api_context& ctx, const http::request&, const query_map&) {
  json::array items;
  for (const auto& s : ctx.replays.list()) items.push_back(replay_json(s));
  co_return json::object{{"replays", std::move(items)}};
}

asio::awaitable<json::value> replay(api_context& ctx, const http::request&, const query_map& query) {
  const auto text = required(query, "id");
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size())
    throw api_failure(invalid_argument("id must be a replay's number"));
  const auto status = ctx.replays.find(id);
  if (!status) throw api_failure(not_found("no replay " + text));
  co_return replay_json(*status);
}

const api_route routes[] = {
    {"session", session},          {"overview", overview},
    {"topic", topic_detail},       {"pending", pending},
    {"dead-letters", dead_letter_list}, {"message", message},
    {"dead-letter", dead_letter},  {"replays", replays},
    {"replay", replay},
};

}  // namespace

std::span<const api_route> read_routes() { return routes; }

std::string query_topic(const query_map& query, std::string_view name) {
  return valid_topic(required(query, name));
}

std::string query_group(const query_map& query) { return valid_group(required(query, "group")); }

std::string query_entry_id(const query_map& query, std::string_view name) {
  return valid_entry_id(required(query, name), name);
}

std::string valid_topic(std::string topic) {
  streams::validate_name(streams::name_kind::topic, topic);
  return topic;
}

std::string valid_group(std::string group) {
  streams::validate_name(streams::name_kind::group, group);
  return group;
}

std::string valid_entry_id(std::string id, std::string_view what) {
  if (!is_entry_id(id))
    throw api_failure(invalid_argument(std::string(what) + " must be an entry ID (ms-seq)"));
  return id;
}

json::value replay_json(const replay_status& s) {
  return json::object{{"id", s.id},
                      {"state", state_name(s.what)},
                      {"topic", s.topic},
                      {"into_topic", s.into_topic.empty() ? json::value(nullptr) : json::value(s.into_topic)},
                      {"dry_run", s.dry_run},
                      {"scanned", s.scanned},
                      {"replayed", s.replayed},
                      {"last_position", s.last_position.empty() ? json::value(nullptr) : json::value(s.last_position)},
                      {"error", s.error ? json::value(*s.error) : json::value(nullptr)}};
}

}  // namespace streamq::dashboard::detail

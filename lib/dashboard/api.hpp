#pragma once
// The dashboard's JSON API (docs/dashboard.md): one handler per route, found by name in two
// tables, reads (GET) and changes (POST). dashboard.cpp routes a request to a handler after
// the checks every request of its kind needs (query parsed; for a change, check_mutation) and
// turns what the handler throws (api_failure, std::invalid_argument, system_error) into the
// documented status and {"error","code"} body.

#include "json.hpp"
#include "replay_jobs.hpp"

#include <streamq/admin/payload_json.hpp>
#include <streamq/client.hpp>
#include <streamq/dashboard/dashboard.hpp>
#include <streamq/http/endpoint.hpp>
#include <streamq/streams/scheduler.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <span>
#include <string>
#include <string_view>

namespace streamq::dashboard::detail {

// What every handler may use; owned by dashboard_impl.
struct api_context {
  client& c;
  const dashboard_config& config;
  const admin::payload_renderer& renderer;
  streams::scheduler& scheduler;  // for its delayed and recurring task calls (never run)
  replay_jobs& replays;
};

using query_map = std::map<std::string, std::string>;

// `query` is the parsed query string of a read; a change reads req.body itself (parse_body).
using api_handler = boost::asio::awaitable<boost::json::value> (*)(api_context& ctx,
                                                                   const http::request& req,
                                                                   const query_map& query);
struct api_route {
  std::string_view name;  // the path after "api/": "overview", "dead-letters/requeue"
  api_handler handler;
};

[[nodiscard]] std::span<const api_route> read_routes();      // GET (and HEAD)
[[nodiscard]] std::span<const api_route> mutation_routes();  // POST

// A topic or group name (streams::validate_name: std::invalid_argument, so 400), an entry ID
// (is_entry_id; `what` names it in the refusal): returned when valid.
[[nodiscard]] std::string valid_topic(std::string topic);
[[nodiscard]] std::string valid_group(std::string group);
[[nodiscard]] std::string valid_entry_id(std::string id, std::string_view what);

// Query parameters, checked: the value of `name` or nullopt; a topic or group name
// (streams::validate_name; missing: 400); an entry ID (is_entry_id; missing: 400).
[[nodiscard]] std::optional<std::string> query_value(const query_map& query, std::string_view name);
[[nodiscard]] std::string query_topic(const query_map& query, std::string_view name);
[[nodiscard]] std::string query_group(const query_map& query);
[[nodiscard]] std::string query_entry_id(const query_map& query, std::string_view name);

// Body fields, checked as the query's are.
[[nodiscard]] std::string body_topic(const boost::json::object& body, std::string_view name);
[[nodiscard]] std::string body_group(const boost::json::object& body);
[[nodiscard]] std::string body_entry_id(const boost::json::object& body, std::string_view name);

// The JSON of one replay's status (api/replay, api/replays).
[[nodiscard]] boost::json::value replay_json(const replay_status& s);

// api/topic: a topic's streams, groups, consumers, delayed and recurring tasks.
boost::asio::awaitable<boost::json::value> topic_detail(api_context& ctx, const http::request& req,
                                                        const query_map& query);

}  // namespace streamq::dashboard::detail

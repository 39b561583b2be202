// The dashboard: its configuration, its routes on an http::endpoint, and the answer to every
// request (a page file, an API call, or a refusal). See dashboard.hpp and docs/dashboard.md.
#include <streamq/dashboard/dashboard.hpp>

#include "api.hpp"
#include "assets.hpp"
#include "json.hpp"
#include "replay_jobs.hpp"
#include "rules.hpp"

#include <streamq/admin/error.hpp>
#include <streamq/http/endpoint.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <stdexcept>

namespace streamq::dashboard {

namespace asio = boost::asio;

void dashboard_config::validate() const {
  const auto invalid = [](const char* field, const std::string& why) {
    return std::invalid_argument(std::string("streamq dashboard_config.") + field + ": " + why);
  };
  (void)detail::normalise_prefix(prefix);  // throws naming the field
  if (max_replays == 0) throw invalid("max_replays", "must be > 0");
  if (kept_replays == 0) throw invalid("kept_replays", "must be > 0");
  if (request_timeout <= std::chrono::milliseconds::zero())
    throw invalid("request_timeout", "must be positive");
  for (const auto& host : allowed_hosts)
    if (host.empty() || host.find_first_of(" \t\r\n:/") != std::string::npos)
      throw invalid("allowed_hosts", "'" + host + "' is not a host name");
  if (const auto problem = streams::key_prefix_problem(key_prefix); !problem.empty())
    throw invalid("key_prefix", problem);
  // It travels in a header: visible ASCII only (no spaces, no line breaks).
  if (!std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; }))
    throw invalid("token", "may hold only visible ASCII characters (no spaces)");
}

namespace detail {

namespace {

http::response json_answer(unsigned status, std::string body) {
  return http::response{status, "application/json", std::move(body), security_headers(false, true)};
}

http::response error_answer(const api_error& e) { return json_answer(e.status, error_text(e)); }

http::response method_not_allowed(std::string message, std::string allow) {
  auto r = error_answer({405, "method_not_allowed", std::move(message)});
  r.headers.push_back({"Allow", std::move(allow)});
  return r;
}

// What a failure of the Redis work behind a request means to the page.
api_error error_of_code(const boost::system::error_code& ec, const std::string& text) {
  if (ec == boost::system::errc::no_such_file_or_directory || ec == resp::server_errc::nogroup ||
      ec == admin::errc::topic_not_found)
    return not_found(text);
  if (ec == streams::errc::invalid_argument || ec == streams::errc::invalid_name)
    return invalid_argument(text);
  if (ec == streams::errc::entry_gone || ec == streams::errc::malformed_entry)
    return {409, "conflict", text};
  if (ec == redis::client_errc::not_connected || ec == redis::client_errc::shut_down ||
      ec == redis::client_errc::connect_timeout)
    return {503, "not_connected", "not connected to Redis: " + ec.message()};
  return {502, "redis_error", text};
}

}  // namespace

class dashboard_impl {
 public:
  dashboard_impl(client& c, http::endpoint& ep, dashboard_config config)
      : client_(c),
        config_((config.validate(), std::move(config))),
        prefix_(normalise_prefix(config_.prefix)),
        scheduler_(c, scheduler_config_of(config_)),
        replays_(c, config_.max_replays, config_.kept_replays, config_.log),
        ctx_{c, config_, renderer_, scheduler_, replays_} {
    for (const auto& f : config_.descriptor_sets) renderer_.add_descriptor_set(f);
    for (const auto& f : config_.protos) renderer_.add_proto(f, config_.proto_paths);
    ep.prefix_route(prefix_ + "/", [this](const http::request& req) { return handle(req); },
                    {"GET", "HEAD", "POST"});
    // "/dashboard" without its slash: the page's relative URLs need the slash.
    if (!prefix_.empty())
      ep.route(prefix_, http::sync_handler([this](const http::request&) {
                 auto r = http::response{308, "text/plain; charset=utf-8", "", security_headers(false, false)};
                 r.headers.push_back({"Location", prefix_ + "/"});
                 return r;
               }));
  }

  asio::awaitable<http::response> handle(const http::request& req) {
    if (!host_allowed(req, config_.allowed_hosts))
      co_return error_answer({403, "bad_host", "this dashboard does not answer to that Host name"});
    const auto target = classify_path(req.path, prefix_);
    if (!target || target->what == route_target::kind::redirect)
      co_return error_answer(not_found("no such page"));
    if (target->what == route_target::kind::asset) co_return serve_asset(req, target->rest);
    co_return co_await serve_api(req, target->rest);
  }

  client& client_;
  dashboard_config config_;
  std::string prefix_;
  admin::payload_renderer renderer_;
  streams::scheduler scheduler_;
  replay_jobs replays_;
  api_context ctx_;

 private:
  static streams::scheduler_config scheduler_config_of(const dashboard_config& config) {
    streams::scheduler_config s;
    s.key_prefix = config.key_prefix;
    s.log = config.log;
    return s;
  }

  http::response serve_asset(const http::request& req, std::string_view name) const {
    if (req.method == "POST") return method_not_allowed("POST is for api/ only", "GET, HEAD");
    const auto file = find_asset(name);
    if (!file)
      return http::response{404, "text/plain; charset=utf-8", "not found\n", security_headers(false, false)};
    const bool html = file->content_type.starts_with("text/html");
    return http::response{200, std::string(file->content_type), std::string(file->bytes),
                          security_headers(html, false)};
  }

  asio::awaitable<http::response> serve_api(const http::request& req, std::string_view name) {
    const bool post = req.method == "POST";
    const auto find = [&](std::span<const api_route> routes) -> const api_route* {
      const auto it = std::find_if(routes.begin(), routes.end(),
                                   [&](const api_route& r) { return r.name == name; });
      return it == routes.end() ? nullptr : &*it;
    };
    const api_route* read = find(read_routes());
    const api_route* change = find(mutation_routes());
    if (read == nullptr && change == nullptr) co_return error_answer(not_found("no such API route"));
    if (post && change == nullptr)
      co_return method_not_allowed("this route answers GET only", "GET, HEAD");
    if (!post && read == nullptr)
      co_return method_not_allowed("this route changes things: use POST", "POST");
    const auto route = post ? change : read;
    const auto query = parse_query(req.query);
    if (!query) co_return error_answer(invalid_argument("malformed query string"));
    if (post) {
      if (auto refused = check_mutation(req, config_.read_only, config_.token)) {
        config_.log.log(log_level::warning, "dashboard", "change_refused", refused->message,
                        {{"route", name}, {"code", refused->code}, {"remote", req.remote_address}});
        co_return error_answer(*refused);
      }
    }
    std::optional<api_error> failed;
    boost::json::value answer;
    try {
      answer = co_await with_deadline(route->handler(ctx_, req, *query), config_.request_timeout);
    } catch (const api_failure& e) {
      failed = e.error();
    } catch (const std::invalid_argument& e) {
      failed = invalid_argument(e.what());
    } catch (const boost::system::system_error& e) {
      failed = error_of_code(e.code(), e.what());
    } catch (const std::exception& e) {
      config_.log.log(log_level::error, "dashboard", "request_failed", e.what(), {{"route", name}});
      failed = api_error{500, "internal", "internal error (logged)"};
    }
    if (failed) co_return error_answer(*failed);
    if (post)
      config_.log.log(log_level::info, "dashboard", "changed", "change made from the dashboard",
                      {{"route", name}, {"remote", req.remote_address}, {"body", req.body}});
    co_return json_answer(200, to_text(answer));
  }
};

}  // namespace detail

dashboard::dashboard(client& c, http::endpoint& ep, dashboard_config config)
    : impl_(std::make_unique<detail::dashboard_impl>(c, ep, std::move(config))) {}

dashboard::~dashboard() = default;

asio::awaitable<void> dashboard::run() { return impl_->replays_.run(); }

void dashboard::stop() noexcept { impl_->replays_.stop(); }

const dashboard_config& dashboard::config() const noexcept { return impl_->config_; }

std::size_t dashboard::running_replays() const noexcept { return impl_->replays_.running(); }

asio::any_io_executor dashboard::executor() const { return impl_->client_.get_executor(); }

}  // namespace streamq::dashboard

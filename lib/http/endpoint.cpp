// http::endpoint: its configuration's checks, and the public class, which forwards to
// endpoint_impl (endpoint_impl.hpp).
#include <streamq/http/endpoint.hpp>

#include "endpoint_impl.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace streamq::http {

namespace {

[[noreturn]] void invalid(std::string_view field, std::string_view why) {
  throw std::invalid_argument("streamq endpoint_config." + std::string(field) + ": " +
                              std::string(why));
}

void require_positive(std::string_view field, std::chrono::milliseconds value) {
  if (value.count() <= 0) invalid(field, "must be positive");
}

}  // namespace

void endpoint_config::validate() const {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(address, ec);
  if (ec) invalid("address", "'" + address + "' is not an IPv4 or IPv6 address");
  if (max_connections == 0) invalid("max_connections", "must be > 0");
  if (header_limit == 0) invalid("header_limit", "must be > 0");
  require_positive("request_timeout", request_timeout);
  require_positive("write_timeout", write_timeout);
  require_positive("idle_timeout", idle_timeout);
  require_positive("linger_timeout", linger_timeout);
  if (max_requests_per_connection == 0) invalid("max_requests_per_connection", "must be > 0");
}

std::optional<std::string_view> request::find_header(std::string_view name) const {
  for (const auto& h : headers)
    if (detail::iequals(h.name, name)) return std::string_view(h.value);
  return std::nullopt;
}

void detail::service::log_problem(std::string_view event, std::string_view why,
                                  std::string_view remote, unsigned status) const noexcept {
  if (!config.log.enabled(log_level::debug)) return;
  const std::string status_text = std::to_string(status);
  config.log.log(log_level::debug, "http", event, why,
                 {{"remote", remote}, {"status", status_text}});
}

endpoint::endpoint(boost::asio::any_io_executor executor, endpoint_config config) {
  config.validate();
  impl_ = std::make_unique<detail::endpoint_impl>(std::move(executor), std::move(config));
}

endpoint::~endpoint() = default;

void endpoint::route(std::string path, handler h, method_list methods) {
  impl_->add_route(std::move(path), false, std::move(h), std::move(methods));
}

void endpoint::route(std::string path, sync_handler h, method_list methods) {
  if (!h) throw std::invalid_argument("streamq endpoint route '" + path + "': empty handler");
  handler async = [h = std::move(h)](const request& req) -> boost::asio::awaitable<response> {
    co_return h(req);
  };
  impl_->add_route(std::move(path), false, std::move(async), std::move(methods));
}

void endpoint::prefix_route(std::string prefix, handler h, method_list methods) {
  impl_->add_route(std::move(prefix), true, std::move(h), std::move(methods));
}

std::uint16_t endpoint::port() const noexcept {
  return impl_->local_endpoint().port();
}

boost::asio::ip::tcp::endpoint endpoint::local_endpoint() const noexcept {
  return impl_->local_endpoint();
}

boost::asio::awaitable<void> endpoint::run() {
  return impl_->run();
}

void endpoint::stop() noexcept {
  impl_->stop();
}

endpoint_stats endpoint::stats() const noexcept {
  return impl_->stats();
}

const endpoint_config& endpoint::config() const noexcept {
  return impl_->config();
}

boost::asio::any_io_executor endpoint::executor() const {
  return impl_->executor();
}

}  // namespace streamq::http

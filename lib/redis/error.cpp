#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>  // registers the ssl category

namespace streamq::redis {
namespace {

// boost::system::error_category has a protected non-virtual destructor by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class client_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "streamq.redis.client"; }
  std::string message(int ev) const override {
    switch (static_cast<client_errc>(ev)) {
      case client_errc::outcome_unknown:
        return "connection lost after the request was written; its outcome is unknown";
      case client_errc::not_connected:
        return "not connected to Redis";
      case client_errc::blocking_command_on_shared_connection:
        return "blocking command refused on a shared pipelined connection";
      case client_errc::response_size_mismatch:
        return "response expects a different number of replies than the request has";
      case client_errc::empty_request:
        return "request has no command";
      case client_errc::timeout:
        return "deadline expired";
      case client_errc::health_check_timeout:
        return "health check PING was not answered in time";
      case client_errc::connect_timeout:
        return "connecting to Redis timed out";
      case client_errc::unexpected_reply:
        return "server sent a reply nobody asked for";
      case client_errc::shut_down:
        return "connection shut down";
      case client_errc::invalid_url:
        return "malformed Redis URL";
      case client_errc::cross_slot:
        return "request refused: its keys are in different cluster hash slots";
      case client_errc::cluster_unavailable:
        return "no cluster node could take the request in time";
      case client_errc::not_master:
        return "the node the sentinels named is not a master";
      case client_errc::sentinel_unavailable:
        return "no sentinel named the master";
    }
    return "unknown streamq client error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& client_category() noexcept {
  static const client_category_impl instance;
  return instance;
}

bool is_retryable(const error_code& ec) noexcept {
  if (ec == client_errc::not_connected || ec == client_errc::health_check_timeout ||
      ec == client_errc::connect_timeout || ec == client_errc::cluster_unavailable ||
      ec == client_errc::not_master || ec == client_errc::sentinel_unavailable)
    return true;
  // A std::error_code inside a boost one keeps neither its category nor its value as
  // such: convert back before looking at them.
  const std::error_code std_ec = ec;
  if (std_ec.category() == resp::server_category())
    return resp::is_transient(static_cast<resp::server_errc>(std_ec.value()));
  return false;
}

bool is_fatal(const error_code& ec) noexcept {
  if (ec == resp::server_errc::wrongpass || ec == resp::server_errc::noauth ||
      ec == resp::server_errc::noperm || ec == client_errc::invalid_url)
    return true;
  // Certificate and TLS protocol mismatches do not heal by reconnecting (a TLS stream cut
  // short is a stream-category error and stays retryable).
  return ec.category() == boost::asio::error::get_ssl_category();
}

}  // namespace streamq::redis

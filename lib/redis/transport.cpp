#include "transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

namespace streamq::redis::detail {
namespace asio = boost::asio;
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::unique_ptr<asio::ssl::context> make_tls_context(const tls_config& tls,
                                                     const std::string& host) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  if (tls.ca_file.empty())
    ctx->set_default_verify_paths();
  else
    ctx->load_verify_file(tls.ca_file);
  if (!tls.cert_file.empty()) {
    ctx->use_certificate_chain_file(tls.cert_file);
    ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem);
  }
  if (tls.verify_peer) {
    ctx->set_verify_mode(asio::ssl::verify_peer);
    ctx->set_verify_callback(
        asio::ssl::host_name_verification(tls.server_name.empty() ? host : tls.server_name));
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  return ctx;
}

}  // namespace

transport::transport(executor_type ex, const connection_config& config)
    : ex_(std::move(ex)), config_(config) {
  // Bad certificate paths surface here, at construction, not on the first connect.
  if (config_.tls.enabled) tls_context_ = make_tls_context(config_.tls, config_.host);
}

void transport::set_target(std::string host, std::uint16_t port) {
  target_host_ = std::move(host);
  target_port_ = port;
}

asio::awaitable<error_code> transport::connect() {
  close();
  if (!config_.unix_socket.empty()) {
    auto& sock = stream_.emplace<unix_socket>(ex_);
    auto [ec] = co_await sock.async_connect(
        asio::local::stream_protocol::endpoint(config_.unix_socket), use_tuple);
    co_return ec;
  }

  const bool retargeted = !target_host_.empty();
  const std::string& host = retargeted ? target_host_ : config_.host;
  const std::uint16_t port = retargeted ? target_port_ : config_.port;
  asio::ip::tcp::resolver resolver(ex_);
  auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
  if (rec) co_return rec;

  tcp_socket* sock = nullptr;
  if (tls_context_) {
    sock = &stream_.emplace<tls_stream>(ex_, *tls_context_).next_layer();
  } else {
    sock = &stream_.emplace<tcp_socket>(ex_);
  }
  auto [cec, ep] = co_await asio::async_connect(*sock, endpoints, use_tuple);
  if (cec) co_return cec;
  // Requests are batched by the pipeline already; Nagle would only add latency.
  error_code ignored;
  sock->set_option(asio::ip::tcp::no_delay(true), ignored);

  if (auto* tls = std::get_if<tls_stream>(&stream_)) {
    const std::string& sni = config_.tls.server_name.empty() ? host : config_.tls.server_name;
    // The context verifies config_.host; a retargeted stream verifies its own host.
    if (retargeted && config_.tls.verify_peer && config_.tls.server_name.empty())
      tls->set_verify_callback(asio::ssl::host_name_verification(host));
    // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
    if (SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(sni.c_str())) != 1)
      co_return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, use_tuple);
    co_return hec;
  }
  co_return error_code{};
}

asio::awaitable<std::tuple<error_code, std::size_t>> transport::read_some(
    asio::mutable_buffer buffer) {
  switch (stream_.index()) {
    case 1:
      co_return co_await std::get<1>(stream_).async_read_some(buffer, use_tuple);
    case 2:
      co_return co_await std::get<2>(stream_).async_read_some(buffer, use_tuple);
    case 3:
      co_return co_await std::get<3>(stream_).async_read_some(buffer, use_tuple);
    default:
      co_return std::tuple{error_code(asio::error::not_connected), std::size_t{0}};
  }
}

asio::awaitable<error_code> transport::write(asio::const_buffer buffer) {
  std::tuple<error_code, std::size_t> r;
  switch (stream_.index()) {
    case 1:
      r = co_await asio::async_write(std::get<1>(stream_), buffer, use_tuple);
      break;
    case 2:
      r = co_await asio::async_write(std::get<2>(stream_), buffer, use_tuple);
      break;
    case 3:
      r = co_await asio::async_write(std::get<3>(stream_), buffer, use_tuple);
      break;
    default:
      co_return error_code(asio::error::not_connected);
  }
  co_return std::get<0>(r);
}

void transport::close() noexcept {
  error_code ignored;
  switch (stream_.index()) {
    case 1:
      std::get<1>(stream_).close(ignored);
      break;
    case 2:
      std::get<2>(stream_).lowest_layer().close(ignored);
      break;
    case 3:
      std::get<3>(stream_).close(ignored);
      break;
    default:
      break;
  }
}

}  // namespace streamq::redis::detail

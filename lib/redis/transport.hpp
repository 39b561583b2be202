#pragma once
// The byte pipe under a connection: TCP, TLS over TCP, or a Unix socket, chosen per
// configuration and recreated on every connect (a TLS stream cannot be reused).

#include <streamq/redis/config.hpp>
#include <streamq/redis/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <variant>

namespace streamq::redis::detail {

class transport {
 public:
  using executor_type = boost::asio::any_io_executor;

  transport(executor_type ex, const connection_config& config);

  // Resolves, connects and (for TLS) handshakes. No timeout of its own: the caller races it.
  boost::asio::awaitable<error_code> connect();
  // Sentinel mode: later connects go to host:port instead of the configured address; the
  // server certificate is verified against (and SNI names) `host` unless tls.server_name is set.
  void set_target(std::string host, std::uint16_t port);
  boost::asio::awaitable<std::tuple<error_code, std::size_t>> read_some(
      boost::asio::mutable_buffer buffer);
  boost::asio::awaitable<error_code> write(boost::asio::const_buffer buffer);
  // Closes the socket at once (no TLS close_notify: the peer may be dead).
  void close() noexcept;

 private:
  using tcp_socket = boost::asio::ip::tcp::socket;
  using tls_stream = boost::asio::ssl::stream<tcp_socket>;
  using unix_socket = boost::asio::local::stream_protocol::socket;

  executor_type ex_;
  const connection_config& config_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::variant<std::monostate, tcp_socket, tls_stream, unix_socket> stream_;
  std::string target_host_;  // empty: config_.host and config_.port
  std::uint16_t target_port_ = 0;
};

}  // namespace streamq::redis::detail

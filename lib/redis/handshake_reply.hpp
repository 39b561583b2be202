#pragma once
// The replies of a connection's handshake (HELLO, AUTH, CLIENT SETNAME, SELECT): the first
// error among them (the session is then unusable), and from a RESP3 HELLO reply (a map) the
// server's name and version. Pure: no Asio.

#include <streamq/redis/server_info.hpp>
#include <streamq/resp/response.hpp>

#include <cstddef>
#include <string>
#include <system_error>

namespace streamq::redis {

class handshake_reply final : public resp::response_adapter {
 public:
  // `hello_reply`: the index of the HELLO reply among the handshake's replies (none: npos).
  explicit handshake_reply(std::size_t hello_reply) noexcept : hello_(hello_reply) {}
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  void on_start() override;
  void on_node(std::size_t reply, const resp::node& n) override;

  [[nodiscard]] const std::error_code& first_error() const noexcept { return errors_.first_error(); }
  // The server as HELLO described it (empty when it did not, or was not asked).
  [[nodiscard]] const server_info& server() const noexcept { return server_; }

 private:
  enum class field : unsigned char { other, server, version };
  std::size_t hello_;
  resp::ignore_response errors_;
  server_info server_;
  std::size_t fields_seen_ = 0;  // top-level map entries of the HELLO reply, keys and values
  field pending_ = field::other;  // the key just read, whose value comes next
};

}  // namespace streamq::redis

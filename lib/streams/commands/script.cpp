#include "commands/script.hpp"

#include <streamq/resp/error.hpp>

#include <streamq_lua_scripts.hpp>

#include <openssl/evp.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <stdexcept>
#include <string>

namespace streamq::streams::detail {
namespace {

std::string digest_hex(const EVP_MD* md, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, md, nullptr) != 1)
    throw std::runtime_error("streamq: OpenSSL digest failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0x0f];
  }
  return out;
}

// The one test of "nothing ran: send it again by source", for single calls and pipelines.
bool answered_noscript(const std::error_code& reply_error) {
  return reply_error == resp::server_errc::noscript;
}

bool answered_noscript(const resp::value& reply) {
  return reply.is_error() && answered_noscript(resp::classify_server_error(reply.text));
}

}  // namespace

lua_script::lua_script(const lua::script_source& source)
    : source_(source.text),
      sha1_(source.sha1),
      name_(source.name),
      keys_(source.keys),
      more_keys_(source.more_keys) {}

void lua_script::check_keys(std::size_t keys) const {
  if (name_.empty() || keys == keys_ || (more_keys_ && keys > keys_)) return;
  throw std::logic_error("streamq: Lua script " + std::string(name_) + " called with " +
                         std::to_string(keys) + " keys");
}

boost::asio::awaitable<error_code> exec_script(client& c, resp::response_adapter& reply,
                                               const std::error_code& reply_error,
                                               script_call build) {
  for (int pass = 0; pass < 2; ++pass) {
    const bool by_source = pass == 1;
    resp::request req;
    build(req, by_source);
    auto [ec] =
        co_await c.async_exec(req, reply, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec || by_source || !answered_noscript(reply_error)) co_return ec;
  }
  co_return error_code{};  // not reached: the second pass returns
}

script_pipeline::script_pipeline(std::size_t calls, std::size_t trailer)
    : trailer_(trailer), next_(calls), replies_(calls), answered_in_(calls, 0) {
  for (std::size_t i = 0; i < calls; ++i) next_[i] = i;
}

bool script_pipeline::on_replies(std::vector<resp::value>&& replies) {
  if (done()) return false;
  if (replies.size() != next_.size() + trailer_) {
    next_.clear();
    return false;
  }
  const bool first = rounds_ == 0;
  ++rounds_;
  std::vector<std::size_t> again;
  for (std::size_t k = 0; k < next_.size(); ++k) {
    const std::size_t call = next_[k];
    // By source, a NOSCRIPT cannot come (EVAL carries the script); if one did, it stands.
    if (first && answered_noscript(replies[k])) {
      again.push_back(call);
      continue;
    }
    replies_[call] = std::move(replies[k]);
    answered_in_[call] = rounds_;
  }
  for (std::size_t k = next_.size(); k < replies.size(); ++k)
    trailers_.push_back(std::move(replies[k]));
  next_ = std::move(again);
  return true;
}

std::span<const resp::value> script_pipeline::trailer(std::size_t round) const {
  if (round == 0 || round > rounds_) return {};
  return std::span<const resp::value>(trailers_).subspan((round - 1) * trailer_, trailer_);
}

std::string sha1_hex(std::string_view data) {
  return digest_hex(EVP_sha1(), data);
}

std::string sha256_hex(std::string_view data) {
  return digest_hex(EVP_sha256(), data);
}

}  // namespace streamq::streams::detail

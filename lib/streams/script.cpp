#include "script.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

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

}  // namespace

lua_script::lua_script(std::string_view source) : source_(source), sha1_(sha1_hex(source)) {}

std::string sha1_hex(std::string_view data) {
  return digest_hex(EVP_sha1(), data);
}

std::string sha256_hex(std::string_view data) {
  return digest_hex(EVP_sha256(), data);
}

}  // namespace streamq::streams::detail

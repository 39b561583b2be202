#pragma once
// Lua scripts run by SHA (EVALSHA), with their source at hand for the one retry a server that
// does not know them yet (fresh, restarted, flushed) needs: NOSCRIPT means nothing ran, so
// sending EVAL next is always safe, even for scripts that write.

#include <streamq/resp/request.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace streamq::streams::detail {

class lua_script {
 public:
  explicit lua_script(std::string_view source);

  [[nodiscard]] std::string_view source() const noexcept { return source_; }
  [[nodiscard]] const std::string& sha1() const noexcept { return sha1_; }

  // Appends EVALSHA <sha1> (or, with `by_source`, EVAL <source>) followed by `args` (the key
  // count, keys marked resp::key, then arguments), as request::push does.
  template <class... Args>
  void push(resp::request& req, bool by_source, Args&&... args) const {
    if (by_source)
      req.push("EVAL", source_, std::forward<Args>(args)...);
    else
      req.push("EVALSHA", sha1_, std::forward<Args>(args)...);
  }

 private:
  std::string_view source_;
  std::string sha1_;
};

// Lower-case hex SHA-1 and SHA-256 of `data` (OpenSSL).
[[nodiscard]] std::string sha1_hex(std::string_view data);
[[nodiscard]] std::string sha256_hex(std::string_view data);

}  // namespace streamq::streams::detail

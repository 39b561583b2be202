#pragma once
// What a connection learned about its server at the handshake: the `server` and `version`
// fields of the HELLO reply ("redis" 7.0.15, "valkey" 8.0.1). Newer commands are used behind
// this probe, with the 7.0 path kept (docs/wire-format.md lists which).
//
// Std only.

#include <string>
#include <string_view>

namespace streamq::redis {

struct server_info {
  std::string name;     // HELLO's `server`: "redis", "valkey"; empty until a RESP3 handshake
  std::string version;  // HELLO's `version`, as sent
  unsigned major = 0;   // `version` read as major.minor.patch (0.0.0 when it is not)
  unsigned minor = 0;
  unsigned patch = 0;

  [[nodiscard]] bool known() const noexcept { return !name.empty(); }
  // The version is major.minor.patch or later (false when unknown).
  [[nodiscard]] bool at_least(unsigned maj, unsigned min, unsigned pat = 0) const noexcept;
};

// Reads "7.0.15" (a missing patch counts as 0; anything after it, "-rc1", is ignored). False,
// leaving the numbers 0, when the text does not start with major.minor.
[[nodiscard]] bool parse_version(std::string_view text, unsigned& major, unsigned& minor,
                                 unsigned& patch) noexcept;

}  // namespace streamq::redis

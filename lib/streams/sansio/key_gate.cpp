// Entry-ID order for the key gate (sansio/key_gate.hpp).
#include "sansio/key_gate.hpp"

#include <charconv>

namespace streamq::streams::detail {

namespace {
struct parsed_id {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  bool valid = false;
};

parsed_id parse(std::string_view id) noexcept {
  parsed_id out;
  const auto dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size()) return out;
  const char* end_ms = id.data() + dash;
  const char* end = id.data() + id.size();
  const auto a = std::from_chars(id.data(), end_ms, out.ms);
  const auto b = std::from_chars(end_ms + 1, end, out.seq);
  out.valid = a.ec == std::errc() && a.ptr == end_ms && b.ec == std::errc() && b.ptr == end;
  return out;
}
}  // namespace

bool entry_id_less::operator()(std::string_view a, std::string_view b) const noexcept {
  const auto x = parse(a);
  const auto y = parse(b);
  if (x.valid != y.valid) return x.valid;  // valid IDs first
  if (!x.valid) return a < b;
  return x.ms != y.ms ? x.ms < y.ms : x.seq < y.seq;
}

}  // namespace streamq::streams::detail

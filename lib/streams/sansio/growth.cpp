#include "sansio/growth.hpp"

#include <charconv>

namespace streamq::streams::detail {

namespace {
bool to_u64(std::string_view text, std::uint64_t& out) noexcept {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}
}  // namespace

std::optional<entry_id> parse_entry_id(std::string_view text) noexcept {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  entry_id id;
  if (!to_u64(text.substr(0, dash), id.ms) || !to_u64(text.substr(dash + 1), id.seq))
    return std::nullopt;
  return id;
}

bool nothing_to_drain(std::string_view cut) noexcept {
  const auto id = parse_entry_id(cut);
  return id && *id == entry_id{};
}

drain_state decide_drain(std::string_view cut, bool group_exists, std::string_view last_delivered,
                         const std::optional<std::string>& first_pending) noexcept {
  if (nothing_to_drain(cut)) return drain_state::drained;
  if (!group_exists) return drain_state::no_group;
  const auto limit = parse_entry_id(cut);
  const auto delivered = parse_entry_id(last_delivered);
  // What cannot be read never opens the gate: waiting is safe, starting early is not.
  if (!limit || !delivered || *delivered < *limit) return drain_state::undelivered;
  if (first_pending) return drain_state::pending;
  return drain_state::drained;
}

std::optional<std::uint32_t> reroute_count(std::uint32_t routed, std::uint32_t reread,
                                           std::uint32_t reported) noexcept {
  if (reread > routed) return reread;
  if (reported > routed) return reported;
  return std::nullopt;
}

}  // namespace streamq::streams::detail

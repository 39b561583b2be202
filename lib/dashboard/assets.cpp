// The embedded files: see assets.hpp.
#include "assets.hpp"

#include <streamq_dashboard_assets.hpp>

#include <algorithm>
#include <span>

namespace streamq::dashboard::detail {

namespace {

std::span<const embedded::asset_source> sources() {
  return {embedded::files, embedded::file_count};
}

asset to_asset(const embedded::asset_source& s) {
  return {s.path, s.content_type,
          std::string_view(reinterpret_cast<const char*>(s.bytes), s.size)};
}

}  // namespace

std::optional<asset> find_asset(std::string_view relative) {
  if (relative.empty()) relative = "index.html";
  const auto all = sources();
  const auto it = std::find_if(all.begin(), all.end(),
                               [&](const embedded::asset_source& s) { return s.path == relative; });
  if (it == all.end()) return std::nullopt;
  return to_asset(*it);
}

std::vector<asset> all_assets() {
  std::vector<asset> out;
  for (const auto& s : sources()) out.push_back(to_asset(s));
  return out;
}

}  // namespace streamq::dashboard::detail

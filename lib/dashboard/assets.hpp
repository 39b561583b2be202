#pragma once
// The dashboard's static files, embedded at build time (cmake/StreamqEmbedAssets.cmake), and
// which of them a request path names. Looked up by exact name in the embedded table, never on
// disk: "../x", "%2e%2e/x", "a//b" name no embedded file, so they are 404 by construction.

#include <optional>
#include <string_view>
#include <vector>

namespace streamq::dashboard::detail {

struct asset {
  std::string_view path;          // relative to lib/dashboard/assets/: "app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view bytes;
};

// The asset `relative` names: the request path after the mount prefix, as sent ("" and
// "index.html" are the page itself). nullopt for anything else.
[[nodiscard]] std::optional<asset> find_asset(std::string_view relative);

// Every embedded asset, sorted by path.
[[nodiscard]] std::vector<asset> all_assets();

}  // namespace streamq::dashboard::detail

#include "cluster_commands.hpp"

#include <charconv>
#include <cstddef>
#include <string>
#include <vector>

namespace streamq::redis::cluster {
namespace {

// Reads the commands of a payload resp::request wrote: "*<n>\r\n" then n times
// "$<len>\r\n<bytes>\r\n". `on_command(args)` gets each command's arguments (name first).
class payload_reader {
 public:
  explicit payload_reader(std::string_view payload) noexcept : rest_(payload) {}

  [[nodiscard]] bool done() const noexcept { return rest_.empty(); }

  // The next command's arguments in `args` (cleared first); false on malformed input.
  bool next(std::vector<std::string_view>& args) {
    args.clear();
    std::size_t count = 0;
    if (!header('*', count) || count == 0) return false;
    for (std::size_t i = 0; i < count; ++i) {
      std::string_view arg;
      if (!bulk(arg)) return false;
      args.push_back(arg);
    }
    return true;
  }

  // Only the command name of the next command; false on malformed input.
  bool next_name(std::string_view& name) noexcept {
    std::size_t count = 0;
    if (!header('*', count) || count == 0) return false;
    if (!bulk(name)) return false;
    for (std::size_t i = 1; i < count; ++i) {
      std::string_view skipped;
      if (!bulk(skipped)) return false;
    }
    return true;
  }

 private:
  bool header(char marker, std::size_t& n) noexcept {
    if (rest_.empty() || rest_.front() != marker) return false;
    const auto crlf = rest_.find("\r\n");
    if (crlf == std::string_view::npos) return false;
    const auto digits = rest_.substr(1, crlf - 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size()) return false;
    rest_.remove_prefix(crlf + 2);
    return true;
  }

  bool bulk(std::string_view& out) noexcept {
    std::size_t len = 0;
    if (!header('$', len)) return false;
    if (rest_.size() < len + 2 || rest_.substr(len, 2) != "\r\n") return false;
    out = rest_.substr(0, len);
    rest_.remove_prefix(len + 2);
    return true;
  }

  std::string_view rest_;
};

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if ((x | 0x20) != (y | 0x20)) return false;  // ASCII letters only in command names
  }
  return true;
}

}  // namespace

void build_info_cluster(resp::request& req) {
  req.push("INFO", "cluster");
}

std::optional<bool> decode_cluster_enabled(std::string_view info) noexcept {
  static constexpr std::string_view field = "cluster_enabled:";
  std::size_t pos = 0;
  while (pos < info.size()) {
    auto end = info.find('\n', pos);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, field.size()) == field) {
      const auto value = line.substr(field.size());
      if (value == "1") return true;
      if (value == "0") return false;
      return std::nullopt;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

bool prefix_asking(const resp::request& req, resp::request& out) {
  out.clear();
  out.push("ASKING");
  payload_reader reader(req.payload());
  std::vector<std::string_view> args;
  while (!reader.done()) {
    if (!reader.next(args)) {
      out.clear();
      return false;
    }
    const std::string_view name = args.front();
    args.erase(args.begin());
    out.push(name, args);
  }
  return true;
}

bool is_single_transaction(const resp::request& req) noexcept {
  payload_reader reader(req.payload());
  std::string_view name;
  if (!reader.next_name(name) || !iequals(name, "MULTI")) return false;
  bool exec_last = false;
  while (!reader.done()) {
    if (!reader.next_name(name) || exec_last) return false;  // nothing may follow EXEC
    if (iequals(name, "MULTI") || iequals(name, "DISCARD")) return false;
    exec_last = iequals(name, "EXEC");
  }
  return exec_last;
}

}  // namespace streamq::redis::cluster

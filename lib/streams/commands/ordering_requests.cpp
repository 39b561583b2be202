#include "commands/ordering_requests.hpp"

#include "commands/reply_checks.hpp"

namespace streamq::streams::detail {

using reply::is_array;
using reply::is_text;
using reply::malformed;
using reply::refused;
using reply::to_strings;

void build_waiting_retries(resp::request& req, const std::string& retry_key, std::size_t limit) {
  req.push("ZRANGE", resp::key{retry_key}, 0, limit == 0 ? 0 : limit - 1);
}

command_result decode_waiting_retries(const resp::value& reply, std::vector<std::string>& ids) {
  ids.clear();
  if (reply.is_error()) return refused(reply);
  if (!to_strings(reply, ids)) {
    ids.clear();
    return malformed("ZRANGE of the retry set");
  }
  return {};
}

void build_entries_by_id(resp::request& req, const std::string& stream,
                         std::span<const std::string> ids) {
  for (const auto& id : ids) req.push("XRANGE", resp::key{stream}, id, id);
}

command_result decode_entries_by_id(std::span<const resp::value> replies,
                                    std::span<const std::string> ids,
                                    std::vector<entry_by_id>& out) {
  out.clear();
  if (replies.size() != ids.size()) return malformed("XRANGE replies");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& r = replies[i];
    if (r.is_error()) {
      out.clear();
      return refused(r);
    }
    entry_by_id e{ids[i], {}};
    if (!is_array(r) || r.elements.size() > 1) {
      out.clear();
      return malformed("XRANGE of one entry");
    }
    if (r.elements.size() == 1) {
      const auto& entry = r.elements[0];
      if (!is_array(entry) || entry.elements.size() != 2 || !is_text(entry.elements[0]) ||
          entry.elements[0].text != ids[i] || !to_strings(entry.elements[1], e.fields) ||
          e.fields.size() % 2 != 0) {
        out.clear();
        return malformed("XRANGE of one entry");
      }
    }
    out.push_back(std::move(e));
  }
  return {};
}

}  // namespace streamq::streams::detail

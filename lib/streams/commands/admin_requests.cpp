#include "commands/admin_requests.hpp"

#include "commands/reply_checks.hpp"

namespace streamq::streams::detail {

namespace {

using reply::is_text;
using reply::to_integer;

// One consumer of XINFO CONSUMERS.
bool decode_consumer(const resp::value& consumer, consumer_info& out) {
  bool name = false, pending = false, idle = false;
  const bool shaped = reply::for_each_field(consumer, [&](const std::string& field,
                                                          const resp::value& value) {
    if (field == "name") {
      if (!is_text(value)) return false;
      out.name = value.text;
      name = true;
    } else if (field == "pending") {
      pending = to_integer(value, out.pending);
      return pending;
    } else if (field == "idle") {
      idle = to_integer(value, out.idle_ms);
      return idle;
    } else if (field == "inactive") {
      std::int64_t inactive = 0;
      if (!to_integer(value, inactive) || inactive < -1) return false;
      if (inactive >= 0) out.inactive_ms = static_cast<std::uint64_t>(inactive);
    }
    return true;  // a field read above, or one a later server adds (skipped)
  });
  return shaped && name && pending && idle;
}

}  // namespace

void build_consumer_info(resp::request& req, const std::string& stream, const std::string& group) {
  req.push("XINFO", "CONSUMERS", resp::key{stream}, group);
}

command_result decode_consumer_info(const resp::value& reply,
                                    std::vector<consumer_info>& consumers) {
  return reply::records(reply, consumers, "XINFO CONSUMERS", decode_consumer);
}

}  // namespace streamq::streams::detail

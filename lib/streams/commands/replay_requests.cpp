#include "replay_requests.hpp"

#include "consumer_requests.hpp"
#include "reply_checks.hpp"

namespace streamq::streams::detail {

void build_replay_page(resp::request& req, const std::string& stream, const std::string& start,
                       const std::string& end, std::size_t count) {
  req.push("XRANGE", resp::key{stream}, start, end, "COUNT", count);
}

command_result decode_replay_page(const resp::value& reply, std::vector<stream_entry>& entries) {
  return decode_dead_letter_range(reply, entries);
}

void build_stream_bounds(resp::request& req, const std::string& stream) {
  req.push("XRANGE", resp::key{stream}, "-", "+", "COUNT", 1);
  req.push("XREVRANGE", resp::key{stream}, "+", "-", "COUNT", 1);
}

command_result decode_stream_bounds(std::span<const resp::value> replies,
                                    std::optional<std::string>& first,
                                    std::optional<std::string>& last) {
  first.reset();
  last.reset();
  if (replies.size() != 2) return reply::malformed("stream bounds replies");
  std::vector<stream_entry> head;
  std::vector<stream_entry> tail;
  if (auto r = decode_dead_letter_range(replies[0], head); !r) return r;
  if (auto r = decode_dead_letter_range(replies[1], tail); !r) return r;
  // One entry each, or none in both (a stream cannot be empty from one end only).
  if (head.size() > 1 || tail.size() > 1 || head.size() != tail.size())
    return reply::malformed("stream bounds");
  if (head.empty()) return {};
  first = head.front().id;
  last = tail.front().id;
  return {};
}

void build_create_replay_group(resp::request& req, const std::string& stream,
                               const std::string& group, const std::string& id) {
  req.push("XGROUP", "CREATE", resp::key{stream}, group, id, "MKSTREAM");
}

command_result decode_create_replay_group(const resp::value& reply) {
  group_status status = group_status::refused;
  auto result = decode_create_group(reply, status);
  if (result && status == group_status::exists)
    return {errc::group_exists, reply.text};
  return result;
}

void build_destroy_replay_group(resp::request& req, const std::string& stream,
                                const std::string& group) {
  req.push("XGROUP", "DESTROY", resp::key{stream}, group);
}

command_result decode_destroy_replay_group(const resp::value& reply) {
  std::uint64_t destroyed = 0;
  auto result = reply::count(reply, destroyed, "XGROUP DESTROY");
  if (result && destroyed > 1) return reply::malformed("XGROUP DESTROY count of one group");
  return result;
}

}  // namespace streamq::streams::detail

#include "commands/output_requests.hpp"

#include "commands/reply_checks.hpp"
#include "commands/script.hpp"

#include <streamq/streams/envelope.hpp>
#include <streamq_lua_scripts.hpp>

#include <stdexcept>

namespace streamq::streams::detail {

using reply::is_array;
using reply::is_text;
using reply::malformed;
using reply::refused;
using reply::to_integer;
using reply::to_strings;

void build_commit_outputs(resp::request& req, bool by_source, const commit_request& c) {
  if (c.direct_streams.size() != c.direct_envelopes.size() ||
      c.outbox_topics.size() != c.outbox_envelopes.size())
    throw std::invalid_argument("commit_outputs: outputs and envelopes differ in number");
  static const lua_script script{lua::commit_outputs};
  std::vector<resp::key> keys;
  keys.reserve(4 + c.direct_streams.size());
  keys.push_back(resp::key{c.input->stream()});
  keys.push_back(resp::key{c.processed_key});
  keys.push_back(resp::key{c.outbox_key});
  if (c.fence != nullptr) keys.push_back(resp::key{c.fence->lease_key});
  for (const auto& stream : c.direct_streams) keys.push_back(resp::key{stream});
  // Per outbox output: its topic, then its envelope.
  std::vector<std::string_view> queued;
  queued.reserve(2 * c.outbox_topics.size());
  for (std::size_t i = 0; i < c.outbox_topics.size(); ++i) {
    queued.push_back(c.outbox_topics[i]);
    queued.push_back(c.outbox_envelopes[i]);
  }
  const std::string_view owner = c.fence != nullptr ? std::string_view(c.fence->owner) : "";
  const std::uint64_t epoch = c.fence != nullptr ? c.fence->epoch : 0;
  script.push(req, by_source, keys.size(), keys, c.group, c.consumer, c.entry_id, c.message_key,
              c.remember_for.count(), owner, epoch, c.direct_streams.size(), version_field,
              envelope_version, envelope_field, c.direct_envelopes, queued);
}

command_result decode_commit_outputs(const resp::value& reply, commit_reply& out) {
  out = commit_reply{};
  if (reply.is_error()) return refused(reply);
  int flag = 0;
  if (!is_array(reply) || reply.elements.empty() || !to_integer(reply.elements[0], flag))
    return malformed("commit_outputs");
  if (flag == -1 && reply.elements.size() == 1) return {errc::ownership_lost, {}};
  if (flag == 0 && reply.elements.size() == 1) return {};
  if (flag == 2 && reply.elements.size() == 1) {
    out.status = commit_status::duplicate;
    return {};
  }
  commit_reply r{commit_status::committed, 0, 0};
  if (flag != 1 || reply.elements.size() != 3 || !to_integer(reply.elements[1], r.direct) ||
      !to_integer(reply.elements[2], r.queued))
    return malformed("commit_outputs");
  out = r;
  return {};
}

void build_outbox_range(resp::request& req, const std::string& outbox_key,
                        const std::string& start, std::size_t count) {
  req.push("XRANGE", resp::key{outbox_key}, start, "+", "COUNT", count);
}

command_result decode_outbox_range(const resp::value& reply, std::vector<outbox_entry>& out) {
  out.clear();
  if (reply.is_error()) return refused(reply);
  if (!is_array(reply)) return malformed("XRANGE of the outbox");
  std::vector<std::string> fields;
  for (const auto& entry : reply.elements) {
    if (!is_array(entry) || entry.elements.size() != 2 || !is_text(entry.elements[0]) ||
        !to_strings(entry.elements[1], fields) || fields.size() % 2 != 0) {
      out.clear();
      return malformed("XRANGE of the outbox");
    }
    outbox_entry e{entry.elements[0].text, {}, {}, {}};
    int topics = 0, envelopes = 0, inputs = 0;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i] == "t") {
        e.topic = std::move(fields[i + 1]);
        ++topics;
      } else if (fields[i] == "e") {
        e.envelope = std::move(fields[i + 1]);
        ++envelopes;
      } else if (fields[i] == "s") {
        e.input_id = std::move(fields[i + 1]);
        ++inputs;
      }
    }
    if (topics != 1 || envelopes != 1 || inputs > 1) e.topic.clear();
    out.push_back(std::move(e));
  }
  return {};
}

void build_outbox_delete(resp::request& req, const std::string& outbox_key,
                         std::span<const std::string> ids) {
  req.push("XDEL", resp::key{outbox_key}, ids);
}

command_result decode_outbox_delete(const resp::value& reply, std::uint64_t& deleted) {
  deleted = 0;
  if (reply.is_error()) return refused(reply);
  if (reply.data_type != resp::type::integer || !to_integer(reply, deleted)) {
    deleted = 0;
    return malformed("XDEL of the outbox");
  }
  return {};
}

}  // namespace streamq::streams::detail

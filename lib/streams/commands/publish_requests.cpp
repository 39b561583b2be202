#include "publish_requests.hpp"

#include "reply_checks.hpp"
#include "script.hpp"

#include <streamq/resp/error.hpp>

#include <streamq_lua_scripts.hpp>

namespace streamq::streams::detail {

namespace {

const lua_script& dedup_publish_script() {
  static const lua_script script(lua::dedup_publish);
  return script;
}

const lua_script& publish_batch_script() {
  static const lua_script script(lua::publish_batch);
  return script;
}

bool is_text_type(resp::type t) noexcept {
  return t == resp::type::blob_string || t == resp::type::simple_string ||
         t == resp::type::verbatim_string;
}

// An XADD reply's top-level node: decode_xadd and xadd_reply read it alike.
command_result entry_id_of(resp::type t, std::string_view text, std::string& id) {
  id.clear();
  if (resp::is_error(t)) return {resp::classify_server_error(text), std::string(text)};
  if (!is_text_type(t)) return reply::malformed("XADD reply");
  id.assign(text);
  return {};
}

}  // namespace

command_result decode_xadd(const resp::value& reply, std::string& id) {
  return entry_id_of(reply.data_type, reply.text, id);
}

void xadd_reply::on_start() {
  result_ = {};
  id_.clear();
}

void xadd_reply::on_node(std::size_t /*reply*/, const resp::node& n) {
  // The top-level node decides; an aggregate's children (malformed already) are skipped.
  if (n.depth == 0) result_ = entry_id_of(n.data_type, n.value, id_);
}

void build_dedup_publish(resp::request& req, bool by_source, const topic_keys& keys,
                         std::string_view idempotency_key, std::chrono::milliseconds window,
                         const entry_fields& fields) {
  dedup_publish_script().push(req, by_source, 3, resp::key{keys.stream()},
                              resp::key{keys.dedup(idempotency_key)}, resp::key{keys.meta()},
                              window.count(), fields);
}

command_result decode_dedup_publish(const resp::value& reply, dedup_result& out) {
  out = {};
  if (reply.is_error()) return reply::refused(reply);
  int added = -1;
  if (!reply::is_array(reply) || reply.elements.size() != 2 ||
      !reply::to_integer(reply.elements[0], added) || (added != 0 && added != 1) ||
      !reply::is_text(reply.elements[1]))
    return reply::malformed("dedup_publish");
  out.id = reply.elements[1].text;
  out.duplicate = added == 0;
  return {};
}

void build_publish_batch(resp::request& req, bool by_source, const topic_keys& keys,
                         std::span<const std::string> dedup_keys, std::chrono::milliseconds window,
                         std::span<const std::string> entries) {
  std::vector<resp::key> script_keys{resp::key{keys.stream()}, resp::key{keys.meta()}};
  script_keys.reserve(2 + dedup_keys.size());
  for (const auto& key : dedup_keys) script_keys.push_back(resp::key{key});
  publish_batch_script().push(req, by_source, script_keys.size(), script_keys, window.count(),
                              version_field, envelope_version, envelope_field, entries);
}

command_result decode_publish_batch(const resp::value& reply, std::size_t entries,
                                    batch_result& out) {
  out = {};
  if (reply.is_error()) return reply::refused(reply);
  if (!reply::is_array(reply) || reply.elements.size() != 2 * entries)
    return reply::malformed("publish_batch");
  out.ids.reserve(entries);
  for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
    int added = -1;
    if (!reply::to_integer(reply.elements[i], added) || (added != 0 && added != 1) ||
        !reply::is_text(reply.elements[i + 1])) {
      out = {};
      return reply::malformed("publish_batch entry");
    }
    out.duplicates += added == 0 ? 1 : 0;
    out.ids.push_back(reply.elements[i + 1].text);
  }
  return {};
}

void build_wait(resp::request& req, std::uint32_t replicas, std::chrono::milliseconds timeout) {
  req.push("WAIT", replicas, timeout.count());
}

command_result decode_wait(const resp::value& reply, std::uint64_t& replicas) {
  return reply::count(reply, replicas, "WAIT");
}

void build_waitaof(resp::request& req, std::uint32_t local, std::uint32_t replicas,
                   std::chrono::milliseconds timeout) {
  req.push("WAITAOF", local, replicas, timeout.count());
}

command_result decode_waitaof(const resp::value& reply, aof_confirmation& out) {
  out = {};
  if (reply.is_error()) return reply::refused(reply);
  aof_confirmation read;
  if (!reply::is_array(reply) || reply.elements.size() != 2 ||
      reply.elements[0].data_type != resp::type::integer ||
      reply.elements[1].data_type != resp::type::integer ||
      !reply::to_integer(reply.elements[0], read.local) ||
      !reply::to_integer(reply.elements[1], read.replicas))
    return reply::malformed("WAITAOF [local, replicas]");
  out = read;
  return {};
}

}  // namespace streamq::streams::detail

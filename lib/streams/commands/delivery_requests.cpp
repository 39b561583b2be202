#include "delivery_requests.hpp"

#include "commands/reply_checks.hpp"

#include "commands/script.hpp"

#include <streamq/resp/error.hpp>

#include <streamq_lua_scripts.hpp>

#include <charconv>
#include <utility>

namespace streamq::streams::detail {

namespace {

const lua_script& script(const lua::script_source& source) {
  // One lua_script (with its SHA-1) per embedded source, made on first use.
  static const lua_script claim{lua::claim_entries};
  static const lua_script take{lua::take_due_retries};
  static const lua_script schedule{lua::schedule_retry};
  static const lua_script dead{lua::dead_letter};
  static const lua_script requeue{lua::requeue_dead_letter};
  static const lua_script ack_fenced{lua::ack_fenced};
  if (&source == &lua::claim_entries) return claim;
  if (&source == &lua::take_due_retries) return take;
  if (&source == &lua::schedule_retry) return schedule;
  if (&source == &lua::dead_letter) return dead;
  if (&source == &lua::ack_fenced) return ack_fenced;
  return requeue;
}

// Appends one call of `source`: its key count, then `args` (keys marked resp::key first).
template <class... Args>
void push_script(resp::request& req, bool by_source, const lua::script_source& source,
                 const Args&... args) {
  script(source).push(req, by_source, source.keys, args...);
}

// The shape checks every decoder shares (reply_checks.hpp).
using reply::is_array;
using reply::is_text;
using reply::malformed;
using reply::refused;
using reply::to_integer;

// [-1]: a fenced script found the lease naming another owner or epoch (nothing done).
bool lease_refused(const resp::value& reply) {
  std::int64_t flag = 0;
  return is_array(reply) && reply.elements.size() == 1 && to_integer(reply.elements[0], flag) &&
         flag == -1;
}

// claimed = [id, deliveries, [field, value, ...], ...], lost = [id, ...] (claim_entries,
// take_due_retries). Leaves `out` empty when either is not that shape.
bool decode_claims(const resp::value& claimed, const resp::value& lost, claim_result& out) {
  out.claimed.clear();
  out.lost.clear();
  auto fail = [&] {
    out.claimed.clear();
    out.lost.clear();
    return false;
  };
  if (!is_array(claimed) || !is_array(lost) || claimed.elements.size() % 3 != 0) return fail();
  for (std::size_t i = 0; i < claimed.elements.size(); i += 3) {
    const auto& fields = claimed.elements[i + 2];
    if (!is_text(claimed.elements[i]) || !is_array(fields) || fields.elements.size() % 2 != 0)
      return fail();
    claimed_entry entry;
    entry.id = claimed.elements[i].text;
    if (!to_integer(claimed.elements[i + 1], entry.deliveries)) return fail();
    entry.fields.reserve(fields.elements.size());  // elements received, not announced
    for (const auto& f : fields.elements) {
      if (!is_text(f)) return fail();
      entry.fields.push_back(f.text);
    }
    out.claimed.push_back(std::move(entry));
  }
  for (const auto& id : lost.elements) {
    if (!is_text(id)) return fail();
    out.lost.push_back(id.text);
  }
  return true;
}

}  // namespace

void command_reply::on_start() {
  value_ = resp::value{};
  error_.clear();
  builder_.reset();
}

void command_reply::on_node(std::size_t /*reply*/, const resp::node& n) {
  if (!builder_.on_node(n)) return;
  value_ = std::move(builder_.result());
  if (value_.is_error()) error_ = resp::classify_server_error(value_.text);
}

void build_pending_entries(resp::request& req, const group_ref& g,
                           std::chrono::milliseconds min_idle, const std::string& start,
                           std::size_t count, const std::string& owner) {
  std::span<const std::string> owner_arg;  // the optional last argument
  if (!owner.empty()) owner_arg = {&owner, 1};
  if (min_idle.count() > 0)
    req.push("XPENDING", resp::key{g.keys->stream()}, *g.group, "IDLE", min_idle.count(), start,
             "+", count, owner_arg);
  else
    req.push("XPENDING", resp::key{g.keys->stream()}, *g.group, start, "+", count, owner_arg);
}

command_result decode_pending_entries(const resp::value& reply, std::vector<pending_row>& rows) {
  rows.clear();
  if (reply.is_error()) return refused(reply);
  if (!is_array(reply)) return malformed("XPENDING reply");
  for (const auto& row : reply.elements) {
    if (!is_array(row) || row.elements.size() != 4 || !is_text(row.elements[0]) ||
        !is_text(row.elements[1])) {
      rows.clear();
      return malformed("XPENDING row");
    }
    pending_row r;
    r.id = row.elements[0].text;
    r.owner = row.elements[1].text;
    if (!to_integer(row.elements[2], r.idle_ms) || !to_integer(row.elements[3], r.deliveries)) {
      rows.clear();
      return malformed("XPENDING row numbers");
    }
    rows.push_back(std::move(r));
  }
  return {};
}

void build_claim_entries(resp::request& req, bool by_source, const group_ref& g,
                         std::chrono::milliseconds min_idle, const std::string& owner,
                         std::span<const pending_row> rows) {
  std::vector<std::string> expected;  // id, delivery count, id, delivery count, ...
  expected.reserve(rows.size() * 2);
  for (const auto& row : rows) {
    expected.push_back(row.id);
    expected.push_back(std::to_string(row.deliveries));
  }
  if (g.fence == nullptr) {
    push_script(req, by_source, lua::claim_entries, resp::key{g.keys->stream()},
                resp::key{*g.retry_key}, *g.group, *g.consumer, min_idle.count(), owner,
                expected);
    return;
  }
  script(lua::claim_entries)
      .push(req, by_source, lua::claim_entries.keys + 1, resp::key{g.keys->stream()},
            resp::key{*g.retry_key}, resp::key{g.fence->lease_key}, *g.group, *g.consumer,
            min_idle.count(), owner, g.fence->owner, g.fence->epoch, expected);
}

command_result decode_claim_entries(const resp::value& reply, claim_result& out) {
  out = {};
  if (reply.is_error()) return refused(reply);
  if (lease_refused(reply)) return {errc::ownership_lost, {}};
  if (!is_array(reply) || reply.elements.size() != 2 ||
      !decode_claims(reply.elements[0], reply.elements[1], out))
    return malformed("claim_entries");
  return {};
}

void build_take_due_retries(resp::request& req, bool by_source, const group_ref& g,
                            std::size_t limit) {
  if (g.fence == nullptr) {
    push_script(req, by_source, lua::take_due_retries, resp::key{g.keys->stream()},
                resp::key{*g.retry_key}, *g.group, *g.consumer, limit);
    return;
  }
  script(lua::take_due_retries)
      .push(req, by_source, lua::take_due_retries.keys + 1, resp::key{g.keys->stream()},
            resp::key{*g.retry_key}, resp::key{g.fence->lease_key}, *g.group, *g.consumer, limit,
            g.fence->owner, g.fence->epoch);
}

command_result decode_take_due_retries(const resp::value& reply, due_retries& out) {
  out = {};
  if (reply.is_error()) return refused(reply);
  if (lease_refused(reply)) return {errc::ownership_lost, {}};
  if (!is_array(reply) || reply.elements.size() != 4 ||
      !to_integer(reply.elements[0], out.now_ms) ||
      !to_integer(reply.elements[1], out.next_due_ms) ||
      !decode_claims(reply.elements[2], reply.elements[3], out.taken)) {
    out = {};
    return malformed("take_due_retries");
  }
  return {};
}

void build_schedule_retry(resp::request& req, bool by_source, const group_ref& g,
                          const std::string& id, std::chrono::milliseconds delay) {
  if (g.fence == nullptr) {
    push_script(req, by_source, lua::schedule_retry, resp::key{g.keys->stream()},
                resp::key{*g.retry_key}, *g.group, *g.consumer, id, delay.count());
    return;
  }
  script(lua::schedule_retry)
      .push(req, by_source, lua::schedule_retry.keys + 1, resp::key{g.keys->stream()},
            resp::key{*g.retry_key}, resp::key{g.fence->lease_key}, *g.group, *g.consumer, id,
            delay.count(), g.fence->owner, g.fence->epoch);
}

command_result decode_schedule_retry(const resp::value& reply, bool& scheduled) {
  scheduled = false;
  if (reply.is_error()) return refused(reply);
  int flag = -1;
  if (!is_array(reply) || reply.elements.empty() || !to_integer(reply.elements[0], flag) ||
      !((flag <= 0 && flag >= -1 && reply.elements.size() == 1) ||
        (flag == 1 && reply.elements.size() == 3)))
    return malformed("schedule_retry");
  if (flag == -1) return {errc::ownership_lost, {}};
  scheduled = flag == 1;
  return {};
}

void build_write_dead_letter(resp::request& req, bool by_source, const group_ref& g,
                             const std::string& id, std::span<const std::string> letter_fields) {
  if (g.fence == nullptr) {
    push_script(req, by_source, lua::dead_letter, resp::key{g.keys->stream()},
                resp::key{*g.dead_key}, resp::key{*g.retry_key}, *g.group, *g.consumer, id,
                letter_fields);
    return;
  }
  script(lua::dead_letter)
      .push(req, by_source, lua::dead_letter.keys + 1, resp::key{g.keys->stream()},
            resp::key{*g.dead_key}, resp::key{*g.retry_key}, resp::key{g.fence->lease_key},
            *g.group, *g.consumer, id, g.fence->owner, g.fence->epoch, letter_fields);
}

command_result decode_write_dead_letter(const resp::value& reply, std::string& dead_id) {
  dead_id.clear();
  if (reply.is_error()) return refused(reply);
  if (reply.data_type == resp::type::integer) {
    std::int64_t flag = 0;
    if (to_integer(reply, flag) && flag == -1) return {errc::ownership_lost, {}};
    return malformed("dead_letter");
  }
  if (!is_text(reply)) return malformed("dead_letter");
  dead_id = reply.text;
  return {};
}

void build_acknowledge_calls(resp::request& req, const std::string& group, const ack_batch& batch,
                             std::span<const std::size_t> calls, bool by_source) {
  for (const std::size_t i : calls) {
    const ack_fence* fence = i < batch.fences.size() ? batch.fences[i] : nullptr;
    if (fence == nullptr) {
      req.push("XACK", resp::key{*batch.streams[i]}, group, *batch.ids[i]);
      continue;
    }
    push_script(req, by_source, lua::ack_fenced, resp::key{*batch.streams[i]},
                resp::key{fence->lease_key}, group, fence->owner, fence->epoch, *batch.ids[i]);
  }
}

void build_acknowledge(resp::request& req, const std::string& group, const ack_batch& batch) {
  std::vector<std::size_t> all(batch.streams.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  build_acknowledge_calls(req, group, batch, all, false);
}

command_result decode_xack(const resp::value& reply, std::uint64_t& acked) {
  acked = 0;
  if (reply.is_error()) return refused(reply);
  if (reply.data_type == resp::type::integer && reply.text == "-1")
    return {errc::ownership_lost, "the partition's lease is held by another member"};
  if (reply.data_type != resp::type::integer || !to_integer(reply, acked)) {
    acked = 0;
    return malformed("XACK count");
  }
  return {};
}

command_result decode_acknowledge(std::span<const resp::value> replies, std::size_t commands,
                                  std::vector<command_result>& results,
                                  std::vector<std::uint64_t>& acked) {
  results.assign(commands, command_result{});
  acked.assign(commands, 0);
  if (replies.size() != commands) return malformed("XACK replies");
  for (std::size_t i = 0; i < commands; ++i) results[i] = decode_xack(replies[i], acked[i]);
  return {};
}

void build_requeue_dead_letter(resp::request& req, bool by_source, const topic_keys& keys,
                               const std::string& group, const std::string& dead_id,
                               const std::string& entry_id, const std::string& owner) {
  push_script(req, by_source, lua::requeue_dead_letter, resp::key{keys.dead_letters(group)},
              resp::key{keys.stream()}, resp::key{keys.retries(group)}, group, dead_id, entry_id,
              owner);
}

command_result decode_requeue_dead_letter(const resp::value& reply, requeue_status& status) {
  status = requeue_status::missing;
  if (reply.is_error()) return refused(reply);
  int flag = -2;
  if (!is_array(reply) || reply.elements.empty() || !to_integer(reply.elements[0], flag) ||
      flag < -1 || flag > 2)
    return malformed("requeue_dead_letter");
  const std::size_t size = flag > 0 ? 2 : 1;  // [1 | 2, entry ID] or [0 | -1]
  if (reply.elements.size() != size || (flag > 0 && !is_text(reply.elements[1])))
    return malformed("requeue_dead_letter");
  status = static_cast<requeue_status>(flag);
  return {};
}

}  // namespace streamq::streams::detail

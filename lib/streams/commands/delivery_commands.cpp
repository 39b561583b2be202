#include "delivery_commands.hpp"

#include "../script.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/resp/response.hpp>

#include <streamq_lua_scripts.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

namespace streamq::streams::detail {
namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

const lua_script& script(const lua::script_source& source) {
  // One lua_script (with its SHA-1) per embedded source, made on first use.
  static const lua_script claim{lua::claim_entries.text};
  static const lua_script take{lua::take_due_retries.text};
  static const lua_script schedule{lua::schedule_retry.text};
  static const lua_script dead{lua::dead_letter.text};
  static const lua_script requeue{lua::requeue_dead_letter.text};
  if (&source == &lua::claim_entries) return claim;
  if (&source == &lua::take_due_retries) return take;
  if (&source == &lua::schedule_retry) return schedule;
  if (&source == &lua::dead_letter) return dead;
  return requeue;
}

command_result malformed(std::string what) {
  return {errc::malformed_entry, "unexpected reply shape: " + std::move(what)};
}

template <class Integer>
bool to_integer(const resp::value& v, Integer& out) {
  const auto* first = v.text.data();
  const auto* last = first + v.text.size();
  auto [end, ec] = std::from_chars(first, last, out);
  return ec == std::errc() && end == last;
}

// A reply of response<resp::value> as a command_result: transport error, top-level error reply.
command_result outcome_of(const error_code& transport, const resp::response<resp::value>& reply) {
  if (transport) return {transport, {}};
  const auto& r = reply.get<0>();
  if (!r.has_value()) return {r.error(), r.diagnostic()};
  return {};
}

// {id, deliveries, {field, value, ...}, ...} and {id, ...} (claim_entries, take_due_retries).
bool decode_claims(const resp::value& claimed, const resp::value& lost, claim_result& out) {
  out.claimed.clear();
  out.lost.clear();
  if (claimed.elements.size() % 3 != 0) return false;
  for (std::size_t i = 0; i < claimed.elements.size(); i += 3) {
    claimed_entry entry;
    entry.id = claimed.elements[i].text;
    if (!to_integer(claimed.elements[i + 1], entry.deliveries)) return false;
    entry.fields.reserve(claimed.elements[i + 2].elements.size());
    for (const auto& f : claimed.elements[i + 2].elements) entry.fields.push_back(f.text);
    out.claimed.push_back(std::move(entry));
  }
  for (const auto& id : lost.elements) out.lost.push_back(id.text);
  return true;
}

// Runs one script call with a deadline; `args` as lua_script::push takes them after the key
// count.
template <class... Args>
asio::awaitable<command_result> run_script(client& c, const lua::script_source& source,
                                           resp::response<resp::value>& reply,
                                           std::chrono::milliseconds timeout, const Args&... args) {
  const lua_script& s = script(source);
  auto build = [&](resp::request& req, bool by_source) {
    s.push(req, by_source, source.keys, args...);
  };
  const auto ec = co_await with_deadline(exec_script(c, reply, build), timeout);
  co_return outcome_of(ec, reply);
}
}  // namespace

asio::awaitable<command_result> pending_entries(client& c, const group_ref& g,
                                                std::chrono::milliseconds min_idle,
                                                const std::string& start, std::size_t count,
                                                const std::string& owner,
                                                std::vector<pending_row>& rows,
                                                std::chrono::milliseconds timeout) {
  rows.clear();
  resp::request req;
  std::vector<std::string_view> owner_arg;  // the optional last argument
  if (!owner.empty()) owner_arg.push_back(owner);
  if (min_idle.count() > 0)
    req.push("XPENDING", resp::key{g.keys->stream()}, *g.group, "IDLE", min_idle.count(), start,
             "+", count, owner_arg);
  else
    req.push("XPENDING", resp::key{g.keys->stream()}, *g.group, start, "+", count, owner_arg);
  resp::response<resp::value> reply;
  auto [ec] = co_await with_deadline(c.async_exec(req, reply, use_tuple), timeout);
  auto result = outcome_of(ec, reply);
  if (!result) co_return result;
  for (const auto& row : reply.get<0>().value().elements) {
    if (row.elements.size() != 4) co_return malformed("XPENDING row");
    pending_row r;
    r.id = row.elements[0].text;
    r.owner = row.elements[1].text;
    if (!to_integer(row.elements[2], r.idle_ms) || !to_integer(row.elements[3], r.deliveries))
      co_return malformed("XPENDING row numbers");
    rows.push_back(std::move(r));
  }
  co_return result;
}

asio::awaitable<command_result> claim_entries(client& c, const group_ref& g,
                                              std::chrono::milliseconds min_idle,
                                              const std::string& owner,
                                              std::span<const pending_row> rows,
                                              claim_result& out,
                                              std::chrono::milliseconds timeout) {
  out = {};
  if (rows.empty()) co_return command_result{};
  std::vector<std::string> expected;  // id, delivery count, id, delivery count, ...
  expected.reserve(rows.size() * 2);
  for (const auto& row : rows) {
    expected.push_back(row.id);
    expected.push_back(std::to_string(row.deliveries));
  }
  resp::response<resp::value> reply;
  auto result = co_await run_script(c, lua::claim_entries, reply, timeout,
                                    resp::key{g.keys->stream()}, resp::key{*g.retry_key}, *g.group,
                                    *g.consumer, min_idle.count(), owner, expected);
  if (!result) co_return result;
  const auto& v = reply.get<0>().value();
  if (v.elements.size() != 2 || !decode_claims(v.elements[0], v.elements[1], out))
    co_return malformed("claim_entries");
  co_return result;
}

asio::awaitable<command_result> take_due_retries(client& c, const group_ref& g, std::size_t limit,
                                                 due_retries& out,
                                                 std::chrono::milliseconds timeout) {
  out = {};
  resp::response<resp::value> reply;
  auto result = co_await run_script(c, lua::take_due_retries, reply, timeout,
                                    resp::key{g.keys->stream()}, resp::key{*g.retry_key}, *g.group,
                                    *g.consumer, limit);
  if (!result) co_return result;
  const auto& v = reply.get<0>().value();
  if (v.elements.size() != 4 || !to_integer(v.elements[0], out.now_ms) ||
      !to_integer(v.elements[1], out.next_due_ms) ||
      !decode_claims(v.elements[2], v.elements[3], out.taken))
    co_return malformed("take_due_retries");
  co_return result;
}

asio::awaitable<command_result> schedule_retry(client& c, const group_ref& g,
                                               const std::string& id,
                                               std::chrono::milliseconds delay, bool& scheduled,
                                               std::chrono::milliseconds timeout) {
  scheduled = false;
  resp::response<resp::value> reply;
  auto result = co_await run_script(c, lua::schedule_retry, reply, timeout,
                                    resp::key{g.keys->stream()}, resp::key{*g.retry_key}, *g.group,
                                    *g.consumer, id, delay.count());
  if (!result) co_return result;
  const auto& v = reply.get<0>().value();
  int flag = 0;
  if (v.elements.empty() || !to_integer(v.elements[0], flag)) co_return malformed("schedule_retry");
  scheduled = flag == 1;
  co_return result;
}

asio::awaitable<command_result> write_dead_letter(client& c, const group_ref& g,
                                                  const std::string& id,
                                                  std::span<const std::string> letter_fields,
                                                  std::string& dead_id,
                                                  std::chrono::milliseconds timeout) {
  dead_id.clear();
  resp::response<resp::value> reply;
  auto result = co_await run_script(c, lua::dead_letter, reply, timeout,
                                    resp::key{g.keys->stream()}, resp::key{*g.dead_key},
                                    resp::key{*g.retry_key}, *g.group, *g.consumer, id,
                                    letter_fields);
  if (!result) co_return result;
  dead_id = reply.get<0>().value().text;
  co_return result;
}

asio::awaitable<command_result> acknowledge(client& c, const std::string& group,
                                            const ack_batch& batch,
                                            std::vector<command_result>& results,
                                            std::vector<std::uint64_t>& acked,
                                            std::chrono::milliseconds timeout) {
  results.assign(batch.streams.size(), command_result{});
  acked.assign(batch.streams.size(), 0);
  resp::request req;
  for (std::size_t i = 0; i < batch.streams.size(); ++i)
    req.push("XACK", resp::key{*batch.streams[i]}, group, *batch.ids[i]);
  resp::generic_response replies;
  auto [ec] = co_await with_deadline(c.async_exec(req, replies, use_tuple), timeout);
  if (ec) co_return command_result{ec, {}};
  if (replies.values().size() != batch.streams.size()) co_return malformed("XACK replies");
  for (std::size_t i = 0; i < batch.streams.size(); ++i) {
    const auto& reply = replies.values()[i];
    if (reply.is_error())
      results[i] = {resp::classify_server_error(reply.text), reply.text};
    else if (!to_integer(reply, acked[i]))
      results[i] = malformed("XACK count");
  }
  co_return command_result{};
}

asio::awaitable<command_result> requeue_dead_letter(client& c, const topic_keys& keys,
                                                    const std::string& group,
                                                    const std::string& dead_id,
                                                    const std::string& entry_id,
                                                    const std::string& owner,
                                                    requeue_status& status) {
  constexpr std::chrono::seconds timeout{10};
  status = requeue_status::missing;
  resp::response<resp::value> reply;
  auto result = co_await run_script(c, lua::requeue_dead_letter, reply, timeout,
                                    resp::key{keys.dead_letters(group)}, resp::key{keys.stream()},
                                    resp::key{keys.retries(group)}, group, dead_id, entry_id,
                                    owner);
  if (!result) co_return result;
  const auto& v = reply.get<0>().value();
  int flag = 0;
  if (v.elements.empty() || !to_integer(v.elements[0], flag) || flag < -1 || flag > 2)
    co_return malformed("requeue_dead_letter");
  status = static_cast<requeue_status>(flag);
  co_return result;
}

}  // namespace streamq::streams::detail

#include "delivery_commands.hpp"

#include "commands/script.hpp"

#include <streamq/redis/deadline.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <tuple>

namespace streamq::streams::detail {
namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Sends the one script call `build` (void(resp::request&, bool by_source)) appends, by SHA and
// by source after a NOSCRIPT (exec_script), and returns decode(reply) (a decode_* function),
// or the transport's error. A timeout is returned, not thrown.
template <class Build, class Decode>
asio::awaitable<command_result> run_script(client& c, std::chrono::milliseconds timeout,
                                           const Build& build, const Decode& decode) {
  command_reply reply;
  auto exec = [&]() -> asio::awaitable<std::tuple<error_code>> {
    co_return std::tuple<error_code>{co_await exec_script(c, reply, reply.error(), build)};
  };
  auto [ec] = co_await with_deadline(exec(), timeout);
  if (ec) co_return command_result{ec, {}};
  co_return decode(reply.value());
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
  build_pending_entries(req, g, min_idle, start, count, owner);
  command_reply reply;
  auto [ec] = co_await with_deadline(c.async_exec(req, reply, use_tuple), timeout);
  if (ec) co_return command_result{ec, {}};
  co_return decode_pending_entries(reply.value(), rows);
}

asio::awaitable<command_result> claim_entries(client& c, const group_ref& g,
                                              std::chrono::milliseconds min_idle,
                                              const std::string& owner,
                                              std::span<const pending_row> rows, claim_result& out,
                                              std::chrono::milliseconds timeout) {
  out = {};
  if (rows.empty()) co_return command_result{};
  co_return co_await run_script(
      c, timeout,
      [&](resp::request& req, bool by_source) {
        build_claim_entries(req, by_source, g, min_idle, owner, rows);
      },
      [&](const resp::value& reply) { return decode_claim_entries(reply, out); });
}

asio::awaitable<command_result> take_due_retries(client& c, const group_ref& g, std::size_t limit,
                                                 due_retries& out,
                                                 std::chrono::milliseconds timeout) {
  out = {};
  co_return co_await run_script(
      c, timeout,
      [&](resp::request& req, bool by_source) { build_take_due_retries(req, by_source, g, limit); },
      [&](const resp::value& reply) { return decode_take_due_retries(reply, out); });
}

asio::awaitable<command_result> schedule_retry(client& c, const group_ref& g, const std::string& id,
                                               std::chrono::milliseconds delay, bool& scheduled,
                                               std::chrono::milliseconds timeout) {
  scheduled = false;
  co_return co_await run_script(
      c, timeout,
      [&](resp::request& req, bool by_source) {
        build_schedule_retry(req, by_source, g, id, delay);
      },
      [&](const resp::value& reply) { return decode_schedule_retry(reply, scheduled); });
}

asio::awaitable<command_result> write_dead_letter(client& c, const group_ref& g,
                                                  const std::string& id,
                                                  std::span<const std::string> letter_fields,
                                                  std::string& dead_id,
                                                  std::chrono::milliseconds timeout) {
  dead_id.clear();
  co_return co_await run_script(
      c, timeout,
      [&](resp::request& req, bool by_source) {
        build_write_dead_letter(req, by_source, g, id, letter_fields);
      },
      [&](const resp::value& reply) { return decode_write_dead_letter(reply, dead_id); });
}

asio::awaitable<command_result> acknowledge(client& c, const std::string& group,
                                            const ack_batch& batch,
                                            std::vector<command_result>& results,
                                            std::vector<std::uint64_t>& acked,
                                            std::chrono::milliseconds timeout) {
  results.assign(batch.streams.size(), command_result{});
  acked.assign(batch.streams.size(), 0);
  if (batch.fences.empty()) {  // plain XACKs: no script, one round trip
    resp::request req;
    build_acknowledge(req, group, batch);
    resp::generic_response replies;
    auto [ec] = co_await with_deadline(c.async_exec(req, replies, use_tuple), timeout);
    if (ec) co_return command_result{ec, {}};
    co_return decode_acknowledge(replies.values(), batch.streams.size(), results, acked);
  }
  // Fenced calls are scripts: a NOSCRIPT reply is sent again by source (those calls only).
  script_pipeline pipeline(batch.streams.size());
  auto send = [&](const resp::request& req,
                  resp::generic_response& replies) -> asio::awaitable<error_code> {
    auto [ec] = co_await with_deadline(c.async_exec(req, replies, use_tuple), timeout);
    co_return ec;
  };
  auto build = [&](resp::request& req, std::span<const std::size_t> calls, bool by_source) {
    build_acknowledge_calls(req, group, batch, calls, by_source);
  };
  if (const error_code ec = co_await exec_script_pipeline(pipeline, send, build))
    co_return command_result{ec, {}};
  for (std::size_t i = 0; i < batch.streams.size(); ++i)
    results[i] = decode_xack(pipeline.reply(i), acked[i]);
  co_return command_result{};
}

asio::awaitable<command_result> requeue_dead_letter(
    client& c, const topic_keys& keys, const std::string& group, const std::string& dead_id,
    const std::string& entry_id, const std::string& owner, requeue_status& status) {
  constexpr std::chrono::seconds timeout{10};
  status = requeue_status::missing;
  co_return co_await run_script(
      c, timeout,
      [&](resp::request& req, bool by_source) {
        build_requeue_dead_letter(req, by_source, keys, group, dead_id, entry_id, owner);
      },
      [&](const resp::value& reply) { return decode_requeue_dead_letter(reply, status); });
}

asio::awaitable<command_result> waiting_retries(client& c, const group_ref& g,
                                                std::size_t limit, std::vector<entry_by_id>& out,
                                                std::chrono::milliseconds timeout) {
  out.clear();
  std::vector<std::string> ids;
  {
    resp::request req;
    build_waiting_retries(req, *g.retry_key, limit);
    command_reply reply;
    auto [ec] = co_await with_deadline(c.async_exec(req, reply, use_tuple), timeout);
    if (ec) co_return command_result{ec, {}};
    if (auto r = decode_waiting_retries(reply.value(), ids); !r) co_return r;
  }
  if (ids.empty()) co_return command_result{};
  resp::request req;
  build_entries_by_id(req, g.keys->stream(), ids);
  resp::generic_response replies;
  auto [ec] = co_await with_deadline(c.async_exec(req, replies, use_tuple), timeout);
  if (ec) co_return command_result{ec, {}};
  co_return decode_entries_by_id(replies.values(), ids, out);
}

}  // namespace streamq::streams::detail

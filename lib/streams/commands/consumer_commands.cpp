#include "commands/consumer_commands.hpp"

#include "commands/script.hpp"

#include <streamq/redis/deadline.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <tuple>

namespace streamq::streams::detail {
namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

asio::awaitable<command_result> create_groups(client& c, std::span<const std::string> streams,
                                              const std::string& group, bool from_beginning,
                                              std::vector<command_result>& results,
                                              std::vector<group_status>& status) {
  results.assign(streams.size(), command_result{});
  status.assign(streams.size(), group_status::refused);
  resp::request req;
  for (const auto& stream : streams) build_create_group(req, stream, group, from_beginning);
  resp::generic_response replies;
  auto [ec] = co_await c.async_exec(req, replies, use_tuple);
  if (ec) co_return command_result{ec, {}};
  co_return decode_create_groups(replies.values(), streams.size(), results, status);
}

asio::awaitable<command_result> list_groups(client& c, const std::string& stream,
                                            std::vector<group_info>& groups) {
  groups.clear();
  resp::request req;
  build_group_info(req, stream);
  command_reply reply;
  auto [ec] = co_await c.async_exec(req, reply, use_tuple);
  if (ec) co_return command_result{ec, {}};
  co_return decode_group_info(reply.value(), groups);
}

asio::awaitable<command_result> stream_states(client& c, std::span<const std::string> streams,
                                              std::vector<stream_state>& out) {
  out.clear();
  resp::request req;
  build_stream_states(req, streams);
  resp::generic_response replies;
  auto [ec] = co_await c.async_exec(req, replies, use_tuple);
  if (ec) co_return command_result{ec, {}};
  co_return decode_stream_states(replies.values(), streams.size(), out);
}

asio::awaitable<command_result> processed_at(client& c, const std::string& processed_key,
                                             const std::string& message_key,
                                             std::optional<double>& handled_at_ms,
                                             std::chrono::milliseconds timeout) {
  handled_at_ms.reset();
  resp::request req;
  build_processed_at(req, processed_key, message_key);
  command_reply reply;
  auto [ec] = co_await with_deadline(c.async_exec(req, reply, use_tuple), timeout);
  if (ec) co_return command_result{ec, {}};
  co_return decode_processed_at(reply.value(), handled_at_ms);
}

asio::awaitable<command_result> ack_processed(client& c, const std::string& processed_key,
                                              const std::string& stream, const std::string& group,
                                              const std::string& id, const std::string& message_key,
                                              std::chrono::milliseconds remember_for,
                                              const ack_fence* fence, std::uint64_t& acked,
                                              std::chrono::milliseconds timeout) {
  acked = 0;
  command_reply reply;
  auto build = [&](resp::request& req, bool by_source) {
    build_ack_processed(req, by_source, processed_key, stream, group, id, message_key,
                        remember_for, fence);
  };
  auto exec = [&]() -> asio::awaitable<std::tuple<error_code>> {
    co_return std::tuple<error_code>{co_await exec_script(c, reply, reply.error(), build)};
  };
  auto [ec] = co_await with_deadline(exec(), timeout);
  if (ec) co_return command_result{ec, {}};
  co_return decode_ack_processed(reply.value(), acked);
}

}  // namespace streamq::streams::detail

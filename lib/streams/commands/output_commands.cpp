#include "commands/output_commands.hpp"

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

asio::awaitable<command_result> commit_outputs(client& c, const commit_request& commit,
                                               commit_reply& out,
                                               std::chrono::milliseconds timeout) {
  out = commit_reply{};
  command_reply reply;
  auto build = [&](resp::request& req, bool by_source) {
    build_commit_outputs(req, by_source, commit);
  };
  auto exec = [&]() -> asio::awaitable<std::tuple<error_code>> {
    co_return std::tuple<error_code>{co_await exec_script(c, reply, reply.error(), build)};
  };
  auto [ec] = co_await with_deadline(exec(), timeout);
  if (ec) co_return command_result{ec, {}};
  co_return decode_commit_outputs(reply.value(), out);
}

asio::awaitable<command_result> read_outbox(client& c, const std::string& outbox_key,
                                            const std::string& start, std::size_t count,
                                            std::vector<outbox_entry>& out,
                                            std::chrono::milliseconds timeout) {
  out.clear();
  resp::request req;
  build_outbox_range(req, outbox_key, start, count);
  command_reply reply;
  auto [ec] = co_await with_deadline(c.async_exec(req, reply, use_tuple), timeout);
  if (ec) co_return command_result{ec, {}};
  co_return decode_outbox_range(reply.value(), out);
}

asio::awaitable<command_result> delete_outbox(client& c, const std::string& outbox_key,
                                              std::span<const std::string> ids,
                                              std::uint64_t& deleted,
                                              std::chrono::milliseconds timeout) {
  deleted = 0;
  resp::request req;
  build_outbox_delete(req, outbox_key, ids);
  command_reply reply;
  auto [ec] = co_await with_deadline(c.async_exec(req, reply, use_tuple), timeout);
  if (ec) co_return command_result{ec, {}};
  co_return decode_outbox_delete(reply.value(), deleted);
}

}  // namespace streamq::streams::detail

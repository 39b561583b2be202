#include <streamq/streams/maintenance.hpp>

#include "commands/maintenance_requests.hpp"
#include "commands/send_command.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdint>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

// Throws a failed call's error: the transport's (with `doing` as its text), or the server's
// refusal or a malformed reply (with the diagnostic).
void check(const detail::send_result& result, const std::string& doing) {
  if (result.transport) throw boost::system::system_error(result.transport, doing);
  if (!result.reply) throw boost::system::system_error(result.reply.ec, result.reply.diagnostic);
}

}  // namespace

asio::awaitable<std::uint64_t> trim_topic(client& c, const topic_keys& keys,
                                          retention_policy policy) {
  std::uint64_t removed = 0;
  check(co_await detail::send_script(
            c,
            [&](resp::request& req, bool by_source) {
              detail::build_trim_stream(req, by_source, keys, policy.max_length, policy.max_age,
                                        policy.trim_unacknowledged);
            },
            [&](const resp::value& reply) { return detail::decode_trim_stream(reply, removed); }),
        "trimming " + keys.stream());
  co_return removed;
}

asio::awaitable<std::vector<std::string>> remove_idle_consumers(client& c, const topic_keys& keys,
                                                                std::string group,
                                                                std::chrono::milliseconds idle,
                                                                std::string keep) {
  validate_name(name_kind::group, group);
  std::vector<std::string> removed;
  check(co_await detail::send_script(
            c,
            [&](resp::request& req, bool by_source) {
              detail::build_remove_idle_consumers(req, by_source, keys, group, idle, keep);
            },
            [&](const resp::value& reply) {
              return detail::decode_remove_idle_consumers(reply, removed);
            }),
        "removing idle consumers");
  co_return removed;
}

}  // namespace streamq::streams

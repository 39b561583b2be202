#pragma once
// How the publishers, the scheduler and the maintenance calls send what a build_* function of
// commands/ appends and hand the reply to the matching decode_* function, which alone reads
// it. Each completes with a send_result: the transport's error, or the decoder's result. No
// deadline of their own: callers that need one wrap the call (with_deadline).

#include <streamq/client.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>

#include "delivery_requests.hpp"  // command_result, command_reply
#include "script.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <span>

namespace streamq::streams::detail {

// The outcome of one send: either the transport failed (a redis::client_errc, or what the
// connection reports; nothing was decoded, and whether the server got the request depends on
// the code), or the server answered and `reply` is what the decoder made of it.
struct send_result {
  error_code transport;
  command_result reply;

  explicit operator bool() const noexcept { return !transport && reply; }
  // The failure, whichever it is.
  [[nodiscard]] const error_code& ec() const noexcept { return transport ? transport : reply.ec; }
};

// Throws `sent`'s failure as a boost::system::system_error, with the server's diagnostic as
// its text when it gave one: for callers whose errors go out as exceptions (the metrics
// sampler, the streamq command).
[[noreturn]] inline void throw_failure(const send_result& sent) {
  if (sent.transport || sent.reply.diagnostic.empty()) throw boost::system::system_error(sent.ec());
  throw boost::system::system_error(sent.ec(), sent.reply.diagnostic);
}

// One command: `build(req)` appends it, `decode(reply)` reads its reply (a resp::value).
template <class Build, class Decode>
boost::asio::awaitable<send_result> send_command(client& c, const Build& build,
                                                 const Decode& decode) {
  resp::request req;
  build(req);
  command_reply reply;
  auto [ec] = co_await c.async_exec(req, reply, boost::asio::as_tuple(boost::asio::use_awaitable));
  if (ec) co_return send_result{ec, {}};
  co_return send_result{{}, decode(reply.value())};
}

// Several commands in one request: `build(req)` appends them, `decode(replies)` reads their
// replies (a span of resp::value, one per command).
template <class Build, class Decode>
boost::asio::awaitable<send_result> send_commands(client& c, const Build& build,
                                                  const Decode& decode) {
  resp::request req;
  build(req);
  resp::generic_response replies;
  auto [ec] =
      co_await c.async_exec(req, replies, boost::asio::as_tuple(boost::asio::use_awaitable));
  if (ec) co_return send_result{ec, {}};
  co_return send_result{{}, decode(std::span<const resp::value>(replies.values()))};
}

// One script call: `build(req, by_source)` appends it, sent by SHA and, after a NOSCRIPT, by
// source (exec_script); `decode(reply)` reads the reply.
template <class Build, class Decode>
boost::asio::awaitable<send_result> send_script(client& c, const Build& build,
                                                const Decode& decode) {
  command_reply reply;
  const error_code ec = co_await exec_script(c, reply, reply.error(), build);
  if (ec) co_return send_result{ec, {}};
  co_return send_result{{}, decode(reply.value())};
}

}  // namespace streamq::streams::detail

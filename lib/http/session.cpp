#include "session.hpp"

#include <streamq/redis/deadline.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <utility>

namespace streamq::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using beast_request_parser = bhttp::request_parser<bhttp::string_body>;
using beast_response = bhttp::response<bhttp::string_body>;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
// How much one read asks the socket for while waiting for a kept-alive connection's next
// request (the parser reads the rest).
constexpr std::size_t first_read_size = 4096;

std::string remote_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : peer.address().to_string();
}

response status_response(unsigned status) {
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return response{status,
                  "text/plain; charset=utf-8",
                  std::to_string(status) + " " + std::string(reason) + "\n",
                  {}};
}

beast_response to_beast(const response& r, unsigned version, bool head, bool keep_alive) {
  beast_response res;
  res.version(version == 10 ? 10 : 11);
  res.result(r.status);
  for (const auto& h : r.headers) res.insert(h.name, h.value);
  // The endpoint frames the message: a handler's framing headers would contradict it.
  res.erase(bhttp::field::content_length);
  res.erase(bhttp::field::transfer_encoding);
  res.erase(bhttp::field::connection);
  if (!r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
  res.keep_alive(keep_alive);
  if (head) {
    res.content_length(r.body.size());  // what GET would send; no body follows
  } else {
    res.body() = r.body;
    res.prepare_payload();
  }
  return res;
}

// Writes `res` within write_timeout; false when the connection is unusable afterwards.
asio::awaitable<bool> write_response(beast::tcp_stream& stream, beast_response& res, service& svc) {
  stream.expires_after(svc.config.write_timeout);
  const auto [ec, n] = co_await bhttp::async_write(stream, res, tuple_awaitable);
  stream.expires_never();
  if (ec == beast::error::timeout) svc.counters.timeouts.fetch_add(1, std::memory_order_relaxed);
  if (!ec) svc.counters.count_response(res.result_int());
  co_return !ec;
}

// Closes after the endpoint answered for the last time: stops sending, then reads and drops
// what the client still sends for up to linger_timeout, so that its request bytes arriving
// after the close do not make the kernel reset the connection before the client read the
// status.
asio::awaitable<void> close_lingering(beast::tcp_stream& stream, const service& svc) {
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec && !svc.stopping) {
    stream.expires_after(svc.config.linger_timeout);
    std::array<char, 4096> scratch{};
    std::size_t dropped = 0;
    const std::size_t limit = svc.config.header_limit + svc.config.body_limit;
    while (dropped <= limit && !svc.stopping) {
      const auto [read_ec, n] =
          co_await stream.async_read_some(asio::buffer(scratch), tuple_awaitable);
      if (read_ec) break;
      dropped += n;
    }
  }
  stream.close();
}

asio::awaitable<void> refuse(beast::tcp_stream& stream, unsigned status, service& svc) {
  const auto answer = status_response(status);
  auto res = to_beast(answer, 11, false, false);
  co_await write_response(stream, res, svc);
  co_await close_lingering(stream, svc);
}

std::chrono::nanoseconds time_left(clock::time_point deadline) {
  return std::max(std::chrono::nanoseconds(1), deadline - clock::now());
}

// Reads the rest of one request (head, then body), all within `deadline`. On success returns
// 0; otherwise the status to refuse it with, or 0 with `closed` set when there is nobody to
// answer.
struct read_outcome {
  unsigned status = 0;
  bool closed = false;
};

asio::awaitable<read_outcome> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                           beast_request_parser& parser, clock::time_point deadline,
                                           bool idle_allowed, service& svc,
                                           std::string_view remote) {
  const auto fail = [&](const boost::system::error_code& ec) {
    const bool nothing = idle_allowed && !parser.got_some() && buffer.size() == 0;
    const std::string_view unparsed(static_cast<const char*>(buffer.data().data()), buffer.size());
    const auto f = classify_read_error(ec, nothing, unparsed);
    if (f.timeout) svc.counters.timeouts.fetch_add(1, std::memory_order_relaxed);
    if (f.status != 0 || f.timeout) svc.log_problem("request_refused", f.why, remote, f.status);
    return read_outcome{f.status, f.status == 0};
  };
  auto [ec, n] = co_await with_deadline(
      bhttp::async_read_header(stream, buffer, parser, tuple_awaitable), time_left(deadline));
  if (ec) co_return fail(ec);
  const auto& head = parser.get();
  const bool has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
  const unsigned refused = check_head(head.version(), head.method_string(),
                                      head.find(bhttp::field::host) != head.end(), has_body);
  if (refused != 0) {
    svc.log_problem("request_refused", "request head refused", remote, refused);
    co_return read_outcome{refused, false};
  }
  if (!parser.is_done() && iequals(head[bhttp::field::expect], "100-continue")) {
    // The client waits for this before sending the body (curl does for bodies over 1 KiB).
    static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
    stream.expires_after(svc.config.write_timeout);
    const auto [wec, wn] =
        co_await asio::async_write(stream, asio::buffer(interim), tuple_awaitable);
    stream.expires_never();
    if (wec) co_return read_outcome{0, true};
  }
  if (!parser.is_done()) {
    auto [bec, bn] = co_await with_deadline(
        bhttp::async_read(stream, buffer, parser, tuple_awaitable), time_left(deadline));
    if (bec) co_return fail(bec);
  }
  co_return read_outcome{0, false};
}

request to_request(beast_request_parser& parser, const target_parts& target, std::string remote) {
  auto& msg = parser.get();
  request req{std::string(msg.method_string()),
              std::string(target.path),
              std::string(target.query),
              {},
              std::move(msg.body()),
              std::move(remote)};
  for (const auto& field : msg)
    req.headers.push_back(header{std::string(field.name_string()), std::string(field.value())});
  return req;
}

// Runs the route's handler; a handler that throws or answers something unsendable gets 500,
// logged at error (it is the application's bug, not the client's).
asio::awaitable<response> dispatch(const request& req, service& svc) {
  const auto found = svc.routes.find(req.method, req.path);
  if (found.status == 405) {
    auto res = status_response(405);
    res.headers.push_back(header{"Allow", found.allow});
    co_return res;
  }
  if (found.status != 0) co_return status_response(found.status);
  std::string failure;
  try {
    auto res = co_await svc.handlers[found.index](req);
    if (!valid_final_status(res.status)) {
      failure = "the handler answered status " + std::to_string(res.status);
    } else {
      for (const auto& h : res.headers)
        if (!valid_header(h.name, h.value))
          failure = "the handler set an invalid header '" + h.name + "'";
      if (failure.empty()) co_return res;
    }
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "a non-standard exception";
  }
  if (!svc.stopping)
    svc.config.log.log(log_level::error, "http", "handler_failed", failure,
                       {{"path", req.path}, {"method", req.method}});
  co_return status_response(500);
}

}  // namespace

asio::awaitable<void> serve_connection(tcp::socket socket, clock::time_point accepted,
                                       service& svc) {
  // Cancellation (the endpoint stopping) ends the operation in progress; the loop then sees
  // `stopping` and closes instead of being thrown out of a co_await in the middle.
  co_await asio::this_coro::throw_if_cancelled(false);
  const std::string remote = remote_of(socket);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  std::size_t served = 0;
  auto started = accepted;
  while (!svc.stopping) {
    const bool first = served == 0;
    if (!first && buffer.size() == 0) {
      // A kept-alive connection waits idle_timeout for its next request; tcp_stream closes
      // the socket when that passes, which is all an idle connection needs.
      stream.expires_after(svc.config.idle_timeout);
      const auto [ec, n] =
          co_await stream.async_read_some(buffer.prepare(first_read_size), tuple_awaitable);
      stream.expires_never();
      if (ec) break;
      buffer.commit(n);
      started = clock::now();
    } else if (!first) {
      started = clock::now();  // a pipelined request: already (partly) here
    }
    beast_request_parser parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(svc.config.header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(svc.config.body_limit);
    const auto outcome = co_await read_request(
        stream, buffer, parser, started + svc.config.request_timeout, !first, svc, remote);
    if (svc.stopping) break;
    if (outcome.closed) break;
    if (outcome.status != 0) {
      co_await refuse(stream, outcome.status, svc);
      co_return;
    }
    const auto target = split_target(parser.get().target());
    if (!target) {
      svc.log_problem("request_refused", "request target is not a path", remote, 400);
      co_await refuse(stream, 400, svc);
      co_return;
    }
    const bool head = parser.get().method() == bhttp::verb::head;
    const unsigned version = parser.get().version();
    const bool client_keeps_alive = parser.get().keep_alive();
    const request req = to_request(parser, *target, remote);
    const response answer = co_await dispatch(req, svc);
    if (svc.stopping) break;
    ++served;
    const bool keep =
        keep_open(client_keeps_alive, served, svc.config.max_requests_per_connection, svc.stopping);
    auto res = to_beast(answer, version, head, keep);
    if (!co_await write_response(stream, res, svc)) break;
    if (!keep) {
      co_await close_lingering(stream, svc);
      co_return;
    }
  }
  boost::system::error_code ignored;
  stream.socket().close(ignored);
}

asio::awaitable<void> refuse_connection(tcp::socket socket, service& svc) {
  co_await asio::this_coro::throw_if_cancelled(false);
  const std::string remote = remote_of(socket);
  beast::tcp_stream stream(std::move(socket));
  svc.log_problem("connection_refused", "over max_connections", remote, 503);
  co_await refuse(stream, 503, svc);
}

}  // namespace streamq::http::detail

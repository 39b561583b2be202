#pragma once
// One accepted connection's coroutine: reads requests (each within request_timeout), answers
// them in order, and closes the connection when the client asks, when a request is refused,
// when a limit is reached or when the endpoint stops. Never throws for anything a client does.

#include "service.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>

namespace streamq::http::detail {

// `accepted`: when the connection was accepted (its first request's deadline counts from it).
boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket,
                                              std::chrono::steady_clock::time_point accepted,
                                              service& svc);

// A connection over max_connections: answered 503 and closed, within linger_timeout.
boost::asio::awaitable<void> refuse_connection(boost::asio::ip::tcp::socket socket, service& svc);

}  // namespace streamq::http::detail

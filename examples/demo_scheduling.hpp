#pragma once
// The demo's second act: a delayed task, a recurring task and a suppressed duplicate.

#include <streamq/client.hpp>

#include <boost/asio/awaitable.hpp>

boost::asio::awaitable<void> scheduling_demo(streamq::client& client);

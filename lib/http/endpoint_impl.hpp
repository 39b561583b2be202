#pragma once
// http::endpoint's state: the listening socket, the shared service, and the connections'
// coroutines, each spawned with a cancellation signal of its own so that run() can cancel
// them all on stop and await them before it returns.

#include "service.hpp"

#include "../streams/support/stop_request.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstddef>
#include <list>
#include <string>

namespace streamq::http::detail {

class endpoint_impl {
 public:
  endpoint_impl(boost::asio::any_io_executor executor, endpoint_config config);

  void add_route(std::string path, bool prefix, handler h, method_list methods);
  boost::asio::awaitable<void> run();
  void stop() noexcept { stop_.request(); }

  [[nodiscard]] endpoint_stats stats() const noexcept;
  [[nodiscard]] const endpoint_config& config() const noexcept { return svc_.config; }
  [[nodiscard]] boost::asio::any_io_executor executor() const { return executor_; }
  [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const noexcept { return bound_; }

 private:
  // A connection's coroutine. `finished` is set by its completion: its signal is no longer
  // emitted, and it is erased on the executor after the coroutine's frame is gone.
  struct task {
    boost::asio::cancellation_signal signal;
    bool finished = false;
    bool refusal = false;
  };

  boost::asio::awaitable<void> accept_loop();
  void spawn(boost::asio::awaitable<void> work, bool refusal);
  void finish(std::list<task>::iterator it) noexcept;

  boost::asio::any_io_executor executor_;
  service svc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint bound_;
  streams::detail::stop_request stop_;
  std::atomic<bool> ran_{false};
  // On the executor only:
  std::list<task> tasks_;
  std::size_t connections_ = 0;        // serving coroutines (max_connections bounds them)
  std::size_t refusals_ = 0;           // 503 coroutines (bounded by max_connections too)
  boost::asio::steady_timer drained_;  // woken when the last task is erased
};

}  // namespace streamq::http::detail

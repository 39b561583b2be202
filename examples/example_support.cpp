#include "example_support.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/run_until.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <utility>

namespace streamq::examples {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {
// Awaits `op`, keeping its exception instead of throwing it (see serve_until).
asio::awaitable<void> capture(asio::awaitable<void> op, std::exception_ptr& failure) {
  try {
    co_await std::move(op);
  } catch (...) {
    failure = std::current_exception();
  }
}

resp::request reset_request(std::string_view topic, std::string_view group) {
  const streams::topic_keys keys(topic);
  resp::request req;
  req.push("DEL", resp::key{keys.stream()}, resp::key{keys.dead_letters(group)});
  return req;
}
}  // namespace

std::string redis_url() {
  const char* url = std::getenv("STREAMQ_REDIS_URL");
  return url != nullptr ? url : "redis://127.0.0.1:6379";
}

int run_example(std::string_view name, const example_body& body, std::chrono::seconds limit) {
  const std::string title(name);
  try {
    asio::io_context io;
    client c(io.get_executor(), redis_url());
    std::printf("%s against %s\n", title.c_str(), c.config().redacted_url().c_str());
    std::exception_ptr failure;
    auto guarded = [&]() -> asio::awaitable<void> {
      co_await capture(with_deadline(body(c), limit), failure);
    };
    asio::co_spawn(io, c.async_run(asio::as_tuple(asio::use_awaitable)) || guarded(),
                   asio::detached);
    io.run();
    if (failure) {
      if (const auto why = c.shared_connection().last_error())
        std::fprintf(stderr, "%s: connection to %s: %s\n", title.c_str(),
                     c.config().redacted_url().c_str(), why.message().c_str());
      std::rethrow_exception(failure);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s FAILED: %s\n", title.c_str(), e.what());
    return 1;
  }
  std::printf("%s: OK\n", title.c_str());
  return 0;
}

asio::awaitable<void> reset_topic(client& c, std::string_view topic, std::string_view group) {
  const resp::request req = reset_request(topic, group);
  resp::ignore_response ignored;
  co_await with_deadline(c.async_exec(req, ignored), std::chrono::seconds(5));
}

asio::awaitable<void> serve_until(asio::awaitable<void> service, asio::awaitable<void> scenario) {
  co_await streamq::run_until(std::move(service), std::move(scenario));
}

asio::awaitable<void> wait_until(std::function<bool()> done, std::chrono::milliseconds limit,
                                 std::string what) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= give_up)
      throw std::runtime_error("timed out after " + std::to_string(limit.count()) +
                               " ms waiting for " + what);
    co_await sleep_for(std::chrono::milliseconds(10));
  }
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

void expect(bool ok, std::string_view what) {
  if (!ok) throw std::runtime_error("expected: " + std::string(what));
}

}  // namespace streamq::examples

// Serves streamq's observability routes with nothing watched and fetches each once; renders
// one JSON string with the admin library (so that its library and dependencies link).
#include <streamq/admin/payload_json.hpp>
#include <streamq/http/endpoint.hpp>
#include <streamq/metrics/metrics.hpp>
#include <streamq/metrics/routes.hpp>
#include <streamq/spdlog/spdlog_logger.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

namespace asio = boost::asio;

namespace {

// One GET on a fresh connection: the whole response as received (the server closes).
asio::awaitable<std::string> get(std::uint16_t port, std::string path) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
  std::string reply;
  auto [ec, n] = co_await asio::async_read(socket, asio::dynamic_buffer(reply),
                                           asio::as_tuple(asio::use_awaitable));
  (void)ec;  // eof ends the reply
  (void)n;
  co_return reply;
}

}  // namespace

int main() {
  asio::io_context io;
  auto log = streamq::spdlog_logger(spdlog::stdout_logger_st("streamq"));
  streamq::metrics::metrics m(io.get_executor(), {.log = log});
  streamq::http::endpoint ep(io.get_executor(), {.log = log});
  streamq::metrics::add_routes(ep, m);
  int answered = 0;
  asio::co_spawn(io, ep.run(), asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (const char* path : {"/metrics", "/healthz", "/readyz"}) {
          const std::string reply = co_await get(ep.port(), path);
          std::printf("%s: %s\n", path, reply.substr(0, reply.find('\r')).c_str());
          if (reply.rfind("HTTP/1.1 200", 0) == 0) ++answered;
        }
        log.log(streamq::log_level::info, "package", "done", "fetched the routes",
                {{"answered", std::to_string(answered)}});
        ep.stop();
      },
      asio::detached);
  io.run();
  const std::string quoted = streamq::admin::json_string("say \"hi\"");
  std::printf("admin: %s\n", quoted.c_str());
  const bool rendered = quoted == "\"say \\\"hi\\\"\"";
  return answered == 3 && rendered ? 0 : 1;
}

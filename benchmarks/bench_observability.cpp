#include "bench_observability.hpp"

#include <streamq/metrics/routes.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace streamq::bench {

namespace {

http::endpoint_config endpoint_config_for(std::string_view listen) {
  http::endpoint_config config;
  if (!parse_listen_address(listen, config))
    throw std::invalid_argument("--http takes HOST:PORT (e.g. 127.0.0.1:9464), not " +
                                std::string(listen));
  return config;
}

metrics::metrics_config sampling_every_second() {
  metrics::metrics_config config;
  config.sample_interval = std::chrono::seconds(1);
  config.sample_timeout = std::chrono::milliseconds(500);
  return config;
}

}  // namespace

bool parse_listen_address(std::string_view text, http::endpoint_config& config) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) return false;
  config.address = std::string(host);
  config.port = static_cast<std::uint16_t>(value);
  return true;
}

observability::observability(streamq::client& client, std::string_view listen)
    : client_(client),
      metrics_(client.get_executor(), sampling_every_second()),
      endpoint_(client.get_executor(), endpoint_config_for(listen)) {
  metrics::add_routes(endpoint_, metrics_);
  watched_.push_back(metrics_.watch(client, "main"));
  const auto where = endpoint_.local_endpoint();
  std::fprintf(stderr, "streamq-bench: serving /metrics /healthz /readyz on %s:%u\n",
               where.address().to_string().c_str(), static_cast<unsigned>(where.port()));
}

metrics::watch_handle observability::watch(streams::publisher& p) { return metrics_.watch(p); }

metrics::watch_handle observability::watch(streams::consumer& c) { return metrics_.watch(c); }

void observability::watch_topic(std::string topic, std::string group) {
  watched_.push_back(metrics_.watch_topic(client_, std::move(topic), std::move(group)));
}

boost::asio::awaitable<void> observability::run_beside(boost::asio::awaitable<void> body) {
  using namespace boost::asio::experimental::awaitable_operators;
  auto then_stop = [&]() -> boost::asio::awaitable<void> {
    try {
      co_await std::move(body);
    } catch (...) {
      endpoint_.stop();
      metrics_.stop();
      throw;
    }
    endpoint_.stop();
    metrics_.stop();
  };
  co_await (endpoint_.run() && metrics_.run() && then_stop());
}

}  // namespace streamq::bench

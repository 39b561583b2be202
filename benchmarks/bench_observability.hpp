#pragma once
// streamq-bench --http HOST:PORT: while a scenario runs, /metrics, /healthz and /readyz are
// served there (streamq::http endpoint, metrics::add_routes) for the components it watches, so
// the metrics' cost and a scrape can be checked from outside. Without --http nothing of this
// runs: metrics are off.

#include <streamq/client.hpp>
#include <streamq/http/endpoint.hpp>
#include <streamq/metrics/metrics.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams {
class consumer;
class publisher;
}  // namespace streamq::streams

namespace streamq::bench {

// HOST:PORT split into an endpoint_config ("[::1]:9464" for IPv6); false when it is not one.
bool parse_listen_address(std::string_view text, http::endpoint_config& config);

class observability {
 public:
  // Binds `listen` (HOST:PORT) at once and tells on stderr where it serves. Throws
  // std::invalid_argument for a bad address, boost::system::system_error if it cannot bind.
  observability(streamq::client& client, std::string_view listen);

  // The watches end with the returned handles, which must go before the watched objects do.
  [[nodiscard]] metrics::watch_handle watch(streams::publisher& p);
  [[nodiscard]] metrics::watch_handle watch(streams::consumer& c);
  // The server-side gauges of `topic` and `group`, sampled every second.
  void watch_topic(std::string topic, std::string group);

  // Serves and samples while `body` runs; then stops both and returns (or rethrows what
  // `body` threw).
  boost::asio::awaitable<void> run_beside(boost::asio::awaitable<void> body);

 private:
  streamq::client& client_;
  metrics::metrics metrics_;
  http::endpoint endpoint_;
  std::vector<metrics::watch_handle> watched_;
};

}  // namespace streamq::bench

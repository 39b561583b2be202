// /metrics, /healthz and /readyz served by an http::endpoint (metrics::add_routes) next to a
// running publisher and consumer on one io_context, scraped over real HTTP: the values match
// what happened; readiness follows the server going away; and with a password in the URL,
// nothing the endpoint or the logs produce contains it.
#include "http/http_client.hpp"
#include "support/async_test.hpp"
#include "support/prometheus_text.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/http/endpoint.hpp>
#include <streamq/metrics/metrics.hpp>
#include <streamq/metrics/routes.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>

#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace metrics = streamq::metrics;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::errc;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::test::get_request;
using streamq::test::http_reply;
using streamq::test::redis_server;
using streamq::test::round_trip;
using streamq::test::sleep_for;
using streamq::test::value_of;
using streamq::test::wait_until;

namespace {

constexpr const char* dest = "messaging_destination_name";
constexpr const char* group = "messaging_consumer_group_name";
// The marker scripts/check-no-secrets looks for (as redaction_test.cpp).
const std::string secret = "Sq-NoLeak-redact-Zq9x7Hw";

streamq::test::Order order(int i) {
  streamq::test::Order o;
  o.set_id("order-" + std::to_string(i));
  o.set_amount_cents(100 + i);
  return o;
}

metrics::metrics_config fast_sampling(streamq::logger log) {
  metrics::metrics_config config;
  config.sample_interval = 100ms;
  config.sample_timeout = 100ms;
  config.log = std::move(log);
  return config;
}

// Every log record as its JSON line.
struct log_lines {
  std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
  streamq::logger logger() const {
    return streamq::logger(
        [lines = lines](const streamq::log_record& r) { lines->push_back(streamq::to_json(r)); },
        streamq::log_level::debug);
  }
};

}  // namespace

TEST_CASE("observability endpoint: /metrics scraped over HTTP shows what a running consumer did") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  log_lines logs;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    metrics::metrics m(c.get_executor(), fast_sampling(logs.logger()));
    streamq::http::endpoint ep(c.get_executor(), streamq::test::test_config());
    metrics::add_routes(ep, m);
    publisher pub(c);
    consumer_config config{.group = "billing", .name = "c1"};
    config.retry = {.max_attempts = 3, .base = 10ms, .cap = 20ms, .jitter = 0};
    config.log = logs.logger();
    consumer cons(c, config);
    auto failed_once = std::make_shared<bool>(false);
    cons.subscribe<streamq::test::Order>(
        topic, [failed_once](const streamq::test::Order& o,
                             message_context&) -> asio::awaitable<void> {
          if (o.id() == "order-2" && !*failed_once) {
            *failed_once = true;
            throw std::runtime_error("downstream down once");
          }
          if (o.id() == "order-4")
            throw boost::system::system_error(errc::permanent_failure, "invalid order");
          co_return;
        });
    auto watched_pub = m.watch(pub);
    auto watched_cons = m.watch(cons);
    auto watched_client = m.watch(c, "main");
    auto watched_topic = m.watch_topic(c, topic, "billing");

    auto scenario = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 8; ++i) co_await pub.publish(topic, order(i));
      // 7 handled (order-2 on its second attempt), order-4 dead-lettered.
      co_await wait_until([&] {
        const auto s = cons.stats();
        return s.acked == 7 && s.dead_lettered == 1;
      });
      // The sampler's next ticks see the group caught up.
      std::optional<double> pending;
      for (int i = 0; i < 100; ++i) {
        const http_reply scraped = co_await round_trip(ep, get_request("/metrics"));
        pending = value_of(scraped.body, "streamq_group_pending", {{dest, topic}, {group, "billing"}});
        if (pending == 0.0) break;
        co_await sleep_for(20ms);
      }
      CHECK(pending == 0.0);

      const http_reply scraped = co_await round_trip(ep, get_request("/metrics"));
      CHECK(scraped.status == 200);
      CHECK(scraped.content_type == "text/plain; version=0.0.4; charset=utf-8");
      const std::string& text = scraped.body;
      const streamq::test::labels t{{dest, topic}};
      const streamq::test::labels tg{{dest, topic}, {group, "billing"}};
      auto with = [](streamq::test::labels l, const char* k, const char* v) {
        l[k] = v;
        return l;
      };
      CHECK(value_of(text, "streamq_publish_messages_total", with(t, "result", "ok")) == 8);
      CHECK(value_of(text, "streamq_consumer_deliveries_total", tg) == 9);
      CHECK(value_of(text, "streamq_consumer_acks_total", tg) == 7);
      CHECK(value_of(text, "streamq_consumer_retries_total", tg) == 1);
      CHECK(value_of(text, "streamq_consumer_dead_letters_total", tg) == 1);
      CHECK(value_of(text, "streamq_consumer_in_flight", tg) == 0);
      CHECK(value_of(text, "streamq_consumer_handler_duration_seconds_count", tg) == 9);
      CHECK(value_of(text, "streamq_stream_length", t) == 8);
      CHECK(value_of(text, "streamq_group_lag", tg) == 0);
      CHECK(value_of(text, "streamq_dead_letter_stream_length", tg) == 1);
      CHECK(value_of(text, "streamq_connection_state", {{"client", "main"}, {"state", "connected"}}) ==
            1);

      const http_reply health = co_await round_trip(ep, get_request("/healthz"));
      CHECK(health.status == 200);
      CHECK(health.body == "ok\n");
      const http_reply ready = co_await round_trip(ep, get_request("/readyz"));
      CHECK(ready.status == 200);
      CHECK(ready.content_type == "application/json");
      CHECK(ready.body.rfind("{\"ready\":true,", 0) == 0);
      CHECK(ready.body.find("\"name\":\"consumer billing") != std::string::npos);
      // HEAD: the headers of GET without the body.
      auto connection = co_await streamq::test::connect_to(ep);
      co_await streamq::test::send_text(
          connection, "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      const http_reply head = co_await streamq::test::read_reply(connection, true);
      CHECK(head.status == 200);
      CHECK(head.body.empty());
      // Other methods and paths are refused.
      CHECK((co_await round_trip(
                ep, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
                .status == 405);
      CHECK((co_await round_trip(ep, get_request("/metrics/other"))).status == 404);
    };
    co_await (ep.async_run(asio::use_awaitable) || m.async_run(asio::use_awaitable) ||
              cons.async_run(asio::use_awaitable) || scenario());
  });
}

TEST_CASE("observability endpoint: /readyz turns 503 when the server goes, and no password leaks") {
  redis_server::options options;
  options.requirepass = secret;
  redis_server server(options);
  auto url = server.url();
  url.insert(url.find("://") + 3, ":" + secret + "@");
  const auto topic = streamq::test::unique_topic();
  log_lines logs;
  std::vector<std::string> texts;
  streamq::test::run_with_client(url, [&](client& c) -> asio::awaitable<void> {
    metrics::metrics m(c.get_executor(), fast_sampling(logs.logger()));
    streamq::http::endpoint_config http_config = streamq::test::test_config();
    http_config.log = logs.logger();
    streamq::http::endpoint ep(c.get_executor(), http_config);
    metrics::add_routes(ep, m);
    publisher pub(c);
    auto watched_pub = m.watch(pub);
    auto watched_client = m.watch(c, "main");
    auto watched_topic = m.watch_topic(c, topic, "billing");

    auto scenario = [&]() -> asio::awaitable<void> {
      co_await pub.publish(topic, order(1));
      http_reply ready;
      for (int i = 0; i < 100; ++i) {
        ready = co_await round_trip(ep, get_request("/readyz"));
        if (ready.status == 200) break;
        co_await sleep_for(20ms);
      }
      CHECK(ready.status == 200);
      texts.push_back(ready.body);
      texts.push_back((co_await round_trip(ep, get_request("/metrics"))).body);

      server.kill();
      for (int i = 0; i < 200; ++i) {
        ready = co_await round_trip(ep, get_request("/readyz"));
        if (ready.status == 503) break;
        co_await sleep_for(20ms);
      }
      CHECK(ready.status == 503);
      CHECK(ready.body.rfind("{\"ready\":false,", 0) == 0);
      CHECK(ready.body.find("\"name\":\"client main\",\"ok\":false") != std::string::npos);
      texts.push_back(ready.body);
      // The sampler's failures are counted and shown; the process itself is still alive.
      http_reply scraped;
      for (int i = 0; i < 200; ++i) {
        scraped = co_await round_trip(ep, get_request("/metrics"));
        if (value_of(scraped.body, "streamq_sampler_errors_total", {{dest, topic}}).value_or(0) > 0)
          break;
        co_await sleep_for(20ms);
      }
      CHECK(value_of(scraped.body, "streamq_sampler_errors_total", {{dest, topic}}).value_or(0) > 0);
      texts.push_back(scraped.body);
      CHECK((co_await round_trip(ep, get_request("/healthz"))).status == 200);
    };
    co_await (ep.async_run(asio::use_awaitable) || m.async_run(asio::use_awaitable) || scenario());
  });
  CHECK_FALSE(logs.lines->empty());  // the sampler's failures were logged
  for (const auto& line : *logs.lines) texts.push_back(line);
  for (const auto& text : texts) CHECK_MESSAGE(text.find(secret) == std::string::npos, text);
}

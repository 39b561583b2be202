// Trace context through streamq against redis-server (docs/tracing.md): a recording tracer
// sees publish -> process -> publish -> process keep one trace with the right parents; a
// traceparent written by a producer in another language is continued; a failing handler's
// retry and dead letter are spans under its process spans, and its log records carry the
// entry and trace IDs; without a tracer the headers still travel; effectively-once outputs
// continue the handler's trace.
#include "support/async_test.hpp"
#include "support/output_topics.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/outputs.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/tracing.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::streams::publisher_config;
using streamq::streams::span_kind;
using streamq::streams::span_status;
using streamq::streams::trace_context;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::wait_until;
namespace attr = streamq::streams::span_attributes;

namespace {

struct recorded_span {
  span_kind kind = span_kind::internal;
  std::string name;
  std::optional<trace_context> parent;
  trace_context context;
  std::map<std::string, std::string, std::less<>> attributes;
  bool ended = false;
  span_status status = span_status::ok;
  std::string error;
};

// Keeps every span it is told of, with streamq's proposed IDs.
class recording_tracer : public streamq::streams::tracer {
 public:
  streamq::streams::span_handle start_span(const streamq::streams::span_start& start,
                                           trace_context proposed) override {
    const std::lock_guard lock(mutex_);
    recorded_span span;
    span.kind = start.kind;
    span.name = std::string(start.name);
    if (start.parent != nullptr) span.parent = *start.parent;
    span.context = proposed;
    for (const auto& a : start.attributes) span.attributes[std::string(a.key)] = a.value;
    spans_.push_back(std::move(span));
    return {proposed, std::make_shared<std::size_t>(spans_.size() - 1)};
  }
  void end_span(streamq::streams::span_handle& span, span_status status,
                std::string_view error) override {
    const std::lock_guard lock(mutex_);
    auto& recorded = spans_.at(*std::static_pointer_cast<std::size_t>(span.state));
    REQUIRE_FALSE(recorded.ended);
    recorded.ended = true;
    recorded.status = status;
    recorded.error = std::string(error);
  }
  std::vector<recorded_span> spans() const {
    const std::lock_guard lock(mutex_);
    return spans_;
  }
  // The spans named `name`, in start order.
  std::vector<recorded_span> named(const std::string& name) const {
    std::vector<recorded_span> out;
    for (auto& s : spans())
      if (s.name == name) out.push_back(s);
    return out;
  }
  // The one span named `name` (REQUIREd to be one).
  recorded_span only(const std::string& name) const {
    auto all = named(name);
    REQUIRE(all.size() == 1);
    return all.front();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<recorded_span> spans_;
};

consumer_config traced_config(std::shared_ptr<recording_tracer> tracer, const std::string& group) {
  consumer_config cfg;
  cfg.group = group;
  cfg.name = group + "-1";
  cfg.block = 100ms;
  cfg.retry.base = 5ms;
  cfg.retry.cap = 10ms;
  cfg.retry_poll_interval = 50ms;
  cfg.log = streamq::logger([](const streamq::log_record&) {});
  cfg.tracing = std::move(tracer);
  return cfg;
}

Order order_with_id(const std::string& id) {
  Order o;
  o.set_id(id);
  return o;
}

bool same_span(const std::optional<trace_context>& a, const trace_context& b) {
  return a && a->trace_id == b.trace_id && a->span_id == b.span_id;
}

constexpr std::string_view go_traceparent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view go_tracestate = "congo=t61rcWkgMzE";

}  // namespace

TEST_CASE("tracing: publish, a handler's publish and the next handler share one trace") {
  redis_server server;
  const auto orders = streamq::test::unique_topic();
  const auto invoices = orders + "-invoices";
  auto tracer = std::make_shared<recording_tracer>();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher_config pub_config;
    pub_config.tracing = tracer;
    publisher pub(c, pub_config);
    std::optional<trace_context> first_ctx, second_ctx;
    consumer first(c, traced_config(tracer, "billing"));
    first.subscribe<Order>(orders, [&](const Order& o, message_context& ctx)
                                       -> asio::awaitable<void> {
      first_ctx = ctx.trace;
      co_await pub.publish(invoices, order_with_id("invoice-" + o.id()), ctx.publish_options());
    });
    consumer second(c, traced_config(tracer, "mail"));
    second.subscribe<Order>(invoices, [&](const Order&, message_context& ctx)
                                          -> asio::awaitable<void> {
      second_ctx = ctx.trace;
      co_return;
    });
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await pub.publish(orders, order_with_id("o-1"));
      co_await wait_until([&] { return second.stats().acked == 1; }, 10s);
    };
    co_await streamq::run_until(first.run(), streamq::run_until(second.run(), scenario()));

    const std::vector<recorded_span> publish_orders{tracer->only("publish " + orders)};
    const std::vector<recorded_span> process_orders{tracer->only("process " + orders)};
    const std::vector<recorded_span> receive_orders{tracer->only("receive " + orders)};
    const std::vector<recorded_span> publish_invoices{tracer->only("publish " + invoices)};
    const std::vector<recorded_span> process_invoices{tracer->only("process " + invoices)};
    // One trace over all spans, each ended well.
    for (const auto& s : tracer->spans()) {
      CAPTURE(s.name);
      CHECK(s.context.trace_id == publish_orders[0].context.trace_id);
      CHECK(s.ended);
      CHECK(s.status == span_status::ok);
    }
    // publish orders (a root) -> process orders -> publish invoices -> process invoices.
    CHECK_FALSE(publish_orders[0].parent.has_value());
    CHECK(same_span(process_orders[0].parent, publish_orders[0].context));
    CHECK(same_span(receive_orders[0].parent, publish_orders[0].context));
    CHECK(same_span(publish_invoices[0].parent, process_orders[0].context));
    CHECK(same_span(process_invoices[0].parent, publish_invoices[0].context));
    REQUIRE(first_ctx.has_value());
    REQUIRE(second_ctx.has_value());
    CHECK(*first_ctx == process_orders[0].context);
    CHECK(*second_ctx == process_invoices[0].context);

    const auto& p = publish_orders[0];
    CHECK(p.kind == span_kind::producer);
    CHECK(p.attributes.at(std::string(attr::system)) == "streamq");
    CHECK(p.attributes.at(std::string(attr::destination)) == orders);
    CHECK(p.attributes.at(std::string(attr::operation_type)) == "send");
    const auto& r = process_invoices[0];
    CHECK(r.kind == span_kind::consumer);
    CHECK(r.attributes.at(std::string(attr::group)) == "mail");
    CHECK(r.attributes.at(std::string(attr::operation_type)) == "process");
    CHECK(receive_orders[0].attributes.at(std::string(attr::operation_type)) == "receive");

    // On the wire: the invoice's traceparent names its publish span.
    const auto written = co_await streamq::test::read_topic(c, invoices);
    REQUIRE(written.size() == 1);
    CHECK(written[0].envelope.headers().at("traceparent") ==
          streamq::streams::format_traceparent(publish_invoices[0].context));
    CHECK(r.attributes.at(std::string(attr::message_id)) == written[0].envelope.message_id());
    CHECK(r.attributes.at(std::string(attr::entry_id)) == written[0].id);
  });
}

TEST_CASE("tracing: a traceparent written by a producer in another language is continued") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  auto tracer = std::make_shared<recording_tracer>();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    // As a Go or Node producer writes it: the envelope's bytes, added with a plain XADD.
    auto envelope = streamq::streams::make_envelope(order_with_id("from-go"));
    (*envelope.mutable_headers())["traceparent"] = std::string(go_traceparent);
    (*envelope.mutable_headers())["tracestate"] = std::string(go_tracestate);
    const auto fields = streamq::streams::encode_entry(envelope);
    CHECK(server.command({"XADD", streamq::streams::topic_keys(topic).stream(), "*", fields[0],
                          fields[1], fields[2], fields[3]})
              .size() > 0);
    std::optional<trace_context> seen;
    consumer con(c, traced_config(tracer, "g"));
    con.subscribe<Order>(topic, [&](const Order&, message_context& ctx) -> asio::awaitable<void> {
      seen = ctx.trace;
      co_return;
    });
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return con.stats().acked == 1; }, 10s);
    };
    co_await streamq::run_until(con.run(), scenario());
    const auto producer = *streamq::streams::parse_traceparent(go_traceparent);
    REQUIRE(seen.has_value());
    CHECK(seen->trace_id_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(seen->tracestate == go_tracestate);
    const std::vector<recorded_span> process{tracer->only("process " + topic)};
    CHECK(same_span(process[0].parent, producer));
    CHECK(process[0].parent->tracestate == go_tracestate);
  });
}

TEST_CASE("tracing: retry and dead-letter spans under the process spans, IDs in the logs") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  auto tracer = std::make_shared<recording_tracer>();
  struct logged {
    std::string event;
    std::map<std::string, std::string, std::less<>> fields;
  };
  std::vector<logged> records;
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    auto cfg = traced_config(tracer, "g");
    cfg.retry.max_attempts = 2;
    cfg.log = streamq::logger(
        [&](const streamq::log_record& r) {
          logged l{std::string(r.event), {}};
          for (const auto& f : r.fields) l.fields[std::string(f.name)] = std::string(f.value);
          records.push_back(std::move(l));
        },
        streamq::log_level::debug);
    consumer con(c, cfg);
    con.subscribe<Order>(topic, [&](const Order&, message_context&) -> asio::awaitable<void> {
      throw std::runtime_error("downstream down");
      co_return;
    });
    publisher pub(c);
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await pub.publish(topic, order_with_id("o-fail"));
      co_await wait_until([&] { return con.stats().dead_lettered == 1; }, 10s);
    };
    co_await streamq::run_until(con.run(), scenario());
  });
  const auto process = tracer->named("process " + topic);
  const std::vector<recorded_span> retry{tracer->only("retry " + topic)};
  const std::vector<recorded_span> dead{tracer->only("dead_letter " + topic)};
  REQUIRE(process.size() == 2);
  for (const auto& p : process) {
    CHECK(p.status == span_status::error);
    CHECK(p.error.find("downstream down") != std::string::npos);
  }
  CHECK(same_span(retry[0].parent, process[0].context));
  CHECK(same_span(dead[0].parent, process[1].context));
  CHECK(retry[0].kind == span_kind::internal);
  CHECK(retry[0].status == span_status::ok);
  CHECK(retry[0].attributes.at(std::string(attr::operation_type)) == "settle");
  CHECK(retry[0].attributes.at(std::string(attr::operation_name)) == "retry");
  CHECK(retry[0].attributes.at(std::string(attr::attempt)) == "0");
  CHECK(dead[0].attributes.at(std::string(attr::operation_type)) == "settle");
  CHECK(dead[0].attributes.at(std::string(attr::operation_name)) == "dead_letter");
  CHECK(dead[0].attributes.at(std::string(attr::attempt)) == "1");
  CHECK(dead[0].attributes.at(std::string(attr::group)) == "g");
  CHECK(dead[0].attributes.at(std::string(attr::destination)) == topic);
  const std::string entry_id = dead[0].attributes.at(std::string(attr::entry_id));
  CHECK(retry[0].attributes.at(std::string(attr::entry_id)) == entry_id);
  // Both runs continue the publish's trace.
  CHECK(process[0].context.trace_id == process[1].context.trace_id);

  // The dead_lettered record names the topic, group, entry and trace.
  const logged* dead_lettered = nullptr;
  for (const auto& r : records)
    if (r.event == "dead_lettered") dead_lettered = &r;
  REQUIRE(dead_lettered != nullptr);
  CHECK(dead_lettered->fields.at("topic") == topic);
  CHECK(dead_lettered->fields.at("group") == "g");
  CHECK(dead_lettered->fields.at("entry_id") == entry_id);
  CHECK(dead_lettered->fields.at("trace_id") == process[1].context.trace_id_hex());
}

TEST_CASE("tracing: without a tracer the trace headers travel and handlers get a context") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  const auto untraced = topic + "-off";
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    publisher_config off_config;
    off_config.inject_trace_context = false;
    publisher off(c, off_config);
    co_await pub.publish(topic, order_with_id("o-1"));
    co_await off.publish(untraced, order_with_id("o-2"));
    const auto written = co_await streamq::test::read_topic(c, topic);
    REQUIRE(written.size() == 1);
    const auto header = streamq::streams::parse_traceparent(
        written[0].envelope.headers().at("traceparent"));
    REQUIRE(header.has_value());
    CHECK_FALSE((co_await streamq::test::read_topic(c, untraced))[0]
                    .envelope.headers()
                    .contains("traceparent"));

    std::map<std::string, trace_context> seen;
    consumer con(c, traced_config(nullptr, "g"));
    for (const auto& t : {topic, untraced})
      con.subscribe<Order>(t, [&](const Order& o, message_context& ctx) -> asio::awaitable<void> {
        seen[o.id()] = ctx.trace;
        co_return;
      });
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await wait_until([&] { return con.stats().acked == 2; }, 10s);
    };
    co_await streamq::run_until(con.run(), scenario());
    REQUIRE(seen.size() == 2);
    // Without spans of its own, the handler's context is the one the message carries.
    CHECK(seen.at("o-1").trace_id == header->trace_id);
    CHECK(seen.at("o-1").span_id == header->span_id);
    CHECK(seen.at("o-2").valid());  // none carried: a new trace
    CHECK(seen.at("o-2").trace_id != header->trace_id);
  });
}

TEST_CASE("tracing: effectively-once outputs continue the handler's trace") {
  redis_server server;
  const auto in = streamq::test::unique_topic();
  const auto near = streamq::test::topic_in_slot_of(in, "near");
  const auto far = in + "-far";
  auto tracer = std::make_shared<recording_tracer>();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    streamq::streams::subscription_options options;
    options.effectively_once = true;
    options.outbox_poll = 100ms;
    std::optional<trace_context> handler_ctx;
    consumer con(c, traced_config(tracer, "g"));
    con.subscribe<Order>(
        in,
        [&](const Order& o, message_context& ctx) -> asio::awaitable<void> {
          handler_ctx = ctx.trace;
          ctx.outputs->add(near, order_with_id(o.id() + "-near"));
          ctx.outputs->add(far, order_with_id(o.id() + "-far"));
          co_return;
        },
        options);
    publisher pub(c);
    auto scenario = [&]() -> asio::awaitable<void> {
      co_await pub.publish(in, order_with_id("o-1"));
      co_await wait_until([&] { return con.stats().outputs_relayed == 1; }, 20s);
    };
    co_await streamq::run_until(con.run(), scenario());
    REQUIRE(handler_ctx.has_value());
    for (const auto& t : {near, far}) {
      CAPTURE(t);
      const auto written = co_await streamq::test::read_topic(c, t);
      REQUIRE(written.size() == 1);
      const auto carried = streamq::streams::parse_traceparent(
          written[0].envelope.headers().at("traceparent"));
      REQUIRE(carried.has_value());
      CHECK(carried->trace_id == handler_ctx->trace_id);
      CHECK(carried->span_id == handler_ctx->span_id);
    }
  });
}

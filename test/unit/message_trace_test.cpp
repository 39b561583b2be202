// Tests of the trace of one publish (lib/streams/publish/publish_tracing.hpp: which context it
// continues, its span and the headers written) and of one delivered message
// (lib/streams/consume/message_trace.hpp: receive, process and settle spans, attributes, the IDs
// its log records carry), with a hook that records what it is told. No server.

#include "streams/consume/message_trace.hpp"
#include "streams/publish/publish_tracing.hpp"

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/tracing.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sq = streamq::streams;

namespace {

struct seen_span {
  sq::span_kind kind = sq::span_kind::internal;
  std::string name;
  std::optional<sq::trace_context> parent;
  sq::trace_context context;
  std::map<std::string, std::string, std::less<>> attributes;
  std::chrono::system_clock::time_point start;
  std::optional<sq::span_status> status;
  std::string error;
};

class recording_hook : public sq::tracer {
 public:
  std::vector<seen_span> spans;
  std::optional<sq::trace_context> active;  // what current() returns
  bool throws = false;

  sq::span_handle start_span(const sq::span_start& start, sq::trace_context proposed) override {
    if (throws) throw std::runtime_error("hook failure");
    seen_span s{start.kind, std::string(start.name), {}, proposed, {}, start.start_time, {}, {}};
    if (start.parent != nullptr) s.parent = *start.parent;
    for (const auto& a : start.attributes) s.attributes[std::string(a.key)] = a.value;
    spans.push_back(std::move(s));
    return {proposed, std::make_shared<std::size_t>(spans.size() - 1)};
  }
  void end_span(sq::span_handle& span, sq::span_status status, std::string_view error) override {
    auto& s = spans.at(*std::static_pointer_cast<std::size_t>(span.state));
    REQUIRE_FALSE(s.status.has_value());
    s.status = status;
    s.error = std::string(error);
  }
  std::optional<sq::trace_context> current() const override { return active; }
};

const sq::trace_context producer =
    *sq::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61");

streamq::v1::Envelope envelope_with(std::optional<sq::trace_context> trace) {
  streamq::v1::Envelope e;
  e.set_message_id("m-1");
  if (trace) {
    (*e.mutable_headers())["traceparent"] = sq::format_traceparent(*trace);
    (*e.mutable_headers())["tracestate"] = trace->tracestate;
  }
  return e;
}

}  // namespace

TEST_CASE("publish trace: explicit trace, then the message's header, then current(), else new") {
  recording_hook hook;
  sq::detail::publish_spans spans(&hook, true, "orders");
  const auto explicit_trace = sq::new_trace();
  hook.active = sq::new_trace();
  CHECK(spans.parent(explicit_trace, producer) == explicit_trace);
  CHECK(spans.parent(std::nullopt, producer) == producer);
  CHECK(spans.parent(std::nullopt, std::nullopt) == hook.active);
  hook.active.reset();
  CHECK_FALSE(spans.parent(std::nullopt, std::nullopt).has_value());
  // An invalid explicit trace does not count.
  CHECK(spans.parent(sq::trace_context{}, producer) == producer);

  sq::envelope_options options;
  options.headers["traceparent"] = sq::format_traceparent(producer);
  options.headers["tracestate"] = producer.tracestate;
  CHECK(spans.parent(options) == producer);
  options.headers["traceparent"] = "00-not-a-traceparent";
  CHECK_FALSE(spans.parent(options).has_value());
}

TEST_CASE("publish trace: a span per envelope under its own traceparent, ended with the publish") {
  recording_hook hook;
  auto envelope = envelope_with(producer);
  {
    sq::detail::publish_spans spans(&hook, true, "orders");
    spans.begin(envelope);
    REQUIRE(hook.spans.size() == 1);
    const auto& span = hook.spans[0];
    CHECK(span.kind == sq::span_kind::producer);
    CHECK(span.name == "publish orders");
    CHECK(span.parent == producer);
    CHECK(span.attributes.at("messaging.system") == "streamq");
    CHECK(span.attributes.at("messaging.destination.name") == "orders");
    CHECK(span.attributes.at("messaging.operation.type") == "send");
    CHECK(span.attributes.at("messaging.message.id") == "m-1");
    // The header now names the publish span; the tracestate is carried on.
    CHECK(envelope.headers().at("traceparent") == sq::format_traceparent(span.context));
    CHECK(envelope.headers().at("tracestate") == "congo=t61");
    CHECK(span.context.trace_id == producer.trace_id);
    spans.end(sq::span_status::error, "refused");
    spans.end(sq::span_status::ok);  // once only
  }
  CHECK(hook.spans[0].status == sq::span_status::error);
  CHECK(hook.spans[0].error == "refused");

  // Dropped unfinished (the publish was abandoned): ended as an error.
  { sq::detail::publish_spans(&hook, true, "orders").begin(envelope); }
  REQUIRE(hook.spans.size() == 2);
  CHECK(hook.spans[1].status == sq::span_status::error);
}

TEST_CASE("publish trace: without a hook the parent travels as it is, with injection off nothing") {
  sq::detail::publish_spans spans(nullptr, true, "orders");
  CHECK(spans.begin(producer, "m-1") == producer);
  const auto fresh = spans.begin(std::nullopt, "m-1");
  REQUIRE(fresh.has_value());
  CHECK(fresh->valid());
  CHECK_FALSE(spans.has_spans());

  sq::detail::publish_spans off(nullptr, false, "orders");
  auto envelope = envelope_with(std::nullopt);
  off.begin(envelope);
  CHECK_FALSE(envelope.headers().contains("traceparent"));

  // A hook that throws: the publish goes on under streamq's own IDs.
  recording_hook hook;
  hook.throws = true;
  sq::detail::publish_spans failing(&hook, true, "orders");
  const auto context = failing.begin(producer, "m-1");
  REQUIRE(context.has_value());
  CHECK(context->trace_id == producer.trace_id);
  CHECK(context->span_id != producer.span_id);
}

TEST_CASE("message trace: receive and process under the producer, settle under the process span") {
  recording_hook hook;
  const auto read_at = std::chrono::system_clock::now() - std::chrono::seconds(1);
  auto envelope = envelope_with(producer);
  {
    sq::detail::message_trace trace(&hook, "orders#3", "billing", "1-1");
    CHECK(trace.ref().trace_id.empty());  // not known before the envelope is read
    trace.received(&envelope, 2, read_at);
    const auto& context = trace.start_process();
    trace.end_process(sq::span_status::error, "downstream down");
    trace.settling("retry");
    trace.settled(sq::span_status::ok, {});
    REQUIRE(hook.spans.size() == 3);
    const auto& receive = hook.spans[0];
    const auto& process = hook.spans[1];
    const auto& retry = hook.spans[2];
    CHECK(receive.name == "receive orders#3");
    CHECK(receive.kind == sq::span_kind::consumer);
    CHECK(receive.parent == producer);
    CHECK(receive.start == read_at);
    CHECK(receive.status == sq::span_status::ok);
    CHECK(process.parent == producer);
    CHECK(process.context == context);
    CHECK(process.status == sq::span_status::error);
    CHECK(process.error == "downstream down");
    CHECK(retry.kind == sq::span_kind::internal);
    CHECK(retry.parent == process.context);
    CHECK(retry.attributes.at("messaging.operation.name") == "retry");
    CHECK(retry.attributes.at("messaging.operation.type") == "settle");
    for (const auto& s : hook.spans) {
      CAPTURE(s.name);
      CHECK(s.attributes.at("messaging.destination.name") == "orders");
      CHECK(s.attributes.at("messaging.destination.partition.id") == "3");
      CHECK(s.attributes.at("messaging.consumer.group.name") == "billing");
      CHECK(s.attributes.at("messaging.message.id") == "m-1");
      CHECK(s.attributes.at("streamq.entry_id") == "1-1");
      CHECK(s.attributes.at("streamq.attempt") == "2");
    }
    CHECK(trace.ref().entry_id == "1-1");
    CHECK(trace.ref().trace_id == producer.trace_id_hex());
    // Left open: ended as an error when the message's handling is abandoned.
    trace.settling("dead_letter");
  }
  REQUIRE(hook.spans.size() == 4);
  CHECK(hook.spans[3].status == sq::span_status::error);
  CHECK(hook.spans[3].name == "dead_letter orders#3");
}

TEST_CASE("message trace: without a hook the handler's context is the message's, or a new one") {
  auto envelope = envelope_with(producer);
  sq::detail::message_trace carried(nullptr, "orders", "g", "1-1");
  carried.received(&envelope, 0, std::chrono::system_clock::now());
  CHECK(carried.start_process() == producer);
  CHECK(carried.ref().trace_id == producer.trace_id_hex());

  auto bare = envelope_with(std::nullopt);
  (*bare.mutable_headers())["traceparent"] = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
  sq::detail::message_trace invalid(nullptr, "orders", "g", "1-2");
  invalid.received(&bare, 0, std::chrono::system_clock::now());
  CHECK(invalid.context().valid());
  CHECK(invalid.context().trace_id != producer.trace_id);
  CHECK(invalid.ref().trace_id == invalid.context().trace_id_hex());

  sq::detail::message_trace undecoded(nullptr, "orders", "g", "1-3");
  undecoded.received(nullptr, 0, std::chrono::system_clock::now());
  CHECK(undecoded.context().valid());
}

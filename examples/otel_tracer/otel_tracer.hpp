#pragma once
// An adapter from streamq's tracing hook (streamq/streams/tracing.hpp, docs/tracing.md) to the
// OpenTelemetry C++ API: each streamq span becomes an SDK span with the same parent, kind,
// attributes and start time, and the IDs streamq writes into traceparent are the SDK span's.
//
//   auto provider = opentelemetry::trace::Provider::GetTracerProvider();  // set up by the app
//   auto hook = std::make_shared<streamq_otel::otel_tracer>(provider->GetTracer("streamq"));
//   publisher_config pc;  pc.tracing = hook;
//   consumer_config cc;   cc.tracing = hook;
//
// current() reads OpenTelemetry's active span (RuntimeContext): a publish made inside an
// instrumented request continues that request's trace.

#include <streamq/streams/tracing.hpp>

#include <opentelemetry/nostd/shared_ptr.h>
#include <opentelemetry/trace/span_context.h>
#include <opentelemetry/trace/tracer.h>

#include <optional>
#include <string_view>

namespace streamq_otel {

// The W3C context as OpenTelemetry holds it, and back.
[[nodiscard]] opentelemetry::trace::SpanContext to_otel(const streamq::streams::trace_context& c,
                                                        bool remote);
[[nodiscard]] streamq::streams::trace_context from_otel(
    const opentelemetry::trace::SpanContext& c);

class otel_tracer final : public streamq::streams::tracer {
 public:
  explicit otel_tracer(opentelemetry::nostd::shared_ptr<opentelemetry::trace::Tracer> otel)
      : tracer_(std::move(otel)) {}

  streamq::streams::span_handle start_span(const streamq::streams::span_start& start,
                                           streamq::streams::trace_context proposed) override;
  void end_span(streamq::streams::span_handle& span, streamq::streams::span_status status,
                std::string_view error) override;
  [[nodiscard]] std::optional<streamq::streams::trace_context> current() const override;

 private:
  opentelemetry::nostd::shared_ptr<opentelemetry::trace::Tracer> tracer_;
};

}  // namespace streamq_otel

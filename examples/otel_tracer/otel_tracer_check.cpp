// Checks examples/otel_tracer against the OpenTelemetry SDK (its in-memory exporter): the SDK
// span continues streamq's parent (a Go producer's traceparent here), carries the kind,
// attributes and status streamq gives, and its IDs are the ones streamq writes; current()
// reads the active span. Exits non-zero, naming the check, when one fails. CTest runs it
// (examples/otel_tracer_check) when opentelemetry-cpp is installed.
#include "otel_tracer.hpp"

#include <opentelemetry/exporters/memory/in_memory_span_data.h>
#include <opentelemetry/exporters/memory/in_memory_span_exporter_factory.h>
#include <opentelemetry/sdk/trace/simple_processor_factory.h>
#include <opentelemetry/sdk/trace/span_data.h>
#include <opentelemetry/sdk/trace/tracer_provider.h>
#include <opentelemetry/sdk/trace/tracer_provider_factory.h>
#include <opentelemetry/trace/scope.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace otel = opentelemetry;
namespace sq = streamq::streams;

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "otel_tracer_check: FAILED: %s\n", what);
  ++failures;
}

std::string attribute(const otel::sdk::trace::SpanData& span, const std::string& name) {
  const auto& all = span.GetAttributes();
  const auto it = all.find(name);
  if (it == all.end() || !otel::nostd::holds_alternative<std::string>(it->second)) return {};
  return otel::nostd::get<std::string>(it->second);
}

}  // namespace

int main() {
  std::shared_ptr<otel::exporter::memory::InMemorySpanData> exported;
  auto exporter = otel::exporter::memory::InMemorySpanExporterFactory::Create(exported);
  std::shared_ptr<otel::sdk::trace::TracerProvider> provider =
      otel::sdk::trace::TracerProviderFactory::Create(
          otel::sdk::trace::SimpleSpanProcessorFactory::Create(std::move(exporter)));
  streamq_otel::otel_tracer hook(provider->GetTracer("streamq"));

  // A consumer span under a Go producer's context.
  const auto parent = *sq::parse_traceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE");
  const std::array<sq::span_attribute, 2> attributes{{
      {sq::span_attributes::destination, "orders"},
      {sq::span_attributes::operation_type, "process"},
  }};
  const sq::span_start start{sq::span_kind::consumer, "process orders", &parent, attributes,
                             std::chrono::system_clock::now() - std::chrono::milliseconds(5)};
  auto span = hook.start_span(start, sq::child_of(parent));
  hook.end_span(span, sq::span_status::error, "downstream down");

  auto spans = exported->GetSpans();
  expect(spans.size() == 1, "one span exported");
  if (spans.size() == 1) {
    const auto& s = *spans[0];
    const auto context = streamq_otel::from_otel(s.GetSpanContext());
    expect(context.trace_id == parent.trace_id, "the span continues the parent's trace");
    expect(context == span.context, "the handle carries the SDK span's IDs");
    expect(context.tracestate == parent.tracestate, "the tracestate is kept");
    std::array<std::uint8_t, 8> parent_id{};
    s.GetParentSpanId().CopyBytesTo(otel::nostd::span<std::uint8_t, 8>(parent_id.data(), 8));
    expect(parent_id == parent.span_id, "its parent is the producer's span");
    expect(s.GetName() == "process orders", "the name is streamq's");
    expect(s.GetSpanKind() == otel::trace::SpanKind::kConsumer, "the kind is consumer");
    expect(attribute(s, "messaging.destination.name") == "orders", "the attributes are kept");
    expect(s.GetStatus() == otel::trace::StatusCode::kError, "the status is an error");
    expect(s.GetDescription() == "downstream down", "with the error's text");
  }

  // current(): the active span, or nothing; a root span ignores the active one.
  expect(!hook.current().has_value(), "no current context without an active span");
  auto active = provider->GetTracer("app")->StartSpan("request");
  {
    const otel::trace::Scope scope(active);
    const auto current = hook.current();
    expect(current.has_value() &&
               *current == streamq_otel::from_otel(active->GetContext()),
           "current() is the active span's context");
    const sq::span_start root{sq::span_kind::producer, "publish orders", nullptr, {},
                              std::chrono::system_clock::now()};
    auto root_span = hook.start_span(root, sq::new_trace());
    expect(root_span.context.trace_id != current->trace_id, "a root span starts a new trace");
    hook.end_span(root_span, sq::span_status::ok, {});
  }
  active->End();
  if (failures == 0) std::puts("otel_tracer_check: ok");
  return failures == 0 ? 0 : 1;
}

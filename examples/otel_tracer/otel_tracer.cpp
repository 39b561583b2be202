// streamq's tracing hook on the OpenTelemetry C++ API (otel_tracer.hpp).
#include "otel_tracer.hpp"

#include <opentelemetry/common/attribute_value.h>
#include <opentelemetry/common/timestamp.h>
#include <opentelemetry/context/context.h>
#include <opentelemetry/context/runtime_context.h>
#include <opentelemetry/nostd/span.h>
#include <opentelemetry/trace/context.h>
#include <opentelemetry/trace/span.h>
#include <opentelemetry/trace/span_metadata.h>
#include <opentelemetry/trace/span_startoptions.h>
#include <opentelemetry/trace/trace_state.h>

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

namespace streamq_otel {

namespace otel = opentelemetry;
namespace sq = streamq::streams;

otel::trace::SpanContext to_otel(const sq::trace_context& c, bool remote) {
  return otel::trace::SpanContext(
      otel::trace::TraceId(otel::nostd::span<const std::uint8_t, 16>(c.trace_id.data(), 16)),
      otel::trace::SpanId(otel::nostd::span<const std::uint8_t, 8>(c.span_id.data(), 8)),
      otel::trace::TraceFlags(c.flags), remote,
      c.tracestate.empty() ? otel::trace::TraceState::GetDefault()
                           : otel::trace::TraceState::FromHeader(c.tracestate));
}

sq::trace_context from_otel(const otel::trace::SpanContext& c) {
  sq::trace_context out;
  c.trace_id().CopyBytesTo(otel::nostd::span<std::uint8_t, 16>(out.trace_id.data(), 16));
  c.span_id().CopyBytesTo(otel::nostd::span<std::uint8_t, 8>(out.span_id.data(), 8));
  out.flags = c.trace_flags().flags();
  if (c.trace_state()) out.tracestate = c.trace_state()->ToHeader();
  return out;
}

namespace {

otel::trace::SpanKind kind_of(sq::span_kind kind) {
  switch (kind) {
    case sq::span_kind::producer: return otel::trace::SpanKind::kProducer;
    case sq::span_kind::consumer: return otel::trace::SpanKind::kConsumer;
    case sq::span_kind::internal: return otel::trace::SpanKind::kInternal;
  }
  return otel::trace::SpanKind::kInternal;
}

}  // namespace

sq::span_handle otel_tracer::start_span(const sq::span_start& start, sq::trace_context proposed) {
  otel::trace::StartSpanOptions options;
  options.kind = kind_of(start.kind);
  if (start.parent != nullptr) {
    options.parent = to_otel(*start.parent, true);
  } else {
    // A root span: streamq found no parent (its current() included), so the active span must
    // not be taken behind its back (an invalid SpanContext would fall back to it).
    otel::context::Context root;
    options.parent = root.SetValue(otel::trace::kIsRootSpanKey, true);
  }
  // The SDK wants both clocks when a start time is given: the steady one placed as far back.
  const auto ago = std::chrono::system_clock::now() - start.start_time;
  options.start_system_time = otel::common::SystemTimestamp(start.start_time);
  options.start_steady_time = otel::common::SteadyTimestamp(
      std::chrono::steady_clock::now() -
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(ago));
  std::vector<std::pair<otel::nostd::string_view, otel::common::AttributeValue>> attributes;
  attributes.reserve(start.attributes.size());
  for (const auto& a : start.attributes)
    attributes.emplace_back(otel::nostd::string_view(a.key.data(), a.key.size()),
                            otel::nostd::string_view(a.value.data(), a.value.size()));
  auto span = tracer_->StartSpan(otel::nostd::string_view(start.name.data(), start.name.size()),
                                 attributes, options);
  sq::trace_context context = from_otel(span->GetContext());
  // A non-recording tracer (no SDK installed) gives an invalid context: streamq's IDs then.
  if (!context.valid()) context = std::move(proposed);
  // The SDK span rides in the handle's state until end_span().
  auto state = std::make_shared<otel::nostd::shared_ptr<otel::trace::Span>>(std::move(span));
  return sq::span_handle{std::move(context), std::move(state)};
}

void otel_tracer::end_span(sq::span_handle& span, sq::span_status status, std::string_view error) {
  auto* held = static_cast<otel::nostd::shared_ptr<otel::trace::Span>*>(span.state.get());
  if (held == nullptr || !*held) return;
  if (status == sq::span_status::error)
    (*held)->SetStatus(otel::trace::StatusCode::kError,
                       otel::nostd::string_view(error.data(), error.size()));
  else
    (*held)->SetStatus(otel::trace::StatusCode::kOk);
  (*held)->End();
}

std::optional<sq::trace_context> otel_tracer::current() const {
  const auto active = otel::trace::GetSpan(otel::context::RuntimeContext::GetCurrent());
  const auto context = active->GetContext();
  if (!context.IsValid()) return std::nullopt;
  return from_otel(context);
}

}  // namespace streamq_otel

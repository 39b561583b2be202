#pragma once
// Starting and ending spans through a tracing hook that may be absent or may throw
// (include/streamq/streams/tracing.hpp): what the publisher and the consumer share.

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/tracing.hpp>

#include <optional>
#include <string_view>

namespace streamq::streams::detail {

// Starts a span: through `hook` if there is one, else the span is only its context. Its
// context is a child of start.parent (a new trace without one), or the hook's own IDs.
[[nodiscard]] span_handle start_span(tracer* hook, const span_start& start);
// Ends it (nothing without a hook); what the hook throws is swallowed.
void end_span(tracer* hook, span_handle& span, span_status status,
              std::string_view error = {}) noexcept;

// The context an envelope's traceparent and tracestate headers carry, if its traceparent is
// valid (an invalid tracestate is dropped, the traceparent kept).
[[nodiscard]] std::optional<trace_context> trace_of(const v1::Envelope& envelope);
// Writes `context` into the envelope's traceparent and tracestate headers (tracestate removed
// when the context has none).
void set_trace_headers(v1::Envelope& envelope, const trace_context& context);

}  // namespace streamq::streams::detail

// The tracing hook's calls, guarded (support/spans.hpp).
#include "support/spans.hpp"

#include <memory>


namespace streamq::streams::detail {

namespace {
// The state of a span whose start_span() threw: the hook does not know it, so end_span()
// must not be called with it.
const std::shared_ptr<void>& not_started() {
  static int marker = 0;
  static const std::shared_ptr<void> state(&marker, [](int*) {});
  return state;
}
}  // namespace

span_handle start_span(tracer* hook, const span_start& start) {
  span_handle span{start.parent != nullptr ? child_of(*start.parent) : new_trace(), {}};
  if (hook == nullptr) return span;
  try {
    span_handle hooked = hook->start_span(start, span.context);
    if (!hooked.context.valid()) hooked.context = span.context;
    return hooked;
  } catch (...) {
    // A hook must not break publishing or handling: the span is streamq's own.
    span.state = not_started();
    return span;
  }
}

void end_span(tracer* hook, span_handle& span, span_status status,
              std::string_view error) noexcept {
  if (hook == nullptr || span.state == not_started()) return;
  try {
    hook->end_span(span, status, error);
  } catch (...) {
    // as in start_span()
  }
}

std::optional<trace_context> trace_of(const v1::Envelope& envelope) {
  const auto& headers = envelope.headers();
  const auto parent = headers.find(std::string(traceparent_header));
  if (parent == headers.end()) return std::nullopt;
  const auto state = headers.find(std::string(tracestate_header));
  return parse_traceparent(parent->second,
                           state == headers.end() ? std::string_view() : state->second);
}

void set_trace_headers(v1::Envelope& envelope, const trace_context& context) {
  auto& headers = *envelope.mutable_headers();
  headers[std::string(traceparent_header)] = format_traceparent(context);
  if (context.tracestate.empty())
    headers.erase(std::string(tracestate_header));
  else
    headers[std::string(tracestate_header)] = context.tracestate;
}

}  // namespace streamq::streams::detail

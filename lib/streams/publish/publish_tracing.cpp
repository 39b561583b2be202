// A publish's trace: its parent, its spans and the headers written under them
// (publish/publish_tracing.hpp).
#include "publish/publish_tracing.hpp"

#include "support/spans.hpp"

#include <array>
#include <chrono>

namespace streamq::streams::detail {

std::optional<trace_context> publish_spans::parent(
    const std::optional<trace_context>& explicit_trace,
    std::optional<trace_context> from_headers) const {
  if (explicit_trace && explicit_trace->valid()) return explicit_trace;
  if (from_headers) return from_headers;
  if (hook_ != nullptr) {
    try {
      if (auto current = hook_->current(); current && current->valid()) return current;
    } catch (...) {
      // a hook must not break publishing: a new trace
    }
  }
  return std::nullopt;
}

std::optional<trace_context> publish_spans::parent(const envelope_options& options) const {
  std::optional<trace_context> from_headers;
  if (const auto it = options.headers.find(std::string(traceparent_header));
      it != options.headers.end()) {
    const auto state = options.headers.find(std::string(tracestate_header));
    from_headers = parse_traceparent(
        it->second, state == options.headers.end() ? std::string_view() : state->second);
  }
  return parent(options.trace, std::move(from_headers));
}

std::optional<trace_context> publish_spans::begin(const std::optional<trace_context>& parent,
                                                  std::string_view message_id) {
  if (hook_ == nullptr) {
    if (!inject_) return std::nullopt;
    return parent ? *parent : new_trace();
  }
  namespace attr = span_attributes;
  const std::array<span_attribute, 5> attributes{{
      {attr::system, std::string(messaging_system)},
      {attr::destination, topic_},
      {attr::operation_name, "publish"},
      {attr::operation_type, "send"},
      {attr::message_id, std::string(message_id)},
  }};
  const std::string name = "publish " + topic_;
  const span_start start{span_kind::producer, name, parent ? &*parent : nullptr, attributes,
                         std::chrono::system_clock::now()};
  spans_.push_back(start_span(hook_, start));
  if (!inject_) return std::nullopt;
  return spans_.back().context;
}

void publish_spans::begin(v1::Envelope& envelope,
                          const std::optional<trace_context>& explicit_trace) {
  if (hook_ == nullptr && !inject_) return;
  if (auto context = begin(parent(explicit_trace, trace_of(envelope)), envelope.message_id()))
    set_trace_headers(envelope, *context);
}

void publish_spans::end(span_status status, std::string_view error) noexcept {
  for (auto& span : spans_) end_span(hook_, span, status, error);
  spans_.clear();
}

}  // namespace streamq::streams::detail

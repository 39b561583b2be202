#pragma once
// The trace of a publish (docs/tracing.md): which context it continues, its publish span
// (one per envelope), the traceparent written under it, and the span's end when the publish
// ends.

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/tracing.hpp>

#include <boost/asio/awaitable.hpp>

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamq::streams::detail {

class publish_spans {
 public:
  // `hook` may be null; `inject` is publisher_config::inject_trace_context.
  publish_spans(tracer* hook, bool inject, std::string_view topic)
      : hook_(hook), inject_(inject), topic_(hook != nullptr ? topic : std::string_view()) {}
  publish_spans(publish_spans&&) noexcept = default;
  publish_spans& operator=(publish_spans&&) noexcept = default;
  publish_spans(const publish_spans&) = delete;
  publish_spans& operator=(const publish_spans&) = delete;
  ~publish_spans() { end(span_status::error, "publish abandoned"); }

  // The context a publish continues, in precedence order: `explicit_trace`
  // (envelope_options::trace), `from_headers` (a traceparent the message carries already), the
  // hook's current(); nullopt for a new trace.
  [[nodiscard]] std::optional<trace_context> parent(
      const std::optional<trace_context>& explicit_trace,
      std::optional<trace_context> from_headers) const;

  // Starts the publish span of one message (with a hook) and returns the context its
  // traceparent carries: the span's; without a hook, `parent` itself (no span of streamq's
  // stands between the parent and the consumers), or a new trace. Nullopt when nothing is to
  // be written (injection off).
  std::optional<trace_context> begin(const std::optional<trace_context>& parent,
                                     std::string_view message_id);
  // parent() of a publish with `options` (its trace, else its traceparent header).
  [[nodiscard]] std::optional<trace_context> parent(const envelope_options& options) const;
  // begin() for an envelope, its headers written (its own traceparent is its parent unless
  // `explicit_trace` is given).
  void begin(v1::Envelope& envelope, const std::optional<trace_context>& explicit_trace = {});

  // Ends every span begun (once).
  void end(span_status status, std::string_view error = {}) noexcept;
  [[nodiscard]] bool has_spans() const noexcept { return !spans_.empty(); }

 private:
  tracer* hook_ = nullptr;
  bool inject_ = true;
  std::string topic_;  // for span names and attributes: only with a hook
  std::vector<span_handle> spans_;
};

// `op` within `spans`: their end follows its outcome. Without spans, `op` itself (no frame).
template <class T>
boost::asio::awaitable<T> traced_body(publish_spans spans, boost::asio::awaitable<T> op) {
  std::exception_ptr failure;
  std::string what;
  try {
    T result = co_await std::move(op);
    spans.end(span_status::ok);
    co_return result;
  } catch (const std::exception& e) {
    what = e.what();
    failure = std::current_exception();
  }
  spans.end(span_status::error, what);
  std::rethrow_exception(failure);
}

template <class T>
boost::asio::awaitable<T> traced(publish_spans spans, boost::asio::awaitable<T> op) {
  if (!spans.has_spans()) return op;
  return traced_body(std::move(spans), std::move(op));
}

}  // namespace streamq::streams::detail

#pragma once
// Trace context (W3C Trace Context level 1, https://www.w3.org/TR/trace-context/) carried in an
// envelope's headers, and the tracing hook (docs/tracing.md).
//
// Publishing writes two headers into every envelope (docs/wire-format.md, "Trace context"):
//   traceparent  00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>
//   tracestate   vendor list, copied as received (absent when there is none)
// Consuming reads them back; a missing or invalid traceparent starts a new trace (a message is
// never refused for its trace headers). message_context::trace is the handler's context, and
// publish_options() continues it.
//
// A `tracer` (publisher_config::tracing, consumer_config::tracing) is told of each span:
// publish (producer), receive and process (consumer), retry and dead letter (internal, children
// of the process span), with OpenTelemetry's messaging attribute names. examples/otel_tracer is
// an adapter to the OpenTelemetry C++ SDK.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace streamq::streams {

inline constexpr std::string_view traceparent_header = "traceparent";
inline constexpr std::string_view tracestate_header = "tracestate";
// Longest tracestate kept, and most list members (W3C: a longer one may be dropped entirely).
inline constexpr std::size_t max_tracestate_bytes = 512;
inline constexpr std::size_t max_tracestate_members = 32;

struct trace_context {
  std::array<std::uint8_t, 16> trace_id{};
  // The span this context names: a traceparent's parent-id.
  std::array<std::uint8_t, 8> span_id{};
  std::uint8_t flags = 0;  // trace-flags; bit 0 is "sampled"
  std::string tracestate;  // as received, or empty

  static constexpr std::uint8_t sampled_flag = 0x01;

  // Both IDs non-zero (W3C: an all-zero trace-id or parent-id is invalid).
  [[nodiscard]] bool valid() const noexcept;
  [[nodiscard]] bool sampled() const noexcept { return (flags & sampled_flag) != 0; }
  // Lowercase hex: 32 and 16 characters.
  [[nodiscard]] std::string trace_id_hex() const;
  [[nodiscard]] std::string span_id_hex() const;
  friend bool operator==(const trace_context&, const trace_context&) = default;
};

// A traceparent header's context, or nullopt if it is not valid per W3C Trace Context level 1:
// version 00 exactly 55 characters; lowercase hex only; version ff, an all-zero trace-id or
// parent-id invalid; a later version is read by its first four fields, which must be followed
// by the end or by '-'. `tracestate` is kept when valid_tracestate() accepts it, else dropped.
[[nodiscard]] std::optional<trace_context> parse_traceparent(std::string_view traceparent,
                                                             std::string_view tracestate = {});
// "00-<trace-id>-<span-id>-<flags>", traceparent_size characters.
inline constexpr std::size_t traceparent_size = 55;
[[nodiscard]] std::string format_traceparent(const trace_context& context);
// The same written at `out`, traceparent_size characters (no allocation).
void write_traceparent(const trace_context& context, char* out) noexcept;
// At most max_tracestate_bytes of printable ASCII in at most max_tracestate_members
// comma-separated members (empty ones, allowed by W3C, not counted). Empty is valid.
[[nodiscard]] bool valid_tracestate(std::string_view tracestate) noexcept;

// Random IDs from a per-thread generator seeded once from std::random_device: cheap enough to
// call on every publish. Never all zero.
[[nodiscard]] std::array<std::uint8_t, 16> new_trace_id();
[[nodiscard]] std::array<std::uint8_t, 8> new_span_id();
// A new trace (sampled), and a span of `parent`'s trace (its flags and tracestate kept).
[[nodiscard]] trace_context new_trace();
[[nodiscard]] trace_context child_of(const trace_context& parent);

// ---- the tracing hook ----

enum class span_kind : std::uint8_t { producer, consumer, internal };
enum class span_status : std::uint8_t { ok, error };

struct span_attribute {
  std::string_view key;  // an OpenTelemetry attribute name, e.g. messaging.destination.name
  std::string value;
};

// Attribute names streamq sets (OpenTelemetry semantic conventions for messaging, and its own).
namespace span_attributes {
inline constexpr std::string_view system = "messaging.system";  // always messaging_system
inline constexpr std::string_view destination = "messaging.destination.name";  // the topic
inline constexpr std::string_view partition = "messaging.destination.partition.id";
inline constexpr std::string_view group = "messaging.consumer.group.name";
inline constexpr std::string_view message_id = "messaging.message.id";  // Envelope.message_id
inline constexpr std::string_view operation_name = "messaging.operation.name";
inline constexpr std::string_view operation_type = "messaging.operation.type";
inline constexpr std::string_view entry_id = "streamq.entry_id";  // the stream entry ID
inline constexpr std::string_view attempt = "streamq.attempt";    // 0 on the first run
}  // namespace span_attributes
// messaging.system: not one of OpenTelemetry's listed values, which name brokers; streamq is
// the messaging protocol on top of Redis Streams.
inline constexpr std::string_view messaging_system = "streamq";

struct span_start {
  span_kind kind = span_kind::internal;
  // "<operation> <topic>": "publish orders", "receive orders", "process orders",
  // "retry orders", "dead_letter orders".
  std::string_view name;
  const trace_context* parent = nullptr;  // nullptr: a root span (a new trace)
  std::span<const span_attribute> attributes;
  std::chrono::system_clock::time_point start_time;  // receive spans start at the read
};

// A started span: its own context (what a traceparent written under it names), and the hook's
// own state (an SDK span, say), which streamq only hands back to end_span().
struct span_handle {
  trace_context context;
  std::shared_ptr<void> state;
};

// The tracing hook. Called on the thread that publishes or runs the consumer; must not block.
// An exception thrown by it is caught and ignored: a span whose start_span() threw is then
// streamq's own, and end_span() is not called for it. Every other span is ended once.
class tracer {
 public:
  virtual ~tracer() = default;
  // `proposed` is the context streamq made for the span: the parent's trace ID (a new one for
  // a root span) and a new span ID. Return it, or the hook's own IDs in its place (an SDK
  // span's); a returned context that is not valid() is replaced by `proposed`.
  virtual span_handle start_span(const span_start& start, trace_context proposed) = 0;
  virtual void end_span(span_handle& span, span_status status, std::string_view error) = 0;
  // The caller's current context (e.g. OpenTelemetry's RuntimeContext), used by a publish
  // that has no trace of its own (envelope_options::trace, a traceparent header).
  [[nodiscard]] virtual std::optional<trace_context> current() const { return std::nullopt; }
};

}  // namespace streamq::streams

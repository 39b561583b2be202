#pragma once
// A streamq.v1.Envelope's wire encoding written straight from its parts into one string, with
// no v1::Envelope built: the bytes libprotobuf's SerializeToString() gives for an Envelope
// holding the same values. Fields in number order, zero values left out (proto3), every
// header one map entry {1: name, 2: value} with both written, as libprotobuf writes them; the
// headers in the order given (libprotobuf writes its unordered map in hash order, so only an
// envelope with at most one header has a single encoding).
//
// envelope_draft is publisher::publish's use of it: the message and its options are read and
// checked at the call, then numbered and completed when the publish runs.

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/tracing.hpp>

#include <google/protobuf/message.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace streamq::streams::detail {

// Bytes of `value` as a protobuf varint: seven bits a byte, at least one byte.
constexpr std::size_t varint_size(std::uint64_t value) noexcept {
  return (static_cast<std::size_t>(std::bit_width(value | 1u)) + 6) / 7;
}

// Writes `value` as a varint at `out`; returns the position after it.
inline char* put_varint(char* out, std::uint64_t value) noexcept {
  while (value >= 0x80) {
    *out++ = static_cast<char>(value | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<char>(value);
  return out;
}

// Fields 1 to 9 of an Envelope (those before its numbering), the payload aside. Views: what
// they show must outlive the writer that measured them.
struct envelope_head {
  std::string_view message_id;
  std::string_view type;
  std::int64_t created_at_unix_ms = 0;
  std::uint32_t attempt = 0;
  const std::map<std::string, std::string>* headers = nullptr;  // none when null
  // Trace headers written after `headers` (in place of theirs of the same names) when
  // traceparent is not empty (docs/tracing.md); tracestate only when not empty either.
  std::string_view traceparent;
  std::string_view tracestate;
  std::uint32_t schema_version = 0;
  std::string_view idempotency_key;
  std::string_view partition_key;
};

// Measures an envelope_head with a payload of a given size at construction, then writes it.
// The head and the tail (fields 10 and 11, sequence and producer_id) are written separately,
// so that the head can be written before the sequence number is known.
class envelope_writer {
 public:
  envelope_writer(const envelope_head& head, std::size_t payload_size) noexcept;

  // Encoded size of fields 1 to 9.
  [[nodiscard]] std::size_t head_size() const noexcept { return head_size_; }
  // Encoded size of fields 10 and 11 (nothing for a zero sequence or an empty producer_id).
  [[nodiscard]] static std::size_t tail_size(std::uint64_t sequence,
                                             std::string_view producer_id) noexcept;

  // Appends fields 1 to 9 to `out`, the payload written in place by
  // payload.SerializeWithCachedSizesToArray(): payload.ByteSizeLong() must have been called
  // last, returning payload_size, and `payload` not changed since (std::logic_error
  // otherwise, before anything is written). Allocates only when out.capacity() is short.
  void append_head(std::string& out, const google::protobuf::MessageLite& payload) const;
  // The same with the payload's bytes given, payload_size of them.
  void append_head(std::string& out, std::string_view payload) const;
  // Appends fields 10 and 11 to `out`.
  static void append_tail(std::string& out, std::uint64_t sequence, std::string_view producer_id);

  // Where append_head() writes the payload and the idempotency key, counted from the start of
  // what it writes.
  [[nodiscard]] std::size_t payload_offset() const noexcept { return payload_offset_; }
  [[nodiscard]] std::size_t idempotency_key_offset() const noexcept { return key_offset_; }
  // Where the traceparent header's value is written (when head.traceparent is not empty).
  [[nodiscard]] std::size_t traceparent_offset() const noexcept { return traceparent_offset_; }

 private:
  // Fields 1 and 2 and the payload's tag and size; returns where the payload goes.
  char* write_before_payload(char* out) const noexcept;
  // Fields 4 to 9.
  char* write_after_payload(char* out) const noexcept;
  // Resizes `out` for the head: where it starts.
  char* grow_for_head(std::string& out) const;

  envelope_head head_;
  std::size_t payload_size_;
  std::size_t head_size_ = 0;
  std::size_t payload_offset_ = 0;
  std::size_t key_offset_ = 0;
  std::size_t traceparent_offset_ = 0;
};

// The Envelope publisher::publish(topic, message, options) writes, made at the call (the
// message and options are read there): fields 1 to 9 in the one string that becomes the
// entry's `e` field, with room for fields 10 and 11, which number() appends when the publish
// runs. Or the reason check_for_publish() would refuse make_envelope(message, options),
// found at the call and raised by the publish.
class envelope_draft {
 public:
  // Throws what make_envelope(message, options) throws: std::invalid_argument for missing
  // required fields, std::length_error for a message over 2 GiB - 1. `producer_id` is read
  // again by number(): it must outlive the draft (the publisher's configuration).
  // With `traced`, the draft has trace headers (in place of those of options.headers):
  // a traceparent that set_trace() fills in, and `tracestate` unless empty.
  envelope_draft(const google::protobuf::Message& message, const envelope_options& options,
                 std::string_view producer_id, const entry_limits& limits, bool traced = false,
                 std::string_view tracestate = {});

  // errc::invalid_utf8 or errc::message_too_large, as check_for_publish() finds them, with
  // its text in what(); success otherwise.
  [[nodiscard]] error_code refusal() const noexcept { return refusal_; }
  [[nodiscard]] const std::string& what() const noexcept { return what_; }

  // Appends `sequence` and the producer ID and returns the entry's fields (the bytes move
  // there: once per draft). Throws the refusal as boost::system::system_error if there is
  // one, std::length_error if the envelope is over 2 GiB - 1 (as encoding an Envelope does).
  [[nodiscard]] entry_fields number(std::uint64_t sequence);

  // The idempotency key within `envelope`, the bytes number() returned; empty if none.
  [[nodiscard]] std::string_view idempotency_key(std::string_view envelope) const noexcept {
    return envelope.substr(key_offset_, key_size_);
  }

  // The message ID written (before number()); empty for a refused draft.
  [[nodiscard]] std::string_view message_id() const noexcept {
    return std::string_view(bytes_).substr(message_id_offset_, message_id_size_);
  }
  // Writes `context` as the traceparent of a draft made `traced` (nothing otherwise).
  void set_trace(const trace_context& context);

 private:
  std::string bytes_;
  std::string_view producer_id_;
  error_code refusal_;
  std::string what_;
  std::size_t key_offset_ = 0;
  std::size_t key_size_ = 0;
  std::size_t message_id_offset_ = 0;
  std::size_t message_id_size_ = 0;
  std::size_t traceparent_offset_ = 0;  // 0: not traced (the envelope starts with field 1)
};

// The rest is the wire format (protobuf's encoding is public and fixed) and the writer's body.
namespace envelope_wire {

enum wire_type : std::uint8_t { varint = 0, length_delimited = 2 };

// A field's tag, one byte for field numbers below 16.
constexpr char tag(int number, wire_type type) noexcept {
  return static_cast<char>((number << 3) | type);
}
static_assert(v1::Envelope::kProducerIdFieldNumber < 16, "every Envelope tag is one byte");

// Tags of the Envelope's fields.
namespace field_tag {
constexpr char message_id = tag(v1::Envelope::kMessageIdFieldNumber, length_delimited);
constexpr char type = tag(v1::Envelope::kTypeFieldNumber, length_delimited);
constexpr char payload = tag(v1::Envelope::kPayloadFieldNumber, length_delimited);
constexpr char created_at = tag(v1::Envelope::kCreatedAtUnixMsFieldNumber, varint);
constexpr char attempt = tag(v1::Envelope::kAttemptFieldNumber, varint);
constexpr char headers = tag(v1::Envelope::kHeadersFieldNumber, length_delimited);
constexpr char schema_version = tag(v1::Envelope::kSchemaVersionFieldNumber, varint);
constexpr char idempotency_key = tag(v1::Envelope::kIdempotencyKeyFieldNumber, length_delimited);
constexpr char partition_key = tag(v1::Envelope::kPartitionKeyFieldNumber, length_delimited);
constexpr char sequence = tag(v1::Envelope::kSequenceFieldNumber, varint);
constexpr char producer_id = tag(v1::Envelope::kProducerIdFieldNumber, length_delimited);
// A map entry is a message {key = 1; value = 2;}.
constexpr char entry_key = tag(1, length_delimited);
constexpr char entry_value = tag(2, length_delimited);
}  // namespace field_tag

// Tag, length and bytes.
constexpr std::size_t bytes_size(std::size_t length) noexcept {
  return 1 + varint_size(length) + length;
}
// A proto3 string or bytes field: nothing when empty.
constexpr std::size_t optional_bytes_size(std::string_view text) noexcept {
  return text.empty() ? 0 : bytes_size(text.size());
}
// A proto3 integer field: nothing when zero.
constexpr std::size_t optional_varint_size(std::uint64_t value) noexcept {
  return value == 0 ? 0 : 1 + varint_size(value);
}
// The inside of a header's map entry.
inline std::size_t entry_size(std::string_view name, std::string_view value) noexcept {
  return bytes_size(name.size()) + bytes_size(value.size());
}
// Whether a header of `head.headers` is written (not replaced by the head's trace headers).
inline bool kept_header(const envelope_head& head, std::string_view name) noexcept {
  return head.traceparent.empty() ||
         (name != traceparent_header && name != tracestate_header);
}

inline char* put_bytes(char* out, char tag_byte, std::string_view text) noexcept {
  *out++ = tag_byte;
  out = put_varint(out, text.size());
  if (!text.empty()) std::memcpy(out, text.data(), text.size());
  return out + text.size();
}
inline char* put_optional_bytes(char* out, char tag_byte, std::string_view text) noexcept {
  return text.empty() ? out : put_bytes(out, tag_byte, text);
}
inline char* put_optional_varint(char* out, char tag_byte, std::uint64_t value) noexcept {
  if (value == 0) return out;
  *out++ = tag_byte;
  return put_varint(out, value);
}

}  // namespace envelope_wire

inline envelope_writer::envelope_writer(const envelope_head& head,
                                        std::size_t payload_size) noexcept
    : head_(head), payload_size_(payload_size) {
  using namespace envelope_wire;
  std::size_t size = optional_bytes_size(head.message_id) + optional_bytes_size(head.type);
  // After the payload's tag and length.
  payload_offset_ = size + (payload_size == 0 ? 0 : 1 + varint_size(payload_size));
  size = payload_offset_ + payload_size;
  size += optional_varint_size(static_cast<std::uint64_t>(head.created_at_unix_ms));
  size += optional_varint_size(head.attempt);
  if (head.headers != nullptr)
    for (const auto& [name, value] : *head.headers)
      if (kept_header(head, name)) size += bytes_size(entry_size(name, value));
  if (!head.traceparent.empty()) {
    const std::size_t entry = entry_size(traceparent_header, head.traceparent);
    traceparent_offset_ = size + 1 + varint_size(entry) + bytes_size(traceparent_header.size()) +
                          1 + varint_size(head.traceparent.size());
    size += bytes_size(entry);
    if (!head.tracestate.empty())
      size += bytes_size(entry_size(tracestate_header, head.tracestate));
  }
  size += optional_varint_size(head.schema_version);
  const std::size_t key_size = head.idempotency_key.size();
  key_offset_ = size + (key_size == 0 ? 0 : 1 + varint_size(key_size));
  size += optional_bytes_size(head.idempotency_key) + optional_bytes_size(head.partition_key);
  head_size_ = size;
}

inline std::size_t envelope_writer::tail_size(std::uint64_t sequence,
                                              std::string_view producer_id) noexcept {
  return envelope_wire::optional_varint_size(sequence) +
         envelope_wire::optional_bytes_size(producer_id);
}

inline char* envelope_writer::write_before_payload(char* out) const noexcept {
  using namespace envelope_wire;
  out = put_optional_bytes(out, field_tag::message_id, head_.message_id);
  out = put_optional_bytes(out, field_tag::type, head_.type);
  if (payload_size_ != 0) {
    *out++ = field_tag::payload;
    out = put_varint(out, payload_size_);
  }
  return out;
}

inline char* envelope_writer::write_after_payload(char* out) const noexcept {
  using namespace envelope_wire;
  out = put_optional_varint(out, field_tag::created_at,
                            static_cast<std::uint64_t>(head_.created_at_unix_ms));
  out = put_optional_varint(out, field_tag::attempt, head_.attempt);
  const auto put_header = [&out](std::string_view name, std::string_view value) {
    *out++ = field_tag::headers;
    out = put_varint(out, entry_size(name, value));
    out = put_bytes(out, field_tag::entry_key, name);
    out = put_bytes(out, field_tag::entry_value, value);
  };
  if (head_.headers != nullptr)
    for (const auto& [name, value] : *head_.headers)
      if (kept_header(head_, name)) put_header(name, value);
  if (!head_.traceparent.empty()) {
    put_header(traceparent_header, head_.traceparent);
    if (!head_.tracestate.empty()) put_header(tracestate_header, head_.tracestate);
  }
  out = put_optional_varint(out, field_tag::schema_version, head_.schema_version);
  out = put_optional_bytes(out, field_tag::idempotency_key, head_.idempotency_key);
  return put_optional_bytes(out, field_tag::partition_key, head_.partition_key);
}

inline char* envelope_writer::grow_for_head(std::string& out) const {
  const std::size_t start = out.size();
  out.resize(start + head_size_);
  return out.data() + start;
}

inline void envelope_writer::append_head(std::string& out,
                                         const google::protobuf::MessageLite& payload) const {
  if (static_cast<std::size_t>(payload.GetCachedSize()) != payload_size_)
    throw std::logic_error("streamq envelope_writer: the payload changed after it was measured");
  char* at = write_before_payload(grow_for_head(out));
  if (payload_size_ != 0)
    at = reinterpret_cast<char*>(
        payload.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(at)));
  write_after_payload(at);
}

inline void envelope_writer::append_head(std::string& out, std::string_view payload) const {
  if (payload.size() != payload_size_)
    throw std::logic_error("streamq envelope_writer: the payload is not the size measured");
  char* at = write_before_payload(grow_for_head(out));
  if (payload_size_ != 0) std::memcpy(at, payload.data(), payload_size_);
  write_after_payload(at + payload_size_);
}

inline void envelope_writer::append_tail(std::string& out, std::uint64_t sequence,
                                         std::string_view producer_id) {
  const std::size_t start = out.size();
  out.resize(start + tail_size(sequence, producer_id));
  using namespace envelope_wire;
  char* at = put_optional_varint(out.data() + start, field_tag::sequence, sequence);
  put_optional_bytes(at, field_tag::producer_id, producer_id);
}

}  // namespace streamq::streams::detail

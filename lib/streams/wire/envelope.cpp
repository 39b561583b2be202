#include <streamq/streams/envelope.hpp>
#include <streamq/streams/message_id.hpp>

#include "publish/envelope_writer.hpp"
#include "publish/publishing.hpp"
#include "commands/script.hpp"
#include "support/shown.hpp"
#include "support/spans.hpp"
#include "wire/wire_strings.hpp"

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace streamq::streams {
namespace {

// The two fields an entry is made of: `v` and the body (`e` or `d`).
struct entry_view {
  std::string_view version;
  std::string_view body;
  int version_count = 0;
  int body_count = 0;
};

template <class String>
bool scan(std::span<const String> fields, std::string_view body_name, entry_view& out) {
  if (fields.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < fields.size(); i += 2) {
    const std::string_view name = fields[i];
    if (name == version_field) {
      out.version = fields[i + 1];
      ++out.version_count;
    } else if (name == body_name) {
      out.body = fields[i + 1];
      ++out.body_count;
    }
  }
  return true;
}

// The string fields of `Message`'s type, looked up once (thread-safe static).
template <class Message>
const detail::string_fields& string_fields_of() {
  static const detail::string_fields fields(Message::descriptor());
  return fields;
}

// Everything decode_entry and decode_dead_letter share: structure, version, size, parse.
template <class String, class Message>
error_code decode_body(std::span<const String> fields, std::string_view body_name,
                       std::size_t max_bytes, Message& out) {
  entry_view entry;
  if (!scan(fields, body_name, entry) || entry.version_count != 1) return errc::malformed_entry;
  if (entry.version != envelope_version) return errc::unknown_envelope_version;
  if (entry.body_count != 1) return errc::malformed_entry;
  if (entry.body.size() > max_bytes || entry.body.size() > std::size_t{INT_MAX})
    return errc::message_too_large;
  if (!string_fields_of<Message>().valid(entry.body)) return errc::malformed_entry;
  if (!out.ParseFromArray(entry.body.data(), static_cast<int>(entry.body.size())))
    return errc::malformed_entry;
  return {};
}

template <class String>
error_code decode_envelope(std::span<const String> fields, v1::Envelope& out,
                           const entry_limits& limits) {
  if (auto ec = decode_body(fields, envelope_field, limits.max_envelope_bytes(), out)) return ec;
  if (out.payload().size() > limits.max_payload_bytes) return errc::message_too_large;
  return {};
}

// The OR of all bytes of `text`, folded into one word, eight bytes at a time: its high bits
// (high_bits) are clear exactly when `text` is ASCII, the common case.
inline std::uint64_t or_of_bytes(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::uint64_t any = 0;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p + i, 8);
    any |= word;
  }
  for (; i < size; ++i) any |= p[i];
  return any;
}
constexpr std::uint64_t high_bits = 0x8080808080808080u;

// The full UTF-8 check, sequence by sequence.
bool utf8_sequences_valid(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p != end) {
    // ASCII, the common case, eight bytes at a time.
    std::uint64_t word = 0;
    while (end - p >= 8 && (std::memcpy(&word, p, 8), (word & high_bits) == 0)) p += 8;
    if (p == end) break;
    if (*p < 0x80) {
      ++p;
      continue;
    }
    // The lead byte sets the count of continuation bytes and the range of the first one,
    // which excludes overlong forms, surrogates (U+D800-DFFF) and code points over U+10FFFF.
    const unsigned char lead = *p;
    int continuation = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      continuation = 1;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      continuation = 2;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      continuation = 3;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (end - p <= continuation || p[1] < low || p[1] > high) return false;
    for (int i = 2; i <= continuation; ++i)
      if ((p[i] & 0xc0) != 0x80) return false;
    p += continuation + 1;
  }
  return true;
}

// Makes `text` valid UTF-8 by writing each byte of an invalid sequence as the text \xNN.
void repair_utf8(std::string& text) {
  if (is_valid_utf8(text)) return;
  std::string out;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t good = 0;  // the longest valid prefix, grown one code point at a time
    for (std::size_t n = 1; n <= 4 && n <= rest.size(); ++n)
      if (is_valid_utf8(rest.substr(0, n))) {
        good = n;
        break;
      }
    if (good > 0) {
      out.append(rest.substr(0, good));
      rest.remove_prefix(good);
    } else {
      out += detail::shown(rest.substr(0, 1), 1);
      rest.remove_prefix(1);
    }
  }
  text = std::move(out);
}

// Protobuf's limit, which its serializers enforce: 2 GiB - 1.
constexpr std::size_t max_serialized_bytes = INT_MAX;

[[noreturn]] void too_large_to_serialize(const std::string& what) {
  throw std::length_error("streamq: " + what + " is too large to serialize (over 2 GiB - 1)");
}

template <class Message>
entry_fields encode_body(std::string_view body_name, const Message& message) {
  entry_fields fields{std::string(version_field), std::string(envelope_version),
                      std::string(body_name), std::string()};
  if (!message.SerializeToString(&fields[3])) too_large_to_serialize(message.GetTypeName());
  return fields;
}

// The size of `message` serialized (left cached in it for SerializeWithCachedSizesToArray),
// after make_envelope's checks: std::invalid_argument when required fields are missing,
// std::length_error over protobuf's limit. `type` is its full name.
std::size_t payload_size_of(const google::protobuf::Message& message, const std::string& type) {
  if (!message.IsInitialized())
    throw std::invalid_argument("streamq: message of type " + type +
                                " lacks required fields: " + message.InitializationErrorString());
  const std::size_t size = message.ByteSizeLong();
  if (size > max_serialized_bytes) too_large_to_serialize("message of type " + type);
  return size;
}

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// validate_envelope_strings() for an Envelope's strings given one by one: `headers` is its
// headers map or a std::map of them.
template <class Headers>
error_code first_invalid_string(std::string_view message_id, std::string_view type,
                                const Headers& headers, std::string_view idempotency_key,
                                std::string_view partition_key, std::string_view producer_id,
                                std::string* field) {
  auto refuse = [&](std::string name) -> error_code {
    if (field != nullptr) *field = std::move(name);
    return errc::invalid_utf8;
  };
  // One pass over every string for the common case, all ASCII; field by field only if not.
  std::uint64_t any = or_of_bytes(message_id) | or_of_bytes(type) | or_of_bytes(idempotency_key) |
                      or_of_bytes(partition_key) | or_of_bytes(producer_id);
  for (const auto& [name, value] : headers) any |= or_of_bytes(name) | or_of_bytes(value);
  if ((any & high_bits) == 0) return {};
  constexpr std::size_t key_shown = 64;
  if (!is_valid_utf8(message_id)) return refuse("message_id");
  if (!is_valid_utf8(type)) return refuse("type");
  for (const auto& [name, value] : headers) {
    if (!is_valid_utf8(name))
      return refuse("headers key \"" + detail::shown(name, key_shown) + "\"");
    if (!is_valid_utf8(value))
      return refuse("headers[\"" + detail::shown(name, key_shown) + "\"] value");
  }
  if (!is_valid_utf8(idempotency_key)) return refuse("idempotency_key");
  if (!is_valid_utf8(partition_key)) return refuse("partition_key");
  if (!is_valid_utf8(producer_id)) return refuse("producer_id");
  return {};
}

}  // namespace

entry_fields encode_entry(const v1::Envelope& envelope) {
  std::string field;
  if (auto ec = validate_envelope_strings(envelope, &field))
    throw boost::system::system_error(ec, "envelope field " + field);
  return encode_body(envelope_field, envelope);
}

entry_fields detail::encode_checked_entry(const v1::Envelope& envelope) {
  return encode_body(envelope_field, envelope);
}

bool is_valid_utf8(std::string_view text) noexcept {
  return (or_of_bytes(text) & high_bits) == 0 || utf8_sequences_valid(text);
}

error_code validate_envelope_strings(const v1::Envelope& envelope, std::string* field) {
  return first_invalid_string(envelope.message_id(), envelope.type(), envelope.headers(),
                              envelope.idempotency_key(), envelope.partition_key(),
                              envelope.producer_id(), field);
}

error_code check_limits(const v1::Envelope& envelope, const entry_limits& limits) noexcept {
  if (envelope.payload().size() > limits.max_payload_bytes ||
      envelope.ByteSizeLong() > limits.max_envelope_bytes())
    return errc::message_too_large;
  return {};
}

error_code decode_entry(std::span<const std::string> fields, v1::Envelope& out,
                        const entry_limits& limits) {
  return decode_envelope(fields, out, limits);
}

error_code decode_entry(std::span<const std::string_view> fields, v1::Envelope& out,
                        const entry_limits& limits) {
  return decode_envelope(fields, out, limits);
}

boost::system::result<v1::Envelope> decode_entry(std::span<const std::string> fields,
                                                 const entry_limits& limits) {
  v1::Envelope envelope;
  if (auto ec = decode_envelope(fields, envelope, limits)) return ec;
  return envelope;
}

entry_fields encode_dead_letter(const v1::DeadLetter& dead_letter) {
  // last_error is often an exception's what(), which may hold any bytes; the envelope inside
  // was decoded (so its strings are valid) or is kept as raw_fields (bytes).
  const std::array texts{
      &dead_letter.original_entry_id(), &dead_letter.topic(),      &dead_letter.group(),
      &dead_letter.last_error(),        &dead_letter.error_code(), &dead_letter.consumer()};
  if (std::all_of(texts.begin(), texts.end(), [](auto* t) { return is_valid_utf8(*t); }))
    return encode_body(dead_letter_field, dead_letter);
  v1::DeadLetter repaired = dead_letter;
  for (std::string* text :
       {repaired.mutable_original_entry_id(), repaired.mutable_topic(), repaired.mutable_group(),
        repaired.mutable_last_error(), repaired.mutable_error_code(), repaired.mutable_consumer()})
    repair_utf8(*text);
  return encode_body(dead_letter_field, repaired);
}

error_code decode_dead_letter(std::span<const std::string> fields, v1::DeadLetter& out) {
  return decode_body(fields, dead_letter_field, std::size_t{INT_MAX}, out);
}

error_code decode_dead_letter(std::span<const std::string_view> fields, v1::DeadLetter& out) {
  return decode_body(fields, dead_letter_field, std::size_t{INT_MAX}, out);
}

std::string content_idempotency_key(std::string_view type, std::string_view payload) {
  std::string data;
  data.reserve(type.size() + 1 + payload.size());
  data.append(type).push_back('\0');
  data.append(payload);
  return "sha256:" + detail::sha256_hex(data);
}

std::string new_producer_id() {
  return new_message_id();
}

std::string producer_id_problem(std::string_view producer_id) {
  if (producer_id.empty()) return "must not be empty";
  if (producer_id.size() > 128) return "must be at most 128 characters";
  for (const char c : producer_id)
    if (c <= ' ' || c > '~')
      return "must be printable ASCII without spaces, not \"" + detail::shown(producer_id, 64) +
             "\"";
  return {};
}

v1::Envelope make_envelope(const google::protobuf::Message& message,
                           const envelope_options& options) {
  const std::string& type = message.GetDescriptor()->full_name();
  const std::size_t payload_size = payload_size_of(message, type);
  const auto created = options.created_at.value_or(std::chrono::system_clock::now());
  v1::Envelope envelope;
  if (options.message_id.empty())
    envelope.set_message_id(new_message_id(created));  // moved in: one allocation fewer
  else
    envelope.set_message_id(options.message_id);
  envelope.set_type(type);
  if (payload_size != 0) {  // an empty payload is left unset: it serializes the same
    std::string& payload = *envelope.mutable_payload();
    payload.resize(payload_size);
    message.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(payload.data()));
  }
  envelope.set_created_at_unix_ms(unix_ms(created));
  auto& headers = *envelope.mutable_headers();
  for (const auto& [name, value] : options.headers) headers[name] = value;
  if (options.trace && options.trace->valid()) detail::set_trace_headers(envelope, *options.trace);
  envelope.set_schema_version(options.schema_version);
  if (!options.idempotency_key.empty())
    envelope.set_idempotency_key(options.idempotency_key);
  else if (options.dedup_by_content)
    envelope.set_idempotency_key(content_idempotency_key(type, envelope.payload()));
  // Setting an empty proto3 string still allocates it; an unset one serializes the same.
  if (!options.partition_key.empty()) envelope.set_partition_key(options.partition_key);
  return envelope;
}

namespace detail {

envelope_draft::envelope_draft(const google::protobuf::Message& message,
                               const envelope_options& options, std::string_view producer_id,
                               const entry_limits& limits, bool traced,
                               std::string_view tracestate)
    : producer_id_(producer_id) {
  // make_envelope(message, options), field by field.
  const std::string& type = message.GetDescriptor()->full_name();
  const std::size_t payload_size = payload_size_of(message, type);
  const auto created = options.created_at.value_or(std::chrono::system_clock::now());
  std::string new_id;  // when the options give none
  if (options.message_id.empty()) new_id = new_message_id(created);
  // A key derived from the content is hashed over the payload where it was written: until
  // then, a key of the same size holds its place.
  static const std::string content_key_placeholder = content_idempotency_key({}, {});
  const bool by_content = options.idempotency_key.empty() && options.dedup_by_content;
  envelope_head head;
  head.message_id = options.message_id.empty() ? new_id : options.message_id;
  head.type = type;
  head.created_at_unix_ms = unix_ms(created);
  head.headers = &options.headers;
  // Filled in by set_trace() once the publish span (which names the message) has started.
  static constexpr std::string_view traceparent_placeholder =
      "00-00000000000000000000000000000000-0000000000000000-00";
  static_assert(traceparent_placeholder.size() == traceparent_size);
  if (traced) {
    head.traceparent = traceparent_placeholder;
    head.tracestate = tracestate;
  }
  head.schema_version = options.schema_version;
  head.idempotency_key = by_content ? content_key_placeholder : options.idempotency_key;
  head.partition_key = options.partition_key;

  // check_for_publish(): the strings (not the producer ID, the publisher's own, checked when
  // it was configured), then the size, with the widest sequence number.
  std::string field;
  if (auto ec = first_invalid_string(head.message_id, head.type, options.headers,
                                     head.idempotency_key, head.partition_key, {}, &field)) {
    refusal_ = ec;
    what_ = invalid_string_what(field);
    return;
  }
  const envelope_writer writer(head, payload_size);
  const std::size_t widest =
      writer.head_size() +
      envelope_writer::tail_size(std::numeric_limits<std::uint64_t>::max(), producer_id);
  if (payload_size > limits.max_payload_bytes || widest > limits.max_envelope_bytes()) {
    refusal_ = errc::message_too_large;
    what_ = too_large_what(payload_size);
    return;
  }
  bytes_.reserve(widest);  // the one allocation: number() appends within it
  writer.append_head(bytes_, message);
  key_offset_ = writer.idempotency_key_offset();
  key_size_ = head.idempotency_key.size();
  message_id_size_ = head.message_id.size();
  message_id_offset_ = message_id_size_ == 0 ? 0 : 1 + varint_size(message_id_size_);
  if (traced) traceparent_offset_ = writer.traceparent_offset();
  if (by_content) {
    const std::string key = content_idempotency_key(
        type, std::string_view(bytes_).substr(writer.payload_offset(), payload_size));
    key.copy(bytes_.data() + key_offset_, key_size_);
  }
}

void envelope_draft::set_trace(const trace_context& context) {
  if (traceparent_offset_ == 0 || refusal_) return;
  write_traceparent(context, bytes_.data() + traceparent_offset_);
}

entry_fields envelope_draft::number(std::uint64_t sequence) {
  if (refusal_) throw boost::system::system_error(refusal_, what_);
  envelope_writer::append_tail(bytes_, sequence, producer_id_);
  if (bytes_.size() > max_serialized_bytes)
    too_large_to_serialize(v1::Envelope::descriptor()->full_name());
  return {std::string(version_field), std::string(envelope_version), std::string(envelope_field),
          std::move(bytes_)};
}

}  // namespace detail

}  // namespace streamq::streams

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/message_id.hpp>

#include "publishing.hpp"
#include "script.hpp"
#include "shown.hpp"
#include "wire_strings.hpp"

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <climits>
#include <cstring>
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

template <class Message>
entry_fields encode_body(std::string_view body_name, const Message& message) {
  entry_fields fields{std::string(version_field), std::string(envelope_version),
                      std::string(body_name), std::string()};
  if (!message.SerializeToString(&fields[3]))
    throw std::length_error("streamq: " + message.GetTypeName() +
                            " is too large to serialize (over 2 GiB - 1)");
  return fields;
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
  auto refuse = [&](std::string name) -> error_code {
    if (field != nullptr) *field = std::move(name);
    return errc::invalid_utf8;
  };
  // One pass over every string for the common case, all ASCII; field by field only if not.
  std::uint64_t any = or_of_bytes(envelope.message_id()) | or_of_bytes(envelope.type()) |
                      or_of_bytes(envelope.idempotency_key()) |
                      or_of_bytes(envelope.partition_key()) | or_of_bytes(envelope.producer_id());
  for (const auto& [name, value] : envelope.headers())
    any |= or_of_bytes(name) | or_of_bytes(value);
  if ((any & high_bits) == 0) return {};
  constexpr std::size_t key_shown = 64;
  if (!is_valid_utf8(envelope.message_id())) return refuse("message_id");
  if (!is_valid_utf8(envelope.type())) return refuse("type");
  for (const auto& [name, value] : envelope.headers()) {
    if (!is_valid_utf8(name))
      return refuse("headers key \"" + detail::shown(name, key_shown) + "\"");
    if (!is_valid_utf8(value))
      return refuse("headers[\"" + detail::shown(name, key_shown) + "\"] value");
  }
  if (!is_valid_utf8(envelope.idempotency_key())) return refuse("idempotency_key");
  if (!is_valid_utf8(envelope.partition_key())) return refuse("partition_key");
  if (!is_valid_utf8(envelope.producer_id())) return refuse("producer_id");
  return {};
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
  if (!message.IsInitialized())
    throw std::invalid_argument("streamq: message of type " + type +
                                " lacks required fields: " + message.InitializationErrorString());
  const auto created = options.created_at.value_or(std::chrono::system_clock::now());
  v1::Envelope envelope;
  if (options.message_id.empty())
    envelope.set_message_id(new_message_id(created));  // moved in: one allocation fewer
  else
    envelope.set_message_id(options.message_id);
  envelope.set_type(type);
  if (!message.SerializeToString(envelope.mutable_payload()))
    throw std::length_error("streamq: message of type " + type +
                            " is too large to serialize (over 2 GiB - 1)");
  envelope.set_created_at_unix_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(created.time_since_epoch()).count());
  auto& headers = *envelope.mutable_headers();
  for (const auto& [name, value] : options.headers) headers[name] = value;
  envelope.set_schema_version(options.schema_version);
  if (!options.idempotency_key.empty())
    envelope.set_idempotency_key(options.idempotency_key);
  else if (options.dedup_by_content)
    envelope.set_idempotency_key(content_idempotency_key(type, envelope.payload()));
  // Setting an empty proto3 string still allocates it; an unset one serializes the same.
  if (!options.partition_key.empty()) envelope.set_partition_key(options.partition_key);
  return envelope;
}

}  // namespace streamq::streams

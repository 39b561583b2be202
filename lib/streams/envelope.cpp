#include <streamq/streams/envelope.hpp>
#include <streamq/streams/message_id.hpp>

#include "script.hpp"

#include <climits>
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
  return encode_body(envelope_field, envelope);
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
  return encode_body(dead_letter_field, dead_letter);
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

v1::Envelope make_envelope(const google::protobuf::Message& message,
                           const envelope_options& options) {
  const std::string& type = message.GetDescriptor()->full_name();
  if (!message.IsInitialized())
    throw std::invalid_argument("streamq: message of type " + type +
                                " lacks required fields: " + message.InitializationErrorString());
  const auto created = options.created_at.value_or(std::chrono::system_clock::now());
  v1::Envelope envelope;
  envelope.set_message_id(options.message_id.empty() ? new_message_id(created)
                                                     : options.message_id);
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
  envelope.set_partition_key(options.partition_key);
  return envelope;
}

}  // namespace streamq::streams

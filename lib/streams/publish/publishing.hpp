#pragma once
// What publisher and durable_publisher share: the checks an envelope passes before anything is
// written, and its numbering (sequence and producer_id). Their commands are in
// commands/publish_requests.hpp.
// publisher::publish of a typed message makes the same checks through envelope_draft
// (publish/envelope_writer.hpp), without building the envelope.

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace streamq::streams::detail {

// encode_entry() without its check of the strings, for an envelope check_for_publish()
// passed: the check is then done once per publish (envelope.cpp).
[[nodiscard]] entry_fields encode_checked_entry(const v1::Envelope& envelope);

// The text of check_for_publish()'s refusals (envelope_draft gives the same).
inline std::string invalid_string_what(const std::string& field) {
  return "envelope field " + field;
}
inline std::string too_large_what(std::size_t payload_bytes) {
  return "message of " + std::to_string(payload_bytes) + " payload bytes";
}

// Why `envelope` may not be published, found before anything is written: a string field that
// is not UTF-8 (errc::invalid_utf8), or the message over `limits` (errc::message_too_large);
// `what` then says which field or how large. An envelope without a sequence gets
// `producer_id` and is measured with the widest sequence number, so that numbering it
// afterwards (number()) cannot push it over the limit; `unnumbered` tells the caller to.
inline error_code check_for_publish(v1::Envelope& envelope, const std::string& producer_id,
                                    const entry_limits& limits, std::string& what,
                                    bool& unnumbered) {
  std::string field;
  if (auto ec = validate_envelope_strings(envelope, &field)) {
    what = invalid_string_what(field);
    return ec;
  }
  unnumbered = envelope.sequence() == 0;
  if (unnumbered) {
    envelope.set_producer_id(producer_id);
    envelope.set_sequence(std::numeric_limits<std::uint64_t>::max());
  }
  if (auto ec = check_limits(envelope, limits)) {
    what = too_large_what(envelope.payload().size());
    return ec;
  }
  return {};
}

}  // namespace streamq::streams::detail

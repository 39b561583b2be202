// libFuzzer target for the stream entry decoders (lib/streams/wire/envelope.cpp): decode_entry and
// decode_dead_letter. Input: byte 0 chooses the entry's shape (bits below); bytes 1.. are the
// value of its body field (`e`, or `d` for a dead letter).
// Invariants: no crash; a decoded message re-encodes and decodes to an equal message; a
// foreign version is always unknown_envelope_version; a repeated body is always malformed;
// every error is one of the decoders' documented codes; the partition key scanned without
// decoding (sansio/envelope_scan.hpp) is the decoded one.

#include <streamq/streams/envelope.hpp>

#include "streams/sansio/envelope_scan.hpp"

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace streams = streamq::streams;
using google::protobuf::util::MessageDifferencer;

namespace {

enum shape_bits : std::uint8_t {
  dead_letter = 1,    // decode_dead_letter instead of decode_entry
  version_two = 2,    // `v` is "2" instead of "1"
  extra_field = 4,    // an unknown field before the body
  repeated_body = 8,  // the body field twice
  small_limits = 16,  // limits of 64 + 64 bytes instead of the defaults
  reversed = 32,      // the body before `v`
};

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_envelope: invariant violated: %s\n", what);
    std::abort();
  }
}

// `decode(fields, out, limits)` is decode_entry or decode_dead_letter.
template <class Message, class Decode>
void check(const std::vector<std::string_view>& fields, std::string_view body_name,
           std::uint8_t shape, const streams::entry_limits& limits, Decode decode) {
  Message out;
  const auto ec = decode(fields, out, limits);
  if (shape & version_two) {
    require(ec == streams::errc::unknown_envelope_version, "foreign version not reported");
    return;
  }
  if (shape & repeated_body) {
    require(ec == streams::errc::malformed_entry, "repeated body accepted");
    return;
  }
  if (ec) {
    require(ec == streams::errc::malformed_entry || ec == streams::errc::message_too_large,
            "undocumented error code");
    return;
  }
  if constexpr (std::is_same_v<Message, streamq::v1::Envelope>) {
    require(out.payload().size() <= limits.max_payload_bytes, "payload over the limit");
    // Per-key ordering reads the key without decoding: it must find the decoded one.
    const std::string_view body = fields[(shape & reversed) ? 1 : fields.size() - 1];
    const auto key = streams::detail::scan_partition_key(body);
    require(key.has_value() && *key == out.partition_key(), "scanned key differs from decoded");
  }
  // Re-encoding what was decoded gives an entry that decodes to the same message. (Its size
  // may differ: protobuf writes map entries and varints canonically.)
  const std::string again = out.SerializeAsString();
  const std::vector<std::string_view> round{"v", "1", body_name, again};
  Message twice;
  require(!decode(round, twice, streams::entry_limits{SIZE_MAX / 4, 0}),
          "re-encoded entry does not decode");
  require(MessageDifferencer::Equals(out, twice), "re-encoded entry decodes differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 is logged as an error
    return true;
  }();
  static_cast<void>(quiet);
  if (size == 0) return 0;
  const std::uint8_t shape = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view body_name =
      (shape & dead_letter) ? streams::dead_letter_field : streams::envelope_field;

  std::vector<std::string_view> fields;
  if (shape & reversed) fields.insert(fields.end(), {body_name, body});
  fields.insert(fields.end(), {"v", (shape & version_two) ? "2" : "1"});
  if (shape & extra_field) fields.insert(fields.end(), {"x", body.substr(0, 3)});
  if (!(shape & reversed)) fields.insert(fields.end(), {body_name, body});
  if (shape & repeated_body) fields.insert(fields.end(), {body_name, body});

  streams::entry_limits limits;
  if (shape & small_limits) limits.max_payload_bytes = limits.max_metadata_bytes = 64;
  if (shape & dead_letter)
    check<streamq::v1::DeadLetter>(
        fields, body_name, shape, limits, [](const auto& f, auto& out, const auto&) {
          return streams::decode_dead_letter(std::span<const std::string_view>(f), out);
        });
  else
    check<streamq::v1::Envelope>(
        fields, body_name, shape, limits, [](const auto& f, auto& out, const auto& l) {
          return streams::decode_entry(std::span<const std::string_view>(f), out, l);
        });
  return 0;
}

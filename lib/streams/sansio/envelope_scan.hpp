#pragma once
// Reading one field of a serialized Envelope without decoding it: per-key ordering needs an
// entry's partition_key before a worker is chosen, and a full decode (which copies the payload)
// for that alone doubled the decoding work of ordered topics. Pure code; unit-tested against
// libprotobuf's serialization and fuzzed against decode_entry (fuzz_envelope).

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace streamq::streams::detail {

// The partition_key (field 9) of the serialized Envelope `bytes`, as a view into `bytes`; the
// last occurrence wins, as in protobuf. Empty when it has none. nullopt when `bytes` is not
// well-formed protobuf wire data (a truncated field, a bad wire type, a varint over 10 bytes,
// an unbalanced group): the caller then treats the message as keyless and its full decode
// reports the error. Whatever libprotobuf parses, this reads (groups are skipped, as unknown
// fields are); it also reads some bytes libprotobuf refuses (invalid UTF-8, groups nested
// past its depth limit), whose full decode then fails.
[[nodiscard]] std::optional<std::string_view> scan_partition_key(std::string_view bytes) noexcept;

// The same for a stream entry's fields (field, value, ...): the envelope is the value of the
// `e` field (the last one), nullopt without one or when the version field `v` is not "1" (the
// full decode refuses those).
[[nodiscard]] std::optional<std::string_view> scan_entry_partition_key(
    std::span<const std::string> fields) noexcept;

}  // namespace streamq::streams::detail

#include "envelope_scan.hpp"

#include <streamq/streams/envelope.hpp>

#include <cstdint>
#include <vector>

namespace streamq::streams::detail {

namespace {

constexpr std::uint32_t partition_key_field = 9;

// Reads a base-128 varint at `pos`; false when it runs past the end or over 10 bytes.
bool read_varint(std::string_view bytes, std::size_t& pos, std::uint64_t& value) noexcept {
  value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos >= bytes.size()) return false;
    const auto b = static_cast<std::uint8_t>(bytes[pos++]);
    value |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string_view> scan_partition_key(std::string_view bytes) noexcept {
  std::string_view key;
  std::size_t pos = 0;
  // Groups (wire types 3 and 4) are not in an Envelope, but libprotobuf skips them as unknown
  // fields, so they are skipped here too; a field 9 inside one is not the envelope's.
  std::vector<std::uint64_t> open_groups;
  while (pos < bytes.size()) {
    std::uint64_t tag = 0;
    if (!read_varint(bytes, pos, tag)) return std::nullopt;
    const auto field = tag >> 3;
    if (field == 0) return std::nullopt;  // field numbers start at 1
    switch (tag & 7) {
      case 0: {  // varint
        std::uint64_t ignored = 0;
        if (!read_varint(bytes, pos, ignored)) return std::nullopt;
        break;
      }
      case 1:  // fixed64
        if (bytes.size() - pos < 8) return std::nullopt;
        pos += 8;
        break;
      case 2: {  // length-delimited
        std::uint64_t length = 0;
        if (!read_varint(bytes, pos, length) || length > bytes.size() - pos) return std::nullopt;
        if (field == partition_key_field && open_groups.empty())
          key = bytes.substr(pos, static_cast<std::size_t>(length));
        pos += static_cast<std::size_t>(length);
        break;
      }
      case 5:  // fixed32
        if (bytes.size() - pos < 4) return std::nullopt;
        pos += 4;
        break;
      case 3:  // start of a group
        open_groups.push_back(field);
        break;
      case 4:  // end of a group: the innermost one's
        if (open_groups.empty() || open_groups.back() != field) return std::nullopt;
        open_groups.pop_back();
        break;
      default:  // 6 and 7 are no wire types
        return std::nullopt;
    }
  }
  if (!open_groups.empty()) return std::nullopt;
  return key;
}

std::optional<std::string_view> scan_entry_partition_key(
    std::span<const std::string> fields) noexcept {
  if (fields.size() % 2 != 0) return std::nullopt;
  const std::string* envelope = nullptr;
  bool version_ok = false;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i] == version_field)
      version_ok = fields[i + 1] == envelope_version;
    else if (fields[i] == envelope_field)
      envelope = &fields[i + 1];
  }
  if (!version_ok || envelope == nullptr) return std::nullopt;
  return scan_partition_key(*envelope);
}

}  // namespace streamq::streams::detail

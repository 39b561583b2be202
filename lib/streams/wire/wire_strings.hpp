#pragma once
// Finds, in serialized protobuf bytes, a `string` field that is not UTF-8 before libprotobuf
// parses them: it refuses such a message only after logging an error to stderr, and streamq
// must not print. Used by envelope.cpp's decoders only.

#include <streamq/streams/envelope.hpp>

#include <google/protobuf/descriptor.h>

#include <array>
#include <climits>
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// A cursor over protobuf wire-format bytes (the encoding is public and fixed).
struct wire_reader {
  std::string_view rest;

  bool varint(std::uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64 && !rest.empty(); shift += 7) {
      const auto byte = static_cast<unsigned char>(rest.front());
      rest.remove_prefix(1);
      out |= std::uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80u) == 0) return true;
    }
    return false;
  }
  bool bytes(std::uint64_t size, std::string_view& out) {
    if (size > rest.size()) return false;
    out = rest.substr(0, size);
    rest.remove_prefix(size);
    return true;
  }
};

// The `string` and message fields of a message type and of every message type inside it,
// looked up once: a descriptor lookup per field would cost more than the parse itself.
class string_fields {
 public:
  explicit string_fields(const google::protobuf::Descriptor* root) { add(root); }

  // False if a `string` field, at any depth, holds bytes that are not UTF-8. Bytes that are
  // not valid wire format end the walk with true: the parser then refuses them, quietly.
  // Unknown fields and groups are not looked into, as the parser keeps them unparsed.
  [[nodiscard]] bool valid(std::string_view bytes) const {
    wire_reader in{bytes};
    return scan(in, 0, 0) != result::bad_utf8;
  }

 private:
  using descriptor = google::protobuf::Descriptor;
  enum class kind : std::uint8_t { other, string, message };
  enum class result { ok, bad_utf8, end_group };
  static constexpr std::size_t table_size = 64;  // field numbers below it have a slot
  static constexpr int in_group = -1;
  // Envelope and DeadLetter are not recursive; this bounds any other type.
  static constexpr int max_depth = 32;

  struct node {
    const descriptor* type = nullptr;
    std::array<kind, table_size> kinds{};
    std::array<int, table_size> nested{};  // node index of a message field's type
  };

  int add(const descriptor* type) {
    if (auto it = index_.find(type); it != index_.end()) return it->second;
    const int at = static_cast<int>(nodes_.size());
    index_.emplace(type, at);
    nodes_.push_back(node{type, {}, {}});
    for (int i = 0; i < type->field_count(); ++i) {
      const auto* field = type->field(i);
      const kind k = field->type() == google::protobuf::FieldDescriptor::TYPE_STRING ? kind::string
                     : field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE
                         ? kind::message
                         : kind::other;
      const int nested = k == kind::message ? add(field->message_type()) : 0;
      const auto number = static_cast<std::size_t>(field->number());
      if (number < table_size) {
        nodes_[static_cast<std::size_t>(at)].kinds[number] = k;
        nodes_[static_cast<std::size_t>(at)].nested[number] = nested;
      }
    }
    return at;
  }

  kind kind_of(int at, std::uint64_t number, int& nested) const {
    const node& n = nodes_[static_cast<std::size_t>(at)];
    if (number < table_size) {
      nested = n.nested[number];
      return n.kinds[number];
    }
    const auto* field =
        number <= INT_MAX ? n.type->FindFieldByNumber(static_cast<int>(number)) : nullptr;
    if (field == nullptr) return kind::other;
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_STRING) return kind::string;
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) return kind::other;
    nested = index_.at(field->message_type());
    return kind::message;
  }

  result scan(wire_reader& in, int at, int depth) const {
    if (depth > max_depth) return result::ok;
    std::uint64_t tag = 0;
    std::uint64_t value = 0;
    std::string_view body;
    while (!in.rest.empty()) {
      if (!in.varint(tag)) return result::ok;
      switch (tag & 7) {
        case 0:
          if (!in.varint(value)) return result::ok;
          break;
        case 1:
          if (!in.bytes(8, body)) return result::ok;
          break;
        case 5:
          if (!in.bytes(4, body)) return result::ok;
          break;
        case 2: {
          if (!in.varint(value) || !in.bytes(value, body)) return result::ok;
          if (at == in_group) break;
          int nested = 0;
          const kind k = kind_of(at, tag >> 3, nested);
          if (k == kind::string && !is_valid_utf8(body)) return result::bad_utf8;
          if (k == kind::message) {
            wire_reader inner{body};
            if (scan(inner, nested, depth + 1) == result::bad_utf8) return result::bad_utf8;
          }
          break;
        }
        case 3:  // a group: unknown to our types, kept unparsed; walked to find its end
          if (scan(in, in_group, depth + 1) != result::end_group) return result::ok;
          break;
        case 4:
          return at == in_group ? result::end_group : result::ok;
        default:
          return result::ok;  // wire types 6 and 7 do not exist: malformed
      }
    }
    return result::ok;
  }

  std::vector<node> nodes_;
  std::map<const descriptor*, int> index_;
};

}  // namespace streamq::streams::detail

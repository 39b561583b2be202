#pragma once
// Messages as JSON for people (the streamq command, the dashboard): an envelope's fields, and
// its payload rendered through protobuf descriptors an operator supplies (docs/cli.md), since
// streamq itself moves payloads as opaque bytes.
//
//   streamq::admin::payload_renderer r;
//   r.add_descriptor_set("shop.pb");            // protoc --descriptor_set_out --include_imports
//   r.add_proto("shop.proto", {"protos/"});    // or the .proto itself (needs libprotoc)
//   std::string line = streamq::admin::envelope_json(envelope, &r);

#include <streamq/admin/error.hpp>
#include <streamq/v1/envelope.pb.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::admin {

// Protobuf types known from descriptor sets and .proto files. Adding types needs the renderer
// to itself; once they are added, the const member functions may be called from several
// threads at once. A moved-from renderer may only be assigned to or destroyed.
class payload_renderer {
 public:
  // Knows no types: every payload is raw.
  payload_renderer();
  ~payload_renderer();
  payload_renderer(payload_renderer&&) noexcept;
  payload_renderer& operator=(payload_renderer&&) noexcept;
  payload_renderer(const payload_renderer&) = delete;
  payload_renderer& operator=(const payload_renderer&) = delete;

  // Adds the types of a FileDescriptorSet file (protoc --descriptor_set_out=F
  // --include_imports). Throws boost::system::system_error, its text naming the file:
  // errc::descriptor_unreadable (cannot read it), errc::descriptor_invalid (not a descriptor
  // set, or a file in it that does not build: an import missing, a type defined twice). Files
  // already known under the same name with the same content are skipped.
  void add_descriptor_set(const std::filesystem::path& file);
  // Adds the types of a .proto file parsed at run time, its imports resolved against
  // `import_paths` (then the file's own directory). Throws boost::system::system_error:
  // errc::descriptor_unreadable (the file is missing), errc::proto_parse_failed (its text:
  // the first error's "file:line:col: message"), errc::proto_unsupported (a build without
  // libprotoc).
  void add_proto(const std::filesystem::path& file,
                 const std::vector<std::filesystem::path>& import_paths);

  // True when `type_name` (a full protobuf name, "shop.Order") is a known message type.
  [[nodiscard]] bool knows(std::string_view type_name) const;
  // The payload as a compact JSON object (protobuf's JSON mapping, field names as in the
  // .proto, 64-bit integers as strings, enums by name) when `type_name` is known and `payload`
  // parses as it; std::nullopt otherwise (unknown type, or bytes that are not that message).
  [[nodiscard]] std::optional<std::string> to_json(std::string_view type_name,
                                                   std::string_view payload) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One envelope as a compact JSON object, keys in this order:
//   {"message_id":"..","type":"..","created_at_ms":N,"attempt":N,"schema_version":N,
//    "sequence":N,"producer_id":"..","headers":{"k":"v",..},"partition_key":"..",
//    "idempotency_key":"..","payload":<object or null>,"payload_base64":".."}
// Strings are JSON-escaped; bytes that are not valid UTF-8 appear as U+FFFD, one per byte, so
// the text stays valid JSON whatever a producer wrote (detail/text_escape.hpp). Headers are sorted by key. "payload" is
// renderer->to_json(type, payload) (null without a renderer, or when it cannot render);
// "payload_base64" is always there. `sequence` is a 64-bit number, written as a JSON number.
[[nodiscard]] std::string envelope_json(const v1::Envelope& envelope,
                                        const payload_renderer* renderer);

// `text` as a JSON string literal, quotes included: " \ and control bytes escaped, valid
// UTF-8 kept, every byte of an invalid sequence as U+FFFD.
[[nodiscard]] std::string json_string(std::string_view text);

}  // namespace streamq::admin

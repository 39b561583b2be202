#include <streamq/admin/payload_json.hpp>

#include <streamq/detail/text_escape.hpp>

#include "descriptor_files.hpp"

#include <boost/system/system_error.hpp>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <utility>

namespace streamq::admin {

namespace pb = google::protobuf;

namespace {

// The first error of a pool's build, for the exception's text.
class first_build_error final : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const pb::Message*, ErrorLocation, const std::string& message) override {
    if (!text.empty()) return;
    text = filename;
    if (!element_name.empty()) text += " (" + element_name + ")";
    text += ": " + message;
  }
  std::string text;
};

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// RFC 4648 base64 with padding.
std::string base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    for (int shift = 18; shift >= 0; shift -= 6) out += base64_alphabet[(n >> shift) & 0x3f];
  }
  if (const auto rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += base64_alphabet[(n >> 18) & 0x3f];
    out += base64_alphabet[(n >> 12) & 0x3f];
    out += rest == 2 ? base64_alphabet[(n >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

// One pool for every type added (descriptor sets and .proto files alike), built eagerly so
// that a broken file is reported when it is added, not when a payload of it is first shown.
struct payload_renderer::impl {
  pb::DescriptorPool pool;
  pb::DynamicMessageFactory factory{&pool};

  // Builds `files` (each after its imports) into the pool; `source` names what they came
  // from in the error.
  void build(const std::filesystem::path& source,
             const google::protobuf::RepeatedPtrField<pb::FileDescriptorProto>& files) {
    for (const auto& file : files) build_one(source, file);
  }
  void build_one(const std::filesystem::path& source, pb::FileDescriptorProto file) {
    // Comments and their positions (protoc --include_source_info) do not make another file.
    file.clear_source_code_info();
    if (const auto* existing = pool.FindFileByName(file.name()); existing != nullptr) {
      if (same_file(*existing, file)) return;
      fail(source, file.name() + ": another file of this name is known already");
    }
    first_build_error errors;
    if (pool.BuildFileCollectingErrors(file, &errors) == nullptr) fail(source, errors.text);
  }

  // What protoc writes (every field's json_name; proto2's syntax only when the file says it)
  // against what the pool made of a file: the same file added twice, from a descriptor set
  // or a .proto alike.
  static bool same_file(const pb::FileDescriptor& existing, const pb::FileDescriptorProto& file) {
    pb::FileDescriptorProto known;
    existing.CopyTo(&known);
    existing.CopyJsonNameTo(&known);
    if (file.has_syntax() && !known.has_syntax()) known.set_syntax(file.syntax());
    pb::FileDescriptorProto added = file;
    if (!added.has_syntax() && known.syntax() == "proto2") known.clear_syntax();
    return known.SerializeAsString() == added.SerializeAsString();
  }

  [[noreturn]] static void fail(const std::filesystem::path& source, const std::string& why) {
    throw boost::system::system_error(
        make_error_code(errc::descriptor_invalid),
        source.string() + ": " + why +
            " (a descriptor set needs protoc's --include_imports; a type may be defined once)");
  }
};

payload_renderer::payload_renderer() : impl_(std::make_unique<impl>()) {}
payload_renderer::~payload_renderer() = default;
payload_renderer::payload_renderer(payload_renderer&&) noexcept = default;
payload_renderer& payload_renderer::operator=(payload_renderer&&) noexcept = default;

void payload_renderer::add_descriptor_set(const std::filesystem::path& file) {
  const auto set = detail::read_descriptor_set(file);
  impl_->build(file, set.file());
}

void payload_renderer::add_proto(const std::filesystem::path& file,
                                 const std::vector<std::filesystem::path>& import_paths) {
  for (const auto& parsed : detail::parse_proto(file, import_paths))
    impl_->build_one(file, parsed);
}

bool payload_renderer::knows(std::string_view type_name) const {
  return impl_ && impl_->pool.FindMessageTypeByName(std::string(type_name)) != nullptr;
}

std::optional<std::string> payload_renderer::to_json(std::string_view type_name,
                                                     std::string_view payload) const {
  if (!impl_ || payload.size() > static_cast<std::size_t>(INT_MAX)) return std::nullopt;
  const auto* type = impl_->pool.FindMessageTypeByName(std::string(type_name));
  if (type == nullptr) return std::nullopt;
  const std::unique_ptr<pb::Message> message(impl_->factory.GetPrototype(type)->New());
  if (!message->ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return std::nullopt;
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!pb::util::MessageToJsonString(*message, &out, options).ok()) return std::nullopt;
  return out;
}

std::string json_string(std::string_view text) {
  std::string out;
  streamq::detail::append_json_string(out, text);
  return out;
}

std::string envelope_json(const v1::Envelope& envelope,
                          const payload_renderer* renderer) {
  std::string out = "{\"message_id\":";
  auto text = [&out](std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    streamq::detail::append_json_string(out, value);
  };
  auto number = [&out](std::string_view name, auto value) {
    out += ",\"";
    out += name;
    out += "\":";
    out += std::to_string(value);
  };
  streamq::detail::append_json_string(out, envelope.message_id());
  text("type", envelope.type());
  number("created_at_ms", envelope.created_at_unix_ms());
  number("attempt", envelope.attempt());
  number("schema_version", envelope.schema_version());
  number("sequence", envelope.sequence());
  text("producer_id", envelope.producer_id());
  // A protobuf map has no order: sorted, so one envelope always prints the same.
  std::vector<std::pair<std::string_view, std::string_view>> headers(
      envelope.headers().begin(), envelope.headers().end());
  std::sort(headers.begin(), headers.end());
  out += ",\"headers\":{";
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0) out += ',';
    streamq::detail::append_json_string(out, headers[i].first);
    out += ':';
    streamq::detail::append_json_string(out, headers[i].second);
  }
  out += '}';
  text("partition_key", envelope.partition_key());
  text("idempotency_key", envelope.idempotency_key());
  const auto payload =
      renderer != nullptr ? renderer->to_json(envelope.type(), envelope.payload()) : std::nullopt;
  out += ",\"payload\":";
  out += payload ? *payload : "null";
  text("payload_base64", base64(envelope.payload()));
  out += '}';
  return out;
}

}  // namespace streamq::admin

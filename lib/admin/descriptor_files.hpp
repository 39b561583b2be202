#pragma once
// Reading what an operator supplies to render payloads (payload_json.hpp): a descriptor set's
// files, or a .proto file's and its imports' as descriptors, for payload_renderer to build
// into its pool. Each throws boost::system::system_error with an admin::errc and a one-line
// text naming the file.

#include <google/protobuf/descriptor.pb.h>

#include <filesystem>
#include <string>
#include <vector>

namespace streamq::admin::detail {

// The whole file's bytes; errc::descriptor_unreadable (with the system's reason) otherwise.
[[nodiscard]] std::string read_file(const std::filesystem::path& file);

// `file`'s FileDescriptorSet; errc::descriptor_invalid when its bytes are not one (or one
// with no file in it).
[[nodiscard]] google::protobuf::FileDescriptorSet read_descriptor_set(
    const std::filesystem::path& file);

// `file` parsed with libprotoc, imports resolved against `import_paths`, then the file's own
// directory, then the types compiled into this program (google/protobuf/*.proto,
// streamq/v1/envelope.proto): the file and everything it imports, each after its imports.
// errc::descriptor_unreadable for a missing file, errc::proto_parse_failed naming the first
// error's file:line:col, errc::proto_unsupported in a build without libprotoc.
[[nodiscard]] std::vector<google::protobuf::FileDescriptorProto> parse_proto(
    const std::filesystem::path& file, const std::vector<std::filesystem::path>& import_paths);

}  // namespace streamq::admin::detail

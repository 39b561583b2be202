#pragma once
// Errors of the admin library (payload rendering for people, topic discovery). Codes of the
// lower layers (redis::client_errc, resp::server_errc, streams::errc) pass through unchanged.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace streamq::admin {

using error_code = boost::system::error_code;

// Never renumber; only append.
enum class errc {
  // A descriptor set or .proto file cannot be opened or read (missing, unreadable). The
  // exception's text names the file and says why; fix the path or the permissions.
  descriptor_unreadable = 1,
  // The file is not a FileDescriptorSet (protoc --descriptor_set_out), or its files do not
  // build a consistent pool (a missing import: regenerate it with --include_imports).
  descriptor_invalid = 2,
  // A .proto file does not parse or compile: the text names the first error's file:line:col.
  proto_parse_failed = 3,
  // This build has no libprotoc, so .proto files cannot be read at run time: compile them to
  // a descriptor set (protoc --descriptor_set_out=F --include_imports) and pass that instead.
  proto_unsupported = 4,
  // The topic has no stream (under the key prefix asked about): check the name and prefix.
  topic_not_found = 5,
};

[[nodiscard]] const boost::system::error_category& admin_category() noexcept;

inline error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), admin_category()};
}

}  // namespace streamq::admin

template <>
struct boost::system::is_error_code_enum<streamq::admin::errc> : std::true_type {};

#include <streamq/admin/error.hpp>

#include <string>

namespace streamq::admin {
namespace {

// boost::system::error_category has a protected non-virtual destructor by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class admin_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "streamq.admin"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::descriptor_unreadable:
        return "the descriptor or .proto file cannot be read";
      case errc::descriptor_invalid:
        return "not a usable protobuf descriptor set (protoc --descriptor_set_out "
               "--include_imports)";
      case errc::proto_parse_failed:
        return "the .proto file does not parse";
      case errc::proto_unsupported:
        return "this build cannot read .proto files (no libprotoc): pass a descriptor set";
      case errc::topic_not_found:
        return "no such topic";
    }
    return "unknown streamq admin error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& admin_category() noexcept {
  static const admin_category_impl instance;
  return instance;
}

}  // namespace streamq::admin

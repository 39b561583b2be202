#include "descriptor_files.hpp"

#include <streamq/admin/error.hpp>

#include <boost/system/system_error.hpp>

#include <google/protobuf/descriptor.h>
#if STREAMQ_ADMIN_HAS_LIBPROTOC
#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor_database.h>
#endif

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace streamq::admin::detail {

namespace pb = google::protobuf;

namespace {

[[noreturn]] void fail(errc code, const std::string& text) {
  throw boost::system::system_error(make_error_code(code), text);
}

}  // namespace

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(errc::descriptor_unreadable, file.string() + ": " + std::strerror(errno));
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    fail(errc::descriptor_unreadable, file.string() + ": is a directory");
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) fail(errc::descriptor_unreadable, file.string() + ": " + std::strerror(errno));
  return bytes;
}

pb::FileDescriptorSet read_descriptor_set(const std::filesystem::path& file) {
  const std::string bytes = read_file(file);
  pb::FileDescriptorSet set;
  // An empty file parses as an empty set, and many other files as one with only unknown
  // fields: neither is what protoc writes.
  if (!set.ParseFromString(bytes) || set.file_size() == 0 || !set.unknown_fields().empty())
    fail(errc::descriptor_invalid,
         file.string() + ": not a protobuf FileDescriptorSet (make one with protoc "
                         "--descriptor_set_out=FILE --include_imports)");
  return set;
}

#if STREAMQ_ADMIN_HAS_LIBPROTOC

namespace {

// The first error libprotoc reports, as "file:line:col: message" (1-based, as protoc prints).
// A file it could not open while looking for an import is only kept when nothing better comes:
// the types compiled into the program are looked up after the disk, so an import such as
// google/protobuf/timestamp.proto is first "not found" and then found.
class first_error final : public pb::compiler::MultiFileErrorCollector {
 public:
  explicit first_error(pb::compiler::DiskSourceTree& tree) : tree_(tree) {}
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    if (!located_.empty() || (line < 0 && !whole_file_.empty())) return;
    std::string disk;
    const std::string shown =
        tree_.VirtualFileToDiskFile(filename, &disk) ? disk : filename;
    if (line < 0) {
      whole_file_ = shown + ": " + message;
      return;
    }
    located_ = shown + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
               message;
  }
  [[nodiscard]] std::string text() const { return located_.empty() ? whole_file_ : located_; }

 private:
  pb::compiler::DiskSourceTree& tree_;
  std::string located_;
  std::string whole_file_;
};

// `file` and its imports, each after the files it imports.
void collect(const pb::FileDescriptor* file, std::set<std::string>& seen,
             std::vector<pb::FileDescriptorProto>& out) {
  if (!seen.insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) collect(file->dependency(i), seen, out);
  out.emplace_back();
  file->CopyTo(&out.back());
  file->CopyJsonNameTo(&out.back());  // as protoc writes a descriptor set
}

}  // namespace

std::vector<pb::FileDescriptorProto> parse_proto(
    const std::filesystem::path& file, const std::vector<std::filesystem::path>& import_paths) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(file, ec).lexically_normal();
  if (ec || !std::filesystem::is_regular_file(absolute, ec))
    fail(errc::descriptor_unreadable, file.string() + ": " +
                                          (ec ? ec.message() : std::string("not a readable file")));
  pb::compiler::DiskSourceTree tree;
  for (const auto& dir : import_paths)
    tree.MapPath("", std::filesystem::absolute(dir, ec).lexically_normal().string());
  tree.MapPath("", absolute.parent_path().string());
  std::string virtual_name;
  std::string shadowing;
  switch (tree.DiskFileToVirtualFile(absolute.string(), &virtual_name, &shadowing)) {
    case pb::compiler::DiskSourceTree::SUCCESS:
      break;
    case pb::compiler::DiskSourceTree::SHADOWED:
      fail(errc::proto_parse_failed, file.string() + ": shadowed by " + shadowing +
                                         " (the same name under an earlier import path)");
    case pb::compiler::DiskSourceTree::CANNOT_OPEN:
    case pb::compiler::DiskSourceTree::NO_MAPPING:
      fail(errc::descriptor_unreadable, file.string() + ": " + tree.GetLastErrorMessage());
  }
  // As compiler::Importer does, with the program's compiled-in types behind the disk.
  first_error errors(tree);
  pb::compiler::SourceTreeDescriptorDatabase source(&tree);
  source.RecordErrorsTo(&errors);
  pb::DescriptorPoolDatabase compiled(*pb::DescriptorPool::generated_pool());
  pb::MergedDescriptorDatabase both(&source, &compiled);
  pb::DescriptorPool pool(&both, source.GetValidationErrorCollector());
  const pb::FileDescriptor* parsed = pool.FindFileByName(virtual_name);
  if (parsed == nullptr) {
    std::string why = errors.text();
    fail(errc::proto_parse_failed,
         "cannot parse " + file.string() + ": " + (why.empty() ? "unknown error" : why));
  }
  std::set<std::string> seen;
  std::vector<pb::FileDescriptorProto> out;
  collect(parsed, seen, out);
  return out;
}

#else

std::vector<pb::FileDescriptorProto> parse_proto(const std::filesystem::path& file,
                                                 const std::vector<std::filesystem::path>&) {
  fail(errc::proto_unsupported,
       file.string() + ": this build has no libprotoc: compile it to a descriptor set "
                       "(protoc --descriptor_set_out=FILE --include_imports) and pass that");
}

#endif

}  // namespace streamq::admin::detail

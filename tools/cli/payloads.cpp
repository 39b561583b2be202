// Payloads for people: see payloads.hpp.
#include "payloads.hpp"

#include "runner.hpp"

#include <boost/system/system_error.hpp>

#include <cstdio>
#include <filesystem>
#include <vector>

namespace streamq::cli {

admin::payload_renderer make_renderer(const payload_sources& sources) {
  admin::payload_renderer renderer;
  const std::vector<std::filesystem::path> imports(sources.proto_paths.begin(),
                                                   sources.proto_paths.end());
  try {
    for (const auto& file : sources.descriptor_sets) renderer.add_descriptor_set(file);
    for (const auto& file : sources.protos) renderer.add_proto(file, imports);
  } catch (const boost::system::system_error& e) {
    throw command_error(exit_usage_error, e.what());
  }
  return renderer;
}

std::string payload_text(const v1::Envelope& envelope, const admin::payload_renderer& renderer) {
  if (auto json = renderer.to_json(envelope.type(), envelope.payload())) return std::move(*json);
  const std::string& bytes = envelope.payload();
  std::string out = "raw " + std::to_string(bytes.size()) + " bytes: ";
  for (const char ch : bytes) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
      out += ch;
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(byte));
      out += escaped;
    }
  }
  return out;
}

}  // namespace streamq::cli

#pragma once
// Payloads for people: JSON through the protobuf types named by --proto, --proto-path and
// --descriptor-set (admin::payload_renderer), raw bytes otherwise.

#include "cli_state.hpp"  // payload_sources

#include <streamq/admin/payload_json.hpp>

#include <string>

namespace streamq::cli {

// A renderer knowing the types of `sources`. Throws command_error(exit_usage_error, ...) with
// the library's message, which names the file, for a file that is missing or does not parse.
[[nodiscard]] admin::payload_renderer make_renderer(const payload_sources& sources);

// One line for a table: the payload as JSON when its type is known and it parses, else
// "raw N bytes: " and the bytes with anything unprintable as \xNN.
[[nodiscard]] std::string payload_text(const v1::Envelope& envelope,
                                       const admin::payload_renderer& renderer);

}  // namespace streamq::cli

#pragma once
// MULTI ... EXEC: the one place its replies are read. Redis answers +OK to MULTI, +QUEUED to
// each command it queued (or the command's refusal, and then EXEC answers EXECABORT: nothing
// ran), then EXEC's array of the commands' own replies, or nil if a WATCHed key changed
// (nothing ran). A command that fails inside EXEC fails alone: the others ran (Redis has no
// rollback).

#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>

#include "delivery_requests.hpp"  // command_result

#include <cstddef>
#include <span>

namespace streamq::streams::detail {

// Appends MULTI, then what `build(req)` appends, then EXEC.
template <class Build>
void build_transaction(resp::request& req, const Build& build) {
  req.push("MULTI");
  build(req);
  req.push("EXEC");
}

// The replies of a transaction of `commands` commands (all of the request's: MULTI first, EXEC
// last). On success `results` are EXEC's elements, one per command, each a success. Otherwise
// `results` is empty and the result is: a command's refusal when queueing or inside EXEC (its
// code and text; the first one), EXEC's own error, resp::server_errc::execabort for a nil EXEC,
// or errc::malformed_entry for any other shape.
[[nodiscard]] command_result decode_transaction(std::span<const resp::value> replies,
                                                std::size_t commands,
                                                std::span<const resp::value>& results);

}  // namespace streamq::streams::detail

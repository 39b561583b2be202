#include "transaction.hpp"

#include "reply_checks.hpp"

#include <streamq/resp/error.hpp>

namespace streamq::streams::detail {

command_result decode_transaction(std::span<const resp::value> replies, std::size_t commands,
                                  std::span<const resp::value>& results) {
  results = {};
  if (replies.size() != commands + 2) return reply::malformed("transaction replies");
  const resp::value& multi = replies.front();
  if (multi.is_error()) return reply::refused(multi);
  if (multi.data_type != resp::type::simple_string || multi.text != "OK")
    return reply::malformed("MULTI reply");
  // A refusal while queueing says why EXEC then aborts: more than EXECABORT does.
  for (const auto& queued : replies.subspan(1, commands)) {
    if (queued.is_error()) return reply::refused(queued);
    if (queued.data_type != resp::type::simple_string || queued.text != "QUEUED")
      return reply::malformed("queued command reply");
  }
  const resp::value& exec = replies.back();
  if (exec.is_error()) return reply::refused(exec);
  if (exec.is_null())
    return {resp::server_errc::execabort, "EXEC answered nil: transaction discarded"};
  if (!reply::is_array(exec) || exec.elements.size() != commands)
    return reply::malformed("EXEC reply");
  for (const auto& element : exec.elements)
    if (element.is_error()) return reply::refused(element);
  results = exec.elements;
  return {};
}

}  // namespace streamq::streams::detail

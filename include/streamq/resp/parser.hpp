#pragma once
// Incremental, sans-io RESP2/RESP3 parser. Bytes in, nodes out: it never reads a socket and
// never allocates per node. "Not enough bytes yet" is a normal state, not an error.

#include <streamq/resp/node.hpp>

#include <cstddef>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

namespace streamq::resp {

struct parser_limits {
  // Largest blob (bulk string, blob error, verbatim string) accepted. Default: Redis' own
  // proto-max-bulk-len, so anything the server can store can be read back.
  std::size_t max_bulk_length = 512UL * 1024 * 1024;
  // Longest header or simple line (type byte to CRLF). A peer that never sends CRLF is cut
  // off here instead of growing the read buffer without bound.
  std::size_t max_line_length = 64UL * 1024;
  // Deepest aggregate nesting; children of an aggregate at depth max_depth are refused.
  std::size_t max_depth = 32;
  // Largest element count an aggregate header may announce.
  std::size_t max_aggregate_size = 64UL * 1024 * 1024;
};

class parser {
 public:
  explicit parser(const parser_limits& limits = {});

  // Parses the next node at the front of `data`.
  // - A node: consumed() tells how many bytes of `data` it used; string views in the node
  //   point into `data` and stay valid as long as those bytes do.
  // - std::nullopt with `ec` clear: `data` holds no complete node yet; call again with the
  //   same bytes plus more. Nothing was consumed.
  // - std::nullopt with `ec` set: the stream is malformed or over a limit. The parser stays
  //   in error until reset(); the connection that fed it must be dropped.
  [[nodiscard]] std::optional<node> consume(std::string_view data, std::error_code& ec);

  // Bytes taken by the node last returned.
  [[nodiscard]] std::size_t consumed() const noexcept { return consumed_; }

  // True when the node last returned completed a top-level value (its whole tree, not
  // counting a preceding attribute).
  [[nodiscard]] bool done() const noexcept { return done_; }

  // A lower bound of the bytes the pending node needs in total; lets the reader size its
  // buffer for a large blob in one step.
  [[nodiscard]] std::size_t bytes_needed() const noexcept { return needed_; }

  [[nodiscard]] const parser_limits& limits() const noexcept { return limits_; }

  // Forgets all state (for a fresh connection).
  void reset() noexcept;

 private:
  struct frame {
    std::size_t remaining;
    bool attribute;
  };

  std::optional<node> fail(std::error_code& ec, std::error_code e) noexcept;
  void complete(bool completed_attribute) noexcept;

  parser_limits limits_;
  std::vector<frame> stack_;
  std::size_t consumed_ = 0;
  std::size_t needed_ = 0;
  std::error_code error_;
  bool done_ = false;
};

}  // namespace streamq::resp

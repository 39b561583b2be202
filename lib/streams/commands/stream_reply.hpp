#pragma once
// An XREADGROUP / XREAD reply decoded straight from the parser's nodes into entries, without
// building a value tree first: the consumer's hot path reads thousands of entries a second.
//
// Shapes taken (anything else is errc::malformed_entry, with no entries):
//   RESP3: { name: [ [id, [field, value, ...] | nil], ... ], ... }   (a map)
//   RESP2: [ [name, [ [id, [field, value, ...] | nil], ... ]], ... ]  (an array of pairs)
//   nil (a BLOCK timeout: no entries), or an error reply (classified, with the server's text).
// Memory follows the entries received: an announced field count reserves at most a few.

#include <streamq/resp/error.hpp>
#include <streamq/resp/node.hpp>
#include <streamq/resp/response.hpp>

#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

namespace streamq::streams::detail {

struct read_entry {
  std::size_t stream = 0;           // index into the stream names the reply was read for
  std::string id;                   // the entry ID
  std::vector<std::string> fields;  // field/value pairs, flat
  bool deleted = false;             // pending, but its data was trimmed or deleted (nil)
};

class stream_read_reply final : public resp::response_adapter {
 public:
  // `streams`: the keys the command read, in any order; entries of other keys are dropped.
  explicit stream_read_reply(const std::vector<std::string>& streams) : streams_(&streams) {}

  [[nodiscard]] std::size_t expected_replies() const noexcept override { return 1; }
  void on_start() override;
  void on_node(std::size_t reply, const resp::node& n) override;

  // A top-level error reply (e.g. NOGROUP, classified), or errc::malformed_entry for a reply of
  // another shape; the text in diagnostic().
  [[nodiscard]] const std::error_code& error() const noexcept { return error_; }
  [[nodiscard]] const std::string& diagnostic() const noexcept { return diagnostic_; }
  // The entries, in reply order; empty after a BLOCK timeout (nil reply) and after an error.
  [[nodiscard]] std::vector<read_entry>& entries() noexcept { return entries_; }

  // New entries are taken from `spare` while it has any, their strings' buffers reused, so
  // that a reader which hands its entries back there allocates nothing per entry once warm.
  void reuse_entries_from(std::vector<read_entry>* spare) noexcept { spare_ = spare; }

 private:
  void start_entry();
  void fail(const char* what);

  const std::vector<std::string>* streams_;
  std::vector<read_entry> entries_;
  std::vector<read_entry>* spare_ = nullptr;
  std::vector<std::string> spare_fields_;  // a reused entry's field strings, to be refilled
  std::error_code error_;
  std::string diagnostic_;
  resp::attribute_filter attributes_;
  std::size_t base_ = 0;  // 0 for RESP3's map of streams, 1 for RESP2's array of pairs
  std::size_t current_stream_ = 0;
  std::size_t entry_part_ = 0;  // children of the current entry seen: 0, 1 (its ID) or 2
  bool known_stream_ = false;
  bool expect_name_ = true;  // the next child at depth 1 is a stream name (else its entries)
  bool done_ = false;        // an error was found: the rest of the reply is ignored
};

}  // namespace streamq::streams::detail

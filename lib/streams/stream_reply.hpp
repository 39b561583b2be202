#pragma once
// An XREADGROUP / XREAD reply decoded straight from the parser's nodes into entries, without
// building a value tree first: the consumer's hot path reads thousands of entries a second.

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

  // A top-level error reply (e.g. NOGROUP), with the server's text.
  [[nodiscard]] const std::error_code& error() const noexcept { return error_; }
  [[nodiscard]] const std::string& diagnostic() const noexcept { return diagnostic_; }
  // The entries, in reply order; empty after a BLOCK timeout (nil reply).
  [[nodiscard]] std::vector<read_entry>& entries() noexcept { return entries_; }

  // New entries are taken from `spare` while it has any, their strings' buffers reused, so
  // that a reader which hands its entries back there allocates nothing per entry once warm.
  void reuse_entries_from(std::vector<read_entry>* spare) noexcept { spare_ = spare; }

 private:
  const std::vector<std::string>* streams_;
  std::vector<read_entry> entries_;
  std::vector<read_entry>* spare_ = nullptr;
  std::vector<std::string> spare_fields_;  // a reused entry's field strings, to be refilled
  std::error_code error_;
  std::string diagnostic_;
  resp::attribute_filter attributes_;
  std::size_t base_ = 0;  // 0 for RESP3's map of streams, 1 for RESP2's array of pairs
  std::size_t current_stream_ = 0;
  bool known_stream_ = false;
};

}  // namespace streamq::streams::detail

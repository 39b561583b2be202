#pragma once
// What per-key ordering (subscription_options::per_key_concurrency) reads from Redis, as pure
// functions (conventions: delivery_requests.hpp). At start a consumer looks at the entries of
// its group that wait for a retry, so that their keys hold back the later entries it recovers
// or reads: the order then survives a restart, or a partition's takeover, while a retry waits.

#include "delivery_requests.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

// ZRANGE <retry set> 0 <limit - 1>: the first `limit` entry IDs of the group's retry set (by
// due time). Reply: an array of IDs.
void build_waiting_retries(resp::request& req, const std::string& retry_key, std::size_t limit);
[[nodiscard]] command_result decode_waiting_retries(const resp::value& reply,
                                                    std::vector<std::string>& ids);

// XRANGE <stream> <id> <id> per ID, in one pipeline. Replies: per ID, an array of zero (the
// entry is gone) or one [id, [field, value, ...]].
struct entry_by_id {
  std::string id;
  std::vector<std::string> fields;  // empty when the entry is gone
};
void build_entries_by_id(resp::request& req, const std::string& stream,
                         std::span<const std::string> ids);
// `out[i]` is the i-th ID's entry. A reply that is an error or of another shape fails the
// whole decode (errc::malformed_entry, or the server's code), leaving `out` empty.
[[nodiscard]] command_result decode_entries_by_id(std::span<const resp::value> replies,
                                                  std::span<const std::string> ids,
                                                  std::vector<entry_by_id>& out);

}  // namespace streamq::streams::detail

#pragma once
// The Redis side of the consumer's delivery model, built and decoded in one place: pending-list
// scans (XPENDING), acknowledgements (XACK), and the scripts in lib/streams/scripts/ that claim
// entries, schedule and take retries and write dead letters. Each call has a deadline and
// completes with an error_code: a transport error (redis::client_errc), the server's refusal
// (resp::server_errc, with its text in `diagnostic`), or a malformed reply
// (errc::malformed_entry). Nothing here decides anything: consume/ and sansio/ do.

#include <streamq/client.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include "../consume/id_list.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

struct command_result {
  error_code ec;
  std::string diagnostic;  // the server's error text, when it refused
  explicit operator bool() const noexcept { return !ec; }
};

// One row of XPENDING's extended form.
struct pending_row {
  std::string id;
  std::string owner;
  std::int64_t idle_ms = 0;
  std::uint64_t deliveries = 0;
};

// An entry a script handed to this consumer, with its delivery counted.
struct claimed_entry {
  std::string id;
  std::uint64_t deliveries = 0;
  std::vector<std::string> fields;
};

struct claim_result {
  std::vector<claimed_entry> claimed;
  std::vector<std::string> lost;  // pending, but their data was trimmed or deleted: acked
};

struct due_retries {
  std::int64_t now_ms = 0;       // the server's clock
  std::int64_t next_due_ms = -1; // the group's next retry after these, -1: none
  claim_result taken;
};

// Where a group's consumer works: the topic's keys, the group, its own name.
struct group_ref {
  const topic_keys* keys;
  const std::string* group;
  const std::string* consumer;
  const std::string* retry_key;  // keys->retries(*group)
  const std::string* dead_key;   // keys->dead_letters(*group)
};

// XPENDING <stream> <group> [IDLE min_idle] <start> + <count> [owner]: at most `count` rows
// from `start` ("-" or "(<id>"), only those idle at least `min_idle` (0: all), only `owner`'s
// when not empty.
boost::asio::awaitable<command_result> pending_entries(client& c, const group_ref& g,
                                                       std::chrono::milliseconds min_idle,
                                                       const std::string& start, std::size_t count,
                                                       const std::string& owner,
                                                       std::vector<pending_row>& rows,
                                                       std::chrono::milliseconds timeout);

// claim_entries-2.lua: takes over the entries of `rows` (re-checked: still pending, owned by
// `owner` unless empty, idle at least `min_idle`, not waiting for a retry, and still at the
// delivery count the row shows: nobody took it meanwhile), counting the delivery.
boost::asio::awaitable<command_result> claim_entries(client& c, const group_ref& g,
                                                     std::chrono::milliseconds min_idle,
                                                     const std::string& owner,
                                                     std::span<const pending_row> rows,
                                                     claim_result& out,
                                                     std::chrono::milliseconds timeout);

// take_due_retries-2.lua: at most `limit` retries due by the server's clock.
boost::asio::awaitable<command_result> take_due_retries(client& c, const group_ref& g,
                                                        std::size_t limit, due_retries& out,
                                                        std::chrono::milliseconds timeout);

// schedule_retry-2.lua: `id` due again after `delay`. `scheduled` false: this consumer no
// longer owns it. `due_in` is the delay as the server computed it.
boost::asio::awaitable<command_result> schedule_retry(client& c, const group_ref& g,
                                                      const std::string& id,
                                                      std::chrono::milliseconds delay,
                                                      bool& scheduled,
                                                      std::chrono::milliseconds timeout);

// dead_letter-3.lua: adds `letter_fields` to the group's dead-letter stream and acknowledges
// `id`, together. `dead_id` empty: this consumer no longer owns it (nothing written).
boost::asio::awaitable<command_result> write_dead_letter(client& c, const group_ref& g,
                                                         const std::string& id,
                                                         std::span<const std::string> letter_fields,
                                                         std::string& dead_id,
                                                         std::chrono::milliseconds timeout);

// XACK per topic, in one pipeline: `ids[i]` on `streams[i]`. `results[i]` is the outcome of
// the i-th XACK (the count Redis acknowledged in `acked[i]`); the returned result is the
// transport's (when it failed, no per-command result is known).
struct ack_batch {
  std::vector<const std::string*> streams;
  std::vector<const id_list*> ids;
};
boost::asio::awaitable<command_result> acknowledge(client& c, const std::string& group,
                                                   const ack_batch& batch,
                                                   std::vector<command_result>& results,
                                                   std::vector<std::uint64_t>& acked,
                                                   std::chrono::milliseconds timeout);

// requeue_dead_letter-3.lua, for dead_letters::requeue.
enum class requeue_status : std::int8_t { gone = -1, missing = 0, requeued = 1, already_pending = 2 };
boost::asio::awaitable<command_result> requeue_dead_letter(
    client& c, const topic_keys& keys, const std::string& group, const std::string& dead_id,
    const std::string& entry_id, const std::string& owner, requeue_status& status);

}  // namespace streamq::streams::detail

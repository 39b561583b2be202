#pragma once
// Replaying a topic's history (docs/replay.md): the entries of a topic, of one partition
// ("T#N"), or of every partition of a partitioned topic merged in entry-ID order, from a time
// or an entry ID to another (or to the stream's end when the replay starts), filtered, into a
// handler, another topic or a fresh consumer group; paced, cancellable and resumable.
//
//   replay_options o;
//   o.topic = "orders";
//   o.from_time = std::chrono::system_clock::now() - std::chrono::hours(1);
//   o.filter.types = {"shop.Order"};
//   auto r = co_await replay(client, o, replay_target::into_topic("orders-audit"));
//   if (r.stop != replay_stop::completed) { o.after = r.last; /* run it again later */ }
//
// It reads with XRANGE only (never XREADGROUP) and never touches an existing consumer group:
// live groups' pending lists and positions are left exactly as they were. Plain structs in,
// plain structs out, so a command-line tool can drive it.

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace streamq::streams {

// Where a replay is: an entry of one stream. Entries of a merged replay are ordered by
// (id, partition): two partitions may hold the same ID, the lower partition's first.
struct replay_position {
  std::string topic;           // the stream's topic: "T", or "T#N" for a partition
  std::uint32_t partition = 0; // N for "T#N", 0 for a topic without partitions
  std::string id;              // the entry ID, "ms-seq"
  friend bool operator==(const replay_position&, const replay_position&) = default;
};

// Which entries are replayed. Every given condition must hold; an empty filter takes all.
struct replay_filter {
  // Envelope.type is one of these (full protobuf names). Empty: any type.
  std::vector<std::string> types;
  // Every one of these headers is present with exactly this value.
  std::map<std::string, std::string> headers;
  // Envelope.partition_key equals this.
  std::optional<std::string> partition_key;
};

struct replay_result;

struct replay_options {
  // The topic "T", or one partition "T#N". A partitioned "T" is replayed over all its
  // partitions, merged in (id, partition) order (per-key order holds: a key lives in one
  // partition). Required.
  std::string topic;
  // The start, at most one of three (none: the stream's first entry):
  //  - from_id: the first entry with an ID >= this one ("ms-seq", or "ms" for "ms-0");
  //  - from_time: the first entry added at or after this time (its ID's milliseconds);
  //  - after: the first entry after this position: a previous replay_result::last, to resume.
  std::string from_id;
  std::optional<std::chrono::system_clock::time_point> from_time;
  std::optional<replay_position> after;
  // The end, inclusive, at most one of two (none: "now", each stream's last entry when the
  // replay starts, so it ends even while producers publish): an ID ("ms-seq", or "ms" for the
  // last entry of that millisecond) or a time (entries added up to that millisecond).
  std::string to_id;
  std::optional<std::chrono::system_clock::time_point> to_time;
  replay_filter filter;
  // Entries per XRANGE page. 1 to 10000.
  std::size_t page_size = 100;
  // Deliveries per second at most; 0: unlimited. Paced by a timer between deliveries.
  double max_per_second = 0;
  // Stop after this many deliveries (replay_stop::limit_reached); 0: no limit.
  std::uint64_t max_messages = 0;
  // Count what would be replayed (matched, bytes) and deliver nothing; a group target is not
  // created.
  bool dry_run = false;
  // A failed page read (connection lost: reads are idempotent) or republish (retried with the
  // same idempotency key) is retried until this long after its first failure. Positive.
  std::chrono::milliseconds retry_for{10000};
  // Deadline of one request (a page read, a republish). Positive.
  std::chrono::milliseconds request_timeout{5000};
  // Entries over these limits count as undecodable.
  entry_limits limits;
  // names.hpp's key prefix of the source (and target) topics.
  std::string key_prefix{default_key_prefix};
  // Called with the result so far (counts, `last`, `streams`): once the source streams are
  // planned, then after a processed entry whenever progress_interval passed since the last
  // call, on the replay's executor. For progress displays (a command-line bar, a web page);
  // it must be quick, and it must not throw (an exception from it ends the replay as failed,
  // as a handler's does). Empty: not called.
  std::function<void(const replay_result&)> on_progress;
  // At most one on_progress call per this interval. Positive.
  std::chrono::milliseconds progress_interval{200};

  // Throws std::invalid_argument naming the first invalid field.
  void validate() const;
};

// A replayed message handed to a handler, with its position.
using replay_handler =
    std::function<boost::asio::awaitable<void>(const v1::Envelope&, const replay_position&)>;

// Where replayed messages go.
struct replay_target {
  enum class kind : std::uint8_t {
    // `handler`, once per matching entry, in order, one at a time. An exception from it stops
    // the replay (replay_stop::failed) before that entry: resuming runs it again.
    handler,
    // Republished to `topic` with the original envelope (message_id, headers, payload kept)
    // and the idempotency key "replay:<source topic>:<entry id>", so a resumed or retried
    // replay adds each entry once per the publisher's dedup window (24 h): a suppressed one
    // counts as a duplicate. `topic` is written as the topic it names (name a partition,
    // "T#N", to write into one partition of a partitioned topic).
    topic,
    // A new consumer group `group` on each source stream, positioned just before the start,
    // so ordinary consumers of it read the history from there on (and then what is live: a
    // group has no end; the filter does not apply to it). Refused with errc::group_exists,
    // nothing created, when the group exists on any source stream. The replay counts the range
    // as a dry run does.
    group,
  };
  kind what = kind::handler;
  replay_handler handler;
  std::string topic;
  std::string group;

  static replay_target into_handler(replay_handler h) { return {kind::handler, std::move(h), {}, {}}; }
  static replay_target into_topic(std::string t) { return {kind::topic, {}, std::move(t), {}}; }
  static replay_target into_group(std::string g) { return {kind::group, {}, {}, std::move(g)}; }
};

enum class replay_stop : std::uint8_t {
  completed,      // every entry up to the end was processed
  limit_reached,  // max_messages delivered
  cancelled,      // terminal cancellation
  failed,         // `error`: a read or republish failed past retry_for, or the handler threw
};

// One source stream as the replay found it when it started.
struct replay_stream {
  std::string topic;     // "T" or "T#N"
  std::string first_id;  // its first entry then; empty: the stream was empty or missing
  std::string end_id;    // the last ID the replay reads up to; empty: nothing to read
  // The requested start lies before first_id: entries there are gone (trimmed or deleted), or
  // never were (the stream is younger than the start): Redis 7.0 cannot tell which.
  bool trimmed_before = false;
};

struct replay_result {
  replay_stop stop = replay_stop::completed;
  error_code error;        // why it failed or was cancelled
  std::string diagnostic;  // the server's or the handler's text, if any
  // Everything up to and including this entry was processed (delivered, filtered out or
  // undecodable); nothing after it was. Unset: nothing was. Resume with options.after = last.
  std::optional<replay_position> last;
  std::uint64_t read = 0;         // entries read
  std::uint64_t matched = 0;      // decoded and passed the filter
  std::uint64_t delivered = 0;    // handed to the handler or added to the target topic
  std::uint64_t filtered = 0;     // decoded, refused by the filter
  std::uint64_t undecodable = 0;  // not a valid envelope (decode_entry failed): skipped
  std::uint64_t duplicates = 0;   // republishes suppressed by their idempotency key
  std::uint64_t bytes = 0;        // serialized envelope bytes of the matched entries
  std::uint64_t retries = 0;      // requests retried after a failure
  bool trimmed_before = false;    // any stream's trimmed_before
  std::vector<replay_stream> streams;
  std::vector<std::string> groups_created;  // group target: the streams it was created on
};

// Replays as `options` and `target` say. Throws std::invalid_argument for invalid options (or
// an invalid target name) before anything is sent; every other failure ends in the result
// (stop, error, last), so the caller always learns where it stopped.
// Cancellation: terminal only (partial and total are ignored): the replay stops at its current
// request and returns replay_stop::cancelled with `last`; a republish cancelled after it was
// written may still land, under its idempotency key, so resuming adds it at most once.
// Uses the client's shared connection; `c` must outlive the operation.
boost::asio::awaitable<replay_result> replay(client& c, replay_options options,
                                             replay_target target);

// replay() for any completion token: completion void(error_code, replay_result), the code
// set only for refused arguments (errc::invalid_argument); see detail/async_op.hpp.
template <class Token = boost::asio::use_awaitable_t<>>
auto async_replay(client& c, replay_options options, replay_target target, Token&& token = {}) {
  auto ex = c.get_executor();
  return streamq::detail::start_async(ex, replay(c, std::move(options), std::move(target)),
                                      std::forward<Token>(token));
}

}  // namespace streamq::streams

#pragma once
// The rules of a replay (streams/replay.hpp) as pure code, no I/O and no Asio: entry-ID
// arithmetic and the range of each stream, the filter, the k-way merge of partition cursors
// with its resume position, and the pacing of deliveries. Unit-tested in
// test/unit/replay_plan_test.cpp; replay/replay.cpp only carries the decisions out.

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/replay.hpp>

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// A stream entry ID "ms-seq".
struct entry_id {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  friend auto operator<=>(const entry_id&, const entry_id&) = default;
  [[nodiscard]] std::string text() const;
};
inline constexpr entry_id max_entry_id{UINT64_MAX, UINT64_MAX};

// "ms-seq", or "ms" alone (seq then `missing_seq`); nothing for anything else (signs, spaces,
// overflow, "-", "+").
[[nodiscard]] std::optional<entry_id> parse_entry_id(std::string_view text,
                                                     std::uint64_t missing_seq = 0) noexcept;
// The greatest ID below `id`; nothing for 0-0.
[[nodiscard]] std::optional<entry_id> id_before(entry_id id) noexcept;

// Where one stream's reading starts: the first entry >= `first` (or after `first` when
// `exclusive`). No start: the stream's beginning.
struct range_start {
  std::optional<entry_id> first;
  bool exclusive = false;
  friend bool operator==(const range_start&, const range_start&) = default;
};

// The start in partition `partition` (0 for a topic without partitions) from the options'
// from_id / from_time / after. A resume position (id, p) continues after it in (id, partition)
// order: a partition at or before p from after id, a later one from id itself. Expects
// validated options.
[[nodiscard]] range_start start_of(const replay_options& options, std::uint32_t partition);
// The requested end (inclusive), or nothing for "now".
[[nodiscard]] std::optional<entry_id> requested_end(const replay_options& options);
// XRANGE's start argument for `start`: "-", "<id>" or "(<id>".
[[nodiscard]] std::string xrange_start(const range_start& start);
// The ID a new group must be positioned at to read from `start` on (XGROUP CREATE's ID:
// entries after it are delivered).
[[nodiscard]] std::string group_position(const range_start& start);

// One stream's range, once its first and last entries are known (`first`/`last`: nothing for
// an empty or missing stream).
struct stream_range {
  std::optional<entry_id> end;  // inclusive; nothing: nothing to read
  bool trimmed_before = false;  // the start lies before the first entry
};
[[nodiscard]] stream_range plan_range(const range_start& start, std::optional<entry_id> requested,
                                      std::optional<entry_id> first, std::optional<entry_id> last);

// What the problem with the options is, naming the field; empty when they are valid.
[[nodiscard]] std::string options_problem(const replay_options& options);

// The filter's verdict on a decoded envelope.
[[nodiscard]] bool matches(const replay_filter& filter, const v1::Envelope& envelope);

// The idempotency key of a republished entry: "replay:<source topic>:<entry id>".
[[nodiscard]] std::string replay_idempotency_key(std::string_view source_topic,
                                                 std::string_view entry_id);

// After a request failed with `ec`, `failing_for` after its first failure and `retries`
// retries: how long to wait before trying it again, or nothing to give up. Tried again: what
// a new connection may cure (connection lost, timeout, outcome unknown: pages are reads, and a
// republish keeps its idempotency key), publish_indeterminate, transient server states
// (LOADING...); never a server refusal, a malformed reply, a fatal error (credentials) or
// cancellation. Waits 20 ms doubling to 1 s, never past retry_for.
[[nodiscard]] std::optional<std::chrono::milliseconds> retry_delay(
    const error_code& ec, std::chrono::milliseconds failing_for,
    std::chrono::milliseconds retry_for, unsigned retries) noexcept;

// An entry as read: its ID and flat field/value pairs.
struct replay_entry {
  std::string id;
  std::vector<std::string> fields;
};

// The k-way merge of the sources' XRANGE pages, in (id, source) order. Each source has a
// cursor; a source with no buffered entry and not exhausted must be read before anything can
// be taken (an entry of it could come first).
class replay_merge {
 public:
  struct action {
    enum class kind : std::uint8_t { read, take, done };
    kind what = kind::done;
    std::size_t source = 0;
  };
  // One source per stream: its start, and its end (nothing: empty, exhausted at once).
  void add_source(const range_start& start, std::optional<entry_id> end);
  [[nodiscard]] std::size_t sources() const noexcept { return sources_.size(); }

  // Read a page of `source` (XRANGE start_arg(source) end_arg(source) COUNT n), take the
  // next entry from `source`, or done.
  [[nodiscard]] action next() const;
  [[nodiscard]] std::string start_arg(std::size_t source) const;
  [[nodiscard]] std::string end_arg(std::size_t source) const;
  // A page read for `source` with COUNT `page_size`: a shorter one ends the source. Entries
  // past its end (not asked for) are dropped.
  void on_page(std::size_t source, std::vector<replay_entry> page, std::size_t page_size);
  // Removes and returns the entry next() said to take.
  replay_entry take(std::size_t source);

 private:
  struct cursor {
    range_start start;  // of the next page
    std::optional<entry_id> end;
    std::deque<replay_entry> buffered;
    std::deque<entry_id> ids;  // parsed IDs of `buffered`
    bool exhausted = false;
  };
  std::vector<cursor> sources_;
};

// Pacing at `per_second` deliveries (0: none). A delivery is due one interval after the
// previous one's due time; a replay that fell behind (a slow handler, a reconnect) does not
// burst to catch up: a due time more than one interval past restarts from now.
class replay_pacer {
 public:
  using clock = std::chrono::steady_clock;
  explicit replay_pacer(double per_second) noexcept;
  // How long to wait before the next delivery at `now` (zero: at once); records it as due.
  [[nodiscard]] clock::duration before_next(clock::time_point now) noexcept;

 private:
  clock::duration interval_{};
  std::optional<clock::time_point> due_;
};

}  // namespace streamq::streams::detail

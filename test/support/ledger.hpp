#pragma once
// The loss ledger of a fault test (issue 5). A test publishes messages that carry a unique
// sequence number, records how each publish ended, records every handler run, injects its
// fault, then drains the topic and its dead-letter stream into the ledger and reports:
//
//   ok          publishes confirmed by Redis
//   lost        confirmed, but never handled nor dead-lettered (with no handlers: confirmed,
//               but missing from the drained stream)
//   duplicated  stream entries beyond the first per sequence number
//   reexecuted  handler runs beyond the first per sequence number
//   recovered   indeterminate publishes (written, reply lost) found in the stream
//   unexpected  sequence numbers found in the stream or handled that were never published,
//               or whose publish failed (nothing should have been written)
//   recovery_ms the longest time from an injected fault (fault_injected()) to the next
//               success (a confirmed publish or a handler run) after it
//
// print() writes exactly one line to stdout: `LEDGER {"test":"...","ok":N,...}` with the keys
// test, ok, lost, duplicated, reexecuted, recovered, unexpected, recovery_ms in that order.
// Scripts collect these lines from the CTest output: keep the key names. A figure the test does
// not measure (see ledger_scope) is left out of the line, never printed as a zero.
//
// Std only (no streamq): the bookkeeping must not share bugs with the code under test.
// Thread-safe: handlers may record from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace streamq::test {

// What a test measures.
struct ledger_scope {
  // Handlers run and every run is recorded (record_handled). false for a test of publishing
  // and storage alone: `lost` then counts confirmed publishes missing from the drained topic
  // stream, and `reexecuted` is left out of the line.
  bool handlers = true;
  // A success (a confirmed publish or a handler run) follows the injected fault. false when
  // nothing is attempted after it: `recovery_ms` is left out of the line.
  bool recovery = true;
};

struct ledger_report {
  std::string test;
  ledger_scope scope;  // which figures were measured
  std::uint64_t ok = 0;
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reexecuted = 0;
  std::uint64_t recovered = 0;
  std::uint64_t unexpected = 0;
  std::uint64_t recovery_ms = 0;
  // Also known, not printed: how the publishes ended and what the drain found.
  std::uint64_t failed = 0;
  std::uint64_t indeterminate = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t handled = 0;  // distinct sequence numbers handled

  [[nodiscard]] std::string json() const;  // the JSON object of the LEDGER line
};

class ledger {
 public:
  enum class outcome { ok, failed, indeterminate };

  explicit ledger(std::string test_name, ledger_scope scope = {});

  // "seq-<n>" for n, and back (nullopt for anything else).
  [[nodiscard]] static std::string label(std::uint64_t seq);
  [[nodiscard]] static std::optional<std::uint64_t> parse_label(std::string_view text);

  // A sequence number not handed out before by this ledger (1, 2, 3...).
  std::uint64_t next_sequence();
  void record_publish(std::uint64_t seq, outcome how);
  void record_handled(std::uint64_t seq);       // every handler run, retries included
  void record_stream_entry(std::uint64_t seq);  // one per entry found when draining the topic
  void record_dead_letter(std::uint64_t seq);
  // An entry in the topic or dead-letter stream whose payload is not one of ours.
  void record_foreign_entry();

  // Marks the moment a fault was injected; the next success measures its recovery time.
  void fault_injected();

  // Published with outcome ok and not yet handled or dead-lettered (for wait loops).
  [[nodiscard]] std::size_t outstanding() const;
  [[nodiscard]] std::size_t handled_count() const;  // distinct sequence numbers handled

  [[nodiscard]] ledger_report report() const;
  // Prints the LEDGER line and returns the report (for the test's assertions).
  ledger_report print() const;

 private:
  void success_locked();

  std::string test_;
  ledger_scope scope_;
  mutable std::mutex mutex_;
  std::uint64_t next_ = 1;
  std::map<std::uint64_t, outcome> published_;
  std::map<std::uint64_t, std::uint64_t> handled_;  // seq -> runs
  std::map<std::uint64_t, std::uint64_t> present_;  // seq -> entries in the topic stream
  std::set<std::uint64_t> dead_;
  std::uint64_t foreign_ = 0;
  std::optional<std::chrono::steady_clock::time_point> fault_at_;
  std::chrono::milliseconds recovery_{0};
};

}  // namespace streamq::test

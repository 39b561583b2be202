// libFuzzer target for the consumer's reply decoders: the XREADGROUP reply decoder
// (lib/streams/commands/stream_reply.cpp) and the delivery commands' decoders
// (lib/streams/commands/delivery_requests.cpp), per-key ordering's
// (lib/streams/commands/ordering_requests.cpp), effectively-once processing's
// (lib/streams/commands/output_requests.cpp) and a partition growth's, as publishers and
// partitioned consumers read them (growth_requests.cpp, partition_requests.cpp).
// Input: byte 0 seeds how the rest is cut into chunks; bytes 1.. are one reply.
// Invariants: no crash; the stream reply decodes the same whole, in chunks and into recycled
// entries; it is an error (a server code or errc::malformed_entry) with no entries, or entries
// that are well formed; no entry reserves more than a few fields beyond those received; every
// delivery decoder either succeeds with a well-formed result or leaves its output empty, with
// one of its documented codes.

#include "chunks.hpp"
#include "streams/commands/delivery_requests.hpp"
#include "streams/commands/growth_requests.hpp"
#include "streams/commands/partition_requests.hpp"
#include "streams/commands/ordering_requests.hpp"
#include "streams/commands/output_requests.hpp"
#include "streams/commands/stream_reply.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
namespace detail = streamq::streams::detail;

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_stream_reply: invariant violated: %s\n", what);
    std::abort();
  }
}

const std::vector<std::string> stream_names{"s", "streamq:{orders}:stream"};

struct outcome {
  std::vector<detail::read_entry> entries;
  std::error_code error;
  std::string diagnostic;
  std::error_code parse_error;
  bool complete = false;
  bool reserved_by_announcement = false;  // an entry reserved more fields than it received

  bool operator==(const outcome& o) const {
    if (entries.size() != o.entries.size()) return false;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (entries[i].stream != o.entries[i].stream || entries[i].id != o.entries[i].id ||
          entries[i].fields != o.entries[i].fields || entries[i].deleted != o.entries[i].deleted)
        return false;
    return error == o.error && diagnostic == o.diagnostic && parse_error == o.parse_error &&
           complete == o.complete;
  }
};

// Feeds the first reply of `input` to `reply` in chunks drawn from `seed` (0: whole), the way a
// connection does; a parse error ends it (the connection would be dropped). With `value`, the
// nodes also build the reply's resp::value.
outcome run(std::string_view input, std::uint8_t seed, detail::stream_read_reply& reply,
            resp::value* value) {
  resp::parser_limits limits;
  limits.max_bulk_length = 4096;  // announced aggregate sizes stay at the default: the point
  resp::parser p(limits);
  resp::attribute_filter attributes;
  resp::value_builder builder;
  outcome out;
  std::string buffer;
  std::size_t fed = 0;
  fuzz::chunker chunks(seed);
  reply.on_start();
  while (true) {
    std::error_code ec;
    const auto n = p.consume(buffer, ec);
    if (ec) {
      out.parse_error = ec;
      break;
    }
    if (!n) {
      if (fed == input.size()) break;
      const std::size_t chunk = chunks.next(input.size() - fed);
      buffer.append(input.substr(fed, chunk));
      fed += chunk;
      continue;
    }
    const bool done = p.done();
    if (attributes.keep(*n)) {
      reply.on_node(0, *n);
      if (value != nullptr && builder.on_node(*n)) *value = std::move(builder.result());
    }
    buffer.erase(0, p.consumed());
    if (done) {
      out.complete = true;
      break;
    }
  }
  // Memory follows bytes: at most 16 fields reserved ahead of those received (measured on the
  // decoder's own entries: a copy has no spare capacity). Recycled entries keep theirs.
  for (const auto& e : reply.entries())
    if (e.fields.capacity() > std::max<std::size_t>(16, 2 * e.fields.size()))
      out.reserved_by_announcement = true;
  out.entries = reply.entries();
  out.error = reply.error();
  out.diagnostic = reply.diagnostic();
  return out;
}

// `o` from a decoder that recycled no entries.
void check_entries(const outcome& o, std::size_t input_size) {
  require(!o.reserved_by_announcement, "fields reserved by an announced size");
  if (o.error) {
    require(o.entries.empty(), "entries with an error");
    const bool malformed =
        o.error == std::error_code(make_error_code(streams::errc::malformed_entry));
    require(o.error.category() == resp::server_category() || malformed, "undocumented error code");
    require(!malformed || !o.diagnostic.empty(), "malformed, without saying where");
    return;
  }
  std::size_t bytes = 0;
  for (const auto& e : o.entries) {
    require(e.stream < stream_names.size(), "entry of a stream not asked for");
    // A reply cut short (the connection is dropped then) may end inside an entry.
    if (o.complete) require(e.fields.size() % 2 == 0, "odd fields");
    require(!e.deleted || e.fields.empty(), "a deleted entry with fields");
    bytes += e.id.size();
    for (const auto& f : e.fields) bytes += f.size();
  }
  require(bytes <= input_size, "more text decoded than received");
}

// `also` is a further code the decoder documents (errc{} when none).
template <class Out>
void check_failure(const detail::command_result& r, const Out& out, streams::errc also = {}) {
  if (!r.ec) return;
  require(out == Out{}, "output left after a failure");
  const std::error_code ec = r.ec;
  require(ec.category() == resp::server_category() || r.ec == streams::errc::malformed_entry ||
              (also != streams::errc{} && r.ec == also),
          "undocumented decoder error");
}

void check_claims(const detail::claim_result& c) {
  for (const auto& e : c.claimed) require(e.fields.size() % 2 == 0, "claimed: odd fields");
}

// Every delivery decoder on one reply.
void decode_all(const resp::value& v) {
  std::vector<detail::pending_row> rows;
  check_failure(detail::decode_pending_entries(v, rows), rows);
  // [-1] from a fenced take-over (claim_entries-2+.lua, take_due_retries-2+.lua): the
  // partition's lease names another member, errc::ownership_lost.
  detail::claim_result claimed;
  const auto claim = detail::decode_claim_entries(v, claimed);
  check_failure(claim, claimed, streams::errc::ownership_lost);
  check_claims(claimed);
  detail::due_retries due;
  const auto take = detail::decode_take_due_retries(v, due);
  check_failure(take, due, streams::errc::ownership_lost);
  check_claims(due.taken);
  // -1 from a fenced script is a write refused by the partition's lease (ack_fenced-2.lua,
  // schedule_retry-2+.lua, dead_letter-3+.lua): errc::ownership_lost.
  bool scheduled = true;
  check_failure(detail::decode_schedule_retry(v, scheduled), scheduled,
                streams::errc::ownership_lost);
  std::string dead_id = "stale";
  check_failure(detail::decode_write_dead_letter(v, dead_id), dead_id,
                streams::errc::ownership_lost);
  std::uint64_t acked = 7;
  check_failure(detail::decode_xack(v, acked), acked, streams::errc::ownership_lost);
  auto status = detail::requeue_status::gone;
  check_failure(detail::decode_requeue_dead_letter(v, status), status);
  std::vector<std::string> waiting{"stale"};
  check_failure(detail::decode_waiting_retries(v, waiting), waiting);
  const std::string ids[] = {"1-0", "1-1"};
  const resp::value pair[] = {v, v};
  std::vector<detail::entry_by_id> by_id;
  const auto ranges = detail::decode_entries_by_id(pair, ids, by_id);
  require(ranges.ec || by_id.size() == 2, "XRANGE pipeline: one result per ID");
  if (ranges.ec) require(by_id.empty(), "XRANGE pipeline: output left after a failure");
  for (const auto& e : by_id) require(e.fields.size() % 2 == 0, "XRANGE: odd fields");
  detail::commit_reply committed{detail::commit_status::committed, 3, 4};
  const auto commit = detail::decode_commit_outputs(v, committed);
  check_failure(commit, committed, streams::errc::ownership_lost);
  if (!commit.ec && committed.status != detail::commit_status::committed)
    require(committed.direct == 0 && committed.queued == 0, "commit: counts without a commit");
  std::vector<detail::outbox_entry> outbox{{"1-0", "t", "e", "s"}};
  check_failure(detail::decode_outbox_range(v, outbox), outbox);
  std::uint64_t deleted = 5;
  check_failure(detail::decode_outbox_delete(v, deleted), deleted);
  // A growth's decoders: partitions_changed is their documented refusal, which also names the
  // count the partition or topic has now (so that output is not empty then).
  std::string cut = "stale";
  const auto cut_result = detail::decode_cut_partition(v, cut);
  check_failure(cut_result, cut, streams::errc::partitions_changed);
  if (!cut_result.ec) require(!cut.empty(), "cut_partition: no cut");
  std::uint32_t count = 7;
  const auto finish = detail::decode_finish_growth(v, count);
  if (finish.ec && finish.ec != streams::errc::partitions_changed) check_failure(finish, count);
  detail::partition_state state{3, 4};
  check_failure(detail::decode_partition_state(v, state), state);
  std::optional<detail::growth_origin> origin = detail::growth_origin{1, "1-1"};
  check_failure(detail::decode_growth_origin(v, origin), origin);
  detail::drain_observation drain{true, "1-1", std::string("1-0")};
  const resp::value both[] = {v, v};
  check_failure(detail::decode_drain_check(both, "g", drain), drain);
  detail::batch_result published{{"1-0"}, 1};
  std::uint32_t current = 9;
  const auto publish = detail::decode_publish_partition(v, 1, published, current);
  check_failure(publish, published, streams::errc::partitions_changed);
  if (!publish.ec) require(published.ids.size() == 1, "publish_partition: one ID per entry");
  std::vector<detail::command_result> results;
  std::vector<std::uint64_t> counts;
  const resp::value replies[] = {v, v};
  const auto acks = detail::decode_acknowledge(replies, 2, results, counts);
  require(!acks.ec && results.size() == 2 && counts.size() == 2, "XACK pipeline");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  detail::stream_read_reply fresh(stream_names);
  resp::value value;
  const outcome whole = run(input, 0, fresh, &value);
  check_entries(whole, input.size());

  detail::stream_read_reply split_reply(stream_names);
  const outcome split = run(input, data[0], split_reply, nullptr);
  require(whole == split, "whole and split decodes differ");
  check_entries(split, input.size());

  // Recycled entries (handed back after a first decode, plus one with fields of its own) must
  // leave no trace.
  std::vector<detail::read_entry> spare = whole.entries;
  spare.push_back({1, "9-9", {"old", "fields", "of", "an", "entry"}, true});
  detail::stream_read_reply recycled(stream_names);
  recycled.reuse_entries_from(&spare);
  require(whole == run(input, data[0], recycled, nullptr), "recycled entries decode differently");

  if (whole.complete) decode_all(value);
  return 0;
}

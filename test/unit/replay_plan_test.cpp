// The replay's rules (lib/streams/sansio/replay_plan.hpp), with no server and no io_context:
// entry-ID arithmetic, each stream's range and resume start, the options' validation, the
// filter, the k-way merge of partition pages, retries and pacing.
#include "streams/sansio/replay_plan.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>

#include <boost/asio/error.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <initializer_list>
#include <ostream>  // doctest prints error codes with it
#include <stdexcept>
#include <string>
#include <vector>

using namespace streamq::streams;
using namespace streamq::streams::detail;
using namespace std::chrono_literals;

namespace {

replay_options options_for(std::string topic) {
  replay_options o;
  o.topic = std::move(topic);
  return o;
}

// A page of entries with these IDs (fields do not matter to the merge).
std::vector<replay_entry> page(std::vector<std::string> ids) {
  std::vector<replay_entry> out;
  for (auto& id : ids) out.push_back({std::move(id), {"v", "1"}});
  return out;
}

// Drives `merge` to its end, reading pages from `streams` (each source's whole stream, in ID
// order, as XRANGE would serve it); returns "source:id" in the order taken.
std::vector<std::string> drain(replay_merge& merge,
                               const std::vector<std::vector<std::string>>& streams,
                               std::size_t page_size) {
  std::vector<std::string> taken;
  for (int guard = 0; guard < 1000; ++guard) {
    const auto next = merge.next();
    if (next.what == replay_merge::action::kind::done) return taken;
    if (next.what == replay_merge::action::kind::take) {
      taken.push_back(std::to_string(next.source) + ":" + merge.take(next.source).id);
      continue;
    }
    // Serve XRANGE start end COUNT page_size from the source's entries.
    const auto start_text = merge.start_arg(next.source);
    const auto end = *parse_entry_id(merge.end_arg(next.source), UINT64_MAX);
    const bool exclusive = start_text.starts_with("(");
    const auto start = start_text == "-" ? entry_id{}
                                         : *parse_entry_id(start_text.substr(exclusive ? 1 : 0));
    std::vector<std::string> ids;
    for (const auto& id_text : streams[next.source]) {
      const auto id = *parse_entry_id(id_text);
      if (id < start || (exclusive && id == start) || id > end) continue;
      if (ids.size() == page_size) break;
      ids.push_back(id_text);
    }
    merge.on_page(next.source, page(ids), page_size);
  }
  FAIL("the merge did not end");
  return taken;
}

}  // namespace

TEST_CASE("replay entry IDs: parsed, printed, ordered and stepped back") {
  CHECK(parse_entry_id("1700000000000-7") == entry_id{1700000000000, 7});
  CHECK(parse_entry_id("12") == entry_id{12, 0});
  CHECK(parse_entry_id("12", UINT64_MAX) == entry_id{12, UINT64_MAX});
  for (const char* wrong : {"", "-", "+", "1-", "-1", "1-2-3", "a-1", " 1-1", "1-+1",
                            "18446744073709551616-0"})
    CHECK_FALSE(parse_entry_id(wrong));
  CHECK((entry_id{5, 9}).text() == "5-9");
  CHECK(entry_id{5, 9} < entry_id{6, 0});
  CHECK(entry_id{5, 9} > entry_id{5, 8});
  CHECK(id_before({5, 9}) == entry_id{5, 8});
  CHECK(id_before({5, 0}) == entry_id{4, UINT64_MAX});
  CHECK_FALSE(id_before({0, 0}));
}

TEST_CASE("replay start and end: from an ID, a time, or after a resume position") {
  auto o = options_for("orders");
  CHECK(start_of(o, 0) == range_start{});
  CHECK(xrange_start(start_of(o, 0)) == "-");
  CHECK(group_position(start_of(o, 0)) == "0");
  o.from_id = "100-2";
  CHECK(xrange_start(start_of(o, 0)) == "100-2");
  CHECK(group_position(start_of(o, 0)) == "100-1");
  o.from_id = "100";
  CHECK(xrange_start(start_of(o, 0)) == "100-0");
  CHECK(group_position(start_of(o, 0)) == "99-18446744073709551615");
  o.from_id.clear();
  o.from_time = std::chrono::system_clock::time_point(1700000000123ms);
  CHECK(xrange_start(start_of(o, 0)) == "1700000000123-0");
  // A resume position (id, partition 2) continues in (id, partition) order.
  o.from_time.reset();
  o.after = replay_position{"orders#2", 2, "50-1"};
  CHECK(xrange_start(start_of(o, 0)) == "(50-1");
  CHECK(xrange_start(start_of(o, 2)) == "(50-1");
  CHECK(xrange_start(start_of(o, 3)) == "50-1");
  CHECK(group_position(start_of(o, 2)) == "50-1");
  CHECK(group_position(start_of(o, 3)) == "50-0");

  CHECK_FALSE(requested_end(o));
  o.to_id = "70-3";
  CHECK(requested_end(o) == entry_id{70, 3});
  o.to_id = "70";
  CHECK(requested_end(o) == entry_id{70, UINT64_MAX});
  o.to_id.clear();
  o.to_time = std::chrono::system_clock::time_point(1700000000123ms);
  CHECK(requested_end(o) == entry_id{1700000000123, UINT64_MAX});
}

TEST_CASE("replay range: ends at the stream's last entry or the requested end - trimmed start") {
  const range_start from_10{entry_id{10, 0}, false};
  // Empty or missing stream: nothing to read.
  CHECK_FALSE(plan_range(from_10, std::nullopt, std::nullopt, std::nullopt).end);
  // "now": the last entry when the replay starts.
  auto r = plan_range(from_10, std::nullopt, entry_id{5, 0}, entry_id{20, 1});
  CHECK(r.end == entry_id{20, 1});
  CHECK_FALSE(r.trimmed_before);
  CHECK(plan_range(from_10, entry_id{15, 0}, entry_id{5, 0}, entry_id{20, 1}).end ==
        entry_id{15, 0});
  // The start before the first entry: trimmed history, reading starts at the first entry.
  r = plan_range(from_10, std::nullopt, entry_id{12, 0}, entry_id{20, 1});
  CHECK(r.trimmed_before);
  CHECK(r.end == entry_id{20, 1});
  CHECK_FALSE(plan_range(range_start{}, std::nullopt, entry_id{12, 0}, entry_id{20, 1})
                  .trimmed_before);
  // Starting past the end, or just after it: nothing.
  CHECK_FALSE(plan_range({entry_id{30, 0}, false}, std::nullopt, entry_id{5, 0}, entry_id{20, 1}).end);
  CHECK_FALSE(plan_range({entry_id{20, 1}, true}, std::nullopt, entry_id{5, 0}, entry_id{20, 1}).end);
  CHECK(plan_range({entry_id{20, 1}, false}, std::nullopt, entry_id{5, 0}, entry_id{20, 1}).end ==
        entry_id{20, 1});
}

TEST_CASE("replay options: valid by default with a topic - each problem names its field") {
  auto o = options_for("orders");
  CHECK(options_problem(o).empty());
  CHECK_NOTHROW(o.validate());
  o.topic = "orders#4";
  CHECK(options_problem(o).empty());
  auto problem = [](auto change) {
    auto bad = options_for("orders");
    change(bad);
    return options_problem(bad);
  };
  CHECK(problem([](auto& b) { b.topic = "a b"; }).starts_with("topic:"));
  CHECK(problem([](auto& b) { b.key_prefix = "{x}"; }).starts_with("key_prefix:"));
  CHECK(problem([](auto& b) {
          b.from_id = "1-0";
          b.from_time = std::chrono::system_clock::now();
        }).starts_with("from_id, from_time, after:"));
  CHECK(problem([](auto& b) { b.from_id = "x"; }).starts_with("from_id:"));
  CHECK(problem([](auto& b) { b.after = replay_position{"orders", 0, "5"}; }).starts_with("after:"));
  CHECK(problem([](auto& b) {
          b.to_id = "1-0";
          b.to_time = std::chrono::system_clock::now();
        }).starts_with("to_id, to_time:"));
  CHECK(problem([](auto& b) { b.to_id = "+"; }).starts_with("to_id:"));
  CHECK(problem([](auto& b) { b.page_size = 0; }).starts_with("page_size:"));
  CHECK(problem([](auto& b) { b.page_size = 10001; }).starts_with("page_size:"));
  CHECK(problem([](auto& b) { b.max_per_second = -1; }).starts_with("max_per_second:"));
  CHECK(problem([](auto& b) { b.retry_for = 0ms; }).starts_with("retry_for:"));
  CHECK(problem([](auto& b) { b.request_timeout = 0ms; }).starts_with("request_timeout:"));
  auto bad = options_for("orders");
  bad.page_size = 0;
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("replay_options.page_size"),
                       std::invalid_argument);
}

TEST_CASE("replay filter: type set, every header given, partition key - empty takes all") {
  streamq::v1::Envelope e;
  e.set_type("shop.Order");
  e.set_partition_key("customer-7");
  (*e.mutable_headers())["tenant"] = "acme";
  (*e.mutable_headers())["region"] = "eu";
  replay_filter f;
  CHECK(matches(f, e));
  f.types = {"shop.Refund", "shop.Order"};
  CHECK(matches(f, e));
  f.types = {"shop.Refund"};
  CHECK_FALSE(matches(f, e));
  f.types.clear();
  f.headers = {{"tenant", "acme"}, {"region", "eu"}};
  CHECK(matches(f, e));
  f.headers["region"] = "us";
  CHECK_FALSE(matches(f, e));
  f.headers = {{"missing", ""}};
  CHECK_FALSE(matches(f, e));
  f.headers.clear();
  f.partition_key = "customer-7";
  CHECK(matches(f, e));
  f.partition_key = "customer-8";
  CHECK_FALSE(matches(f, e));
  f.partition_key = "";
  CHECK_FALSE(matches(f, e));
  CHECK(replay_idempotency_key("orders#1", "5-0") == "replay:orders#1:5-0");
}

TEST_CASE("replay merge: one stream in pages, in order, up to its end") {
  replay_merge merge;
  merge.add_source(range_start{}, entry_id{9, 0});
  const std::vector<std::vector<std::string>> streams{{"1-0", "2-0", "3-0", "4-0", "9-0", "10-0"}};
  CHECK(drain(merge, streams, 2) == std::vector<std::string>{"0:1-0", "0:2-0", "0:3-0", "0:4-0",
                                                             "0:9-0"});
  replay_merge empty;
  empty.add_source(range_start{}, std::nullopt);
  CHECK(empty.next().what == replay_merge::action::kind::done);
}

TEST_CASE("replay merge: partitions in (id, partition) order, each read before it is passed") {
  const std::vector<std::vector<std::string>> streams{
      {"1-0", "4-0", "5-0", "8-0"}, {"2-0", "4-0", "9-0"}, {"3-0", "3-1", "4-0"}};
  for (std::size_t page_size : std::initializer_list<std::size_t>{1, 2, 3, 100}) {
    CAPTURE(page_size);
    replay_merge merge;
    merge.add_source(range_start{}, entry_id{8, 0});
    merge.add_source(range_start{}, entry_id{9, 0});
    merge.add_source(range_start{}, entry_id{4, 0});
    CHECK(drain(merge, streams, page_size) ==
          std::vector<std::string>{"0:1-0", "1:2-0", "2:3-0", "2:3-1", "0:4-0", "1:4-0", "2:4-0",
                                   "0:5-0", "0:8-0", "1:9-0"});
  }
  // Resumed after (4-0, partition 1): partition 2's 4-0 is next, then the rest.
  auto o = options_for("orders");
  o.after = replay_position{"orders#1", 1, "4-0"};
  replay_merge resumed;
  for (std::uint32_t p = 0; p < 3; ++p) resumed.add_source(start_of(o, p), entry_id{9, 0});
  CHECK(drain(resumed, streams, 2) ==
        std::vector<std::string>{"2:4-0", "0:5-0", "0:8-0", "1:9-0"});
}

TEST_CASE("replay merge: a reply outside the range asked for is dropped") {
  replay_merge merge;
  merge.add_source(range_start{entry_id{5, 0}, true}, entry_id{9, 0});
  CHECK(merge.start_arg(0) == "(5-0");
  CHECK(merge.end_arg(0) == "9-0");
  merge.on_page(0, page({"5-0", "4-0", "6-0", "x", "10-0"}), 5);
  CHECK(merge.next().what == replay_merge::action::kind::take);
  CHECK(merge.take(0).id == "6-0");
  // The page was full: the source is read again after its last entry.
  CHECK(merge.next().what == replay_merge::action::kind::read);
  CHECK(merge.start_arg(0) == "(6-0");
  merge.on_page(0, page({}), 5);
  CHECK(merge.next().what == replay_merge::action::kind::done);
}

TEST_CASE("replay retries: connection trouble and unknown outcomes, within retry_for only") {
  using streamq::redis::client_errc;
  auto server = [](streamq::resp::server_errc e) { return error_code(std::error_code(e)); };
  const error_code lost = boost::asio::error::connection_reset;
  CHECK(retry_delay(lost, 0ms, 1000ms, 0) == 20ms);
  CHECK(retry_delay(lost, 0ms, 1000ms, 1) == 40ms);
  CHECK(retry_delay(lost, 0ms, 5000ms, 10) == 1000ms);
  CHECK(retry_delay(lost, 990ms, 1000ms, 10) == 10ms);  // never past retry_for
  CHECK_FALSE(retry_delay(lost, 1000ms, 1000ms, 0));
  CHECK(retry_delay(client_errc::outcome_unknown, 0ms, 1000ms, 0));
  CHECK(retry_delay(client_errc::timeout, 0ms, 1000ms, 0));
  CHECK(retry_delay(client_errc::not_connected, 0ms, 1000ms, 0));
  CHECK(retry_delay(errc::publish_indeterminate, 0ms, 1000ms, 0));
  CHECK(retry_delay(server(streamq::resp::server_errc::loading), 0ms, 1000ms, 0));
  CHECK_FALSE(retry_delay(error_code{}, 0ms, 1000ms, 0));
  CHECK_FALSE(retry_delay(server(streamq::resp::server_errc::wrongtype), 0ms, 1000ms, 0));
  CHECK_FALSE(retry_delay(server(streamq::resp::server_errc::noperm), 0ms, 1000ms, 0));
  CHECK_FALSE(retry_delay(errc::malformed_entry, 0ms, 1000ms, 0));
  CHECK_FALSE(retry_delay(errc::message_too_large, 0ms, 1000ms, 0));
  CHECK_FALSE(retry_delay(boost::asio::error::operation_aborted, 0ms, 1000ms, 0));
  CHECK_FALSE(retry_delay(client_errc::shut_down, 0ms, 1000ms, 0));
}

TEST_CASE("replay pacing: one interval between deliveries, no burst after falling behind") {
  using clock = replay_pacer::clock;
  const clock::time_point t0{};
  replay_pacer unlimited(0);
  CHECK(unlimited.before_next(t0) == clock::duration::zero());
  CHECK(unlimited.before_next(t0) == clock::duration::zero());

  replay_pacer pacer(10);  // 100 ms apart
  CHECK(pacer.before_next(t0) == clock::duration::zero());
  CHECK(pacer.before_next(t0) == 100ms);               // due at 100 ms
  CHECK(pacer.before_next(t0 + 100ms) == 100ms);       // due at 200 ms
  CHECK(pacer.before_next(t0 + 250ms) == 50ms);        // due at 300 ms
  CHECK(pacer.before_next(t0 + 350ms) == 50ms);        // due at 400 ms
  // Stalled for a second: the next one goes at once and the pace restarts from there.
  CHECK(pacer.before_next(t0 + 1400ms) == clock::duration::zero());
  CHECK(pacer.before_next(t0 + 1400ms) == 100ms);
}

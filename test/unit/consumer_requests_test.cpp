// Tests of lib/streams/commands/consumer_requests.* (the consumer's group, inspection, read and
// once-only commands, built and decoded with no server): every decoder fed replies as Redis
// sends them, through resp::parser and the runner's own adapter (command_reply, or
// generic_response for pipelines) whole, at every split point and byte by byte; server errors
// classified by the decoder; every other shape errc::malformed_entry with the output left
// empty. The builders' commands are read back argument by argument.
//
// Fixtures are the bytes redis-server 7.0.15 sent (captured with HELLO 2 and HELLO 3); where the
// protocols differ (nulls, maps, doubles) both are fed.
#include "streams/commands/consumer_requests.hpp"
#include "request_harness.hpp"
#include "streams/commands/script.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>  // doctest prints std::error_code with it
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace std::chrono_literals;

namespace {

// The fixtures wrongtype, oom, noscript and attribute, and the checks, are request_harness.hpp's.
using namespace request_harness;

auto decode_create = [](const resp::value& v, group_status& out) {
  return decode_create_group(v, out);
};
auto decode_groups = [](const resp::value& v, std::vector<group_info>& out) {
  return decode_group_info(v, out);
};
auto decode_length = [](const resp::value& v, std::uint64_t& out) {
  return decode_stream_length(v, out);
};
auto decode_score = [](const resp::value& v, std::optional<double>& out) {
  return decode_processed_at(v, out);
};
auto decode_acked = [](const resp::value& v, std::uint64_t& out) {
  return decode_ack_processed(v, out);
};


// XINFO GROUPS of a stream with groups g (one consumer, 2 pending, lag 1) and h (lag unknown),
// as Redis 7.0 sends it.
const std::string groups_resp3 =
    "*2\r\n"
    "%6\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:2\r\n"
    "$17\r\nlast-delivered-id\r\n$3\r\n1-2\r\n$12\r\nentries-read\r\n:2\r\n$3\r\nlag\r\n:1\r\n"
    "%6\r\n$4\r\nname\r\n$1\r\nh\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n"
    "$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n$12\r\nentries-read\r\n_\r\n$3\r\nlag\r\n_\r\n";
const std::string groups_resp2 =
    "*2\r\n"
    "*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:2\r\n"
    "$17\r\nlast-delivered-id\r\n$3\r\n1-2\r\n$12\r\nentries-read\r\n:2\r\n$3\r\nlag\r\n:1\r\n"
    "*12\r\n$4\r\nname\r\n$1\r\nh\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n"
    "$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n$-1\r\n";
const std::vector<group_info> two_groups{{"g", 1, 2, "1-2", 1}, {"h", 0, 0, "0-0", std::nullopt}};
const std::vector<group_info> stale_groups{{"stale", 9, 9, "9-9", 9}};

}  // namespace

TEST_CASE("XGROUP CREATE: created, exists (BUSYGROUP), refused, other shapes") {
  expect_decoded<group_status>("+OK\r\n", group_status::exists, decode_create,
                               group_status::created);
  expect_decoded<group_status>("-BUSYGROUP Consumer Group name already exists\r\n",
                               group_status::created, decode_create, group_status::exists);
  expect_decoded<group_status>("!44\r\nBUSYGROUP Consumer Group name already exists\r\n",
                               group_status::created, decode_create, group_status::exists);
  expect_decoded<group_status>(std::string(attribute) + "+OK\r\n", group_status::exists,
                               decode_create, group_status::created);
  // Out of memory it is refused even when the group exists: the caller looks (XINFO GROUPS).
  expect_refused<group_status>(oom, group_status::created, decode_create, resp::server_errc::oom,
                               oom_text);
  expect_refused<group_status>(wrongtype, group_status::created, decode_create,
                               resp::server_errc::wrongtype, wrongtype_text);
  expect_refused<group_status>(
      "-NOPERM this user has no permissions to run the 'xgroup|create' command\r\n",
      group_status::created, decode_create, resp::server_errc::noperm,
      "NOPERM this user has no permissions to run the 'xgroup|create' command");
  for (std::string_view wrong :
       {"+QUEUED\r\n", "$2\r\nOK\r\n", ":1\r\n", "_\r\n", "$-1\r\n", "*1\r\n+OK\r\n", "#t\r\n"})
    expect_malformed<group_status>(wrong, group_status::created, decode_create);
}

TEST_CASE("XGROUP CREATE pipeline: each reply on its own, a missing one malformed") {
  resp::generic_response replies;
  std::vector<command_result> results;
  std::vector<group_status> status;
  const std::string three =
      "+OK\r\n-BUSYGROUP Consumer Group name already exists\r\n" + std::string(oom);
  reply_harness::for_every_split(
      three, replies,
      [&] {
        results.assign(5, command_result{streams::errc::malformed_entry, "stale"});
        status.assign(5, group_status::created);
        const auto overall = decode_create_groups(replies.values(), 3, results, status);
        CHECK_FALSE(overall.ec);
        REQUIRE(results.size() == 3);
        REQUIRE(status.size() == 3);
        CHECK_FALSE(results[0].ec);
        CHECK(status[0] == group_status::created);
        CHECK_FALSE(results[1].ec);
        CHECK(status[1] == group_status::exists);
        CHECK(results[2].ec == resp::server_errc::oom);
        CHECK(results[2].diagnostic == oom_text);
        CHECK(status[2] == group_status::refused);
      },
      3);
  reply_harness::for_every_split(
      "+OK\r\n", replies,
      [&] {
        const auto overall = decode_create_groups(replies.values(), 2, results, status);
        CHECK(overall.ec == streams::errc::malformed_entry);
        REQUIRE(results.size() == 2);
        for (const auto& r : results) CHECK((!r.ec && r.diagnostic.empty()));
        CHECK(status == std::vector<group_status>(2, group_status::refused));
      },
      1);
}

TEST_CASE("XINFO GROUPS: RESP3 maps and RESP2 arrays, null lag, errors, other shapes") {
  expect_decoded(groups_resp3, stale_groups, decode_groups, two_groups);
  expect_decoded(groups_resp2, stale_groups, decode_groups, two_groups);
  expect_decoded(std::string(attribute) + groups_resp3, stale_groups, decode_groups, two_groups);
  expect_decoded<std::vector<group_info>>("*0\r\n", stale_groups, decode_groups, {});
  // Redis 6: no entries-read nor lag. Fields a later server adds are skipped, whatever shape.
  expect_decoded<std::vector<group_info>>(
      "*1\r\n%5\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:0\r\n"
      "$17\r\nlast-delivered-id\r\n$3\r\n1-2\r\n$5\r\nnewer\r\n*1\r\n:1\r\n",
      stale_groups, decode_groups, {{"g", 1, 0, "1-2", std::nullopt}});
  CHECK(find_group(two_groups, "h") == &two_groups[1]);
  CHECK(find_group(two_groups, "nope") == nullptr);

  // A stream that does not exist, one of another type.
  expect_refused<std::vector<group_info>>("-ERR no such key\r\n", stale_groups, decode_groups,
                                          resp::server_errc::generic, "ERR no such key");
  expect_refused<std::vector<group_info>>(wrongtype, stale_groups, decode_groups,
                                          resp::server_errc::wrongtype, wrongtype_text);

  const std::string head = "*1\r\n%4\r\n";
  const std::string name = "$4\r\nname\r\n$1\r\ng\r\n";
  const std::string consumers = "$9\r\nconsumers\r\n:1\r\n";
  const std::string pending = "$7\r\npending\r\n:0\r\n";
  const std::string last = "$17\r\nlast-delivered-id\r\n$3\r\n1-2\r\n";
  for (const std::string& wrong : {
           std::string(":1\r\n"),                                       // not an array
           std::string("_\r\n"),                                        // nil
           std::string("%0\r\n"),                                       // a map, not an array
           std::string("*1\r\n:1\r\n"),                                 // a group not an aggregate
           "*1\r\n*3\r\n" + name + "$9\r\nconsumers\r\n",               // odd field count
           "*1\r\n%3\r\n" + consumers + pending + last,                 // no name
           "*1\r\n%3\r\n" + name + pending + last,                      // no consumers
           "*1\r\n%3\r\n" + name + consumers + last,                    // no pending
           "*1\r\n%3\r\n" + name + consumers + pending,                 // no last-delivered-id
           head + "$4\r\nname\r\n:1\r\n" + consumers + pending + last,  // name not text
           head + name + "$9\r\nconsumers\r\n$1\r\nx\r\n" + pending + last,
           head + name + consumers + "$7\r\npending\r\n:-1\r\n" + last,  // negative
           head + name + consumers + pending + "$17\r\nlast-delivered-id\r\n_\r\n",
           "*1\r\n%5\r\n" + name + consumers + pending + last + "$3\r\nlag\r\n,1.5\r\n",
           "*1\r\n%4\r\n:1\r\n$1\r\ng\r\n" + consumers + pending + last,   // field not text
           "*2\r\n%4\r\n" + name + consumers + pending + last + "*0\r\n",  // a bad second group
       })
    expect_malformed(wrong, stale_groups, decode_groups);
}

TEST_CASE("XLEN: the length, errors, other shapes") {
  expect_decoded<std::uint64_t>(":0\r\n", 7, decode_length, 0);
  expect_decoded<std::uint64_t>(":42\r\n", 7, decode_length, 42);
  expect_refused<std::uint64_t>(wrongtype, 7, decode_length, resp::server_errc::wrongtype,
                                wrongtype_text);
  for (std::string_view wrong : {":-1\r\n", "$2\r\n42\r\n", "_\r\n", "*1\r\n:1\r\n", ",1\r\n"})
    expect_malformed<std::uint64_t>(wrong, 7, decode_length);
}

TEST_CASE("XLEN and XINFO GROUPS pipeline: per stream results, a missing reply malformed") {
  resp::generic_response replies;
  std::vector<stream_state> states;
  // Stream one has groups, stream two does not exist (XLEN 0, XINFO GROUPS refused).
  const std::string four = ":3\r\n" + groups_resp3 + ":0\r\n-ERR no such key\r\n";
  reply_harness::for_every_split(
      four, replies,
      [&] {
        states.assign(3, stream_state{{streams::errc::malformed_entry, "stale"}, 9, {}, {}});
        const auto overall = decode_stream_states(replies.values(), 2, states);
        CHECK_FALSE(overall.ec);
        REQUIRE(states.size() == 2);
        CHECK_FALSE(states[0].length_result.ec);
        CHECK(states[0].length == 3);
        CHECK_FALSE(states[0].groups_result.ec);
        CHECK(states[0].groups == two_groups);
        CHECK_FALSE(states[1].length_result.ec);
        CHECK(states[1].length == 0);
        CHECK(states[1].groups_result.ec == resp::server_errc::generic);
        CHECK(states[1].groups.empty());
      },
      4);
  reply_harness::for_every_split(
      ":3\r\n", replies,
      [&] {
        const auto overall = decode_stream_states(replies.values(), 1, states);
        CHECK(overall.ec == streams::errc::malformed_entry);
        REQUIRE(states.size() == 1);
        CHECK_FALSE(states[0].length_result.ec);
        CHECK(states[0].length == 0);
      },
      1);
}

TEST_CASE("ZSCORE: RESP3 double, RESP2 text, not recorded, errors, other shapes") {
  const std::optional<double> stale = 1.0;
  const std::optional<double> at = 1700000000123.0;
  expect_decoded(",1700000000123\r\n", stale, decode_score, at);
  expect_decoded("$13\r\n1700000000123\r\n", stale, decode_score, at);
  expect_decoded(",1.700000000123e+12\r\n", stale, decode_score, at);
  expect_decoded<std::optional<double>>("_\r\n", stale, decode_score, std::nullopt);
  expect_decoded<std::optional<double>>("$-1\r\n", stale, decode_score, std::nullopt);
  expect_refused(wrongtype, stale, decode_score, resp::server_errc::wrongtype, wrongtype_text);
  for (std::string_view wrong :
       {",nan\r\n", "$2\r\n1x\r\n", "$0\r\n\r\n", ":1\r\n", "*1\r\n,1\r\n", "#t\r\n"})
    expect_malformed(wrong, stale, decode_score);
}

TEST_CASE("ack_processed: XACK's count, errors, other shapes") {
  expect_decoded<std::uint64_t>(":1\r\n", 9, decode_acked, 1);
  expect_decoded<std::uint64_t>(":0\r\n", 9, decode_acked, 0);
  expect_refused<std::uint64_t>(noscript, 9, decode_acked, resp::server_errc::noscript,
                                noscript_text);
  expect_refused<std::uint64_t>(oom, 9, decode_acked, resp::server_errc::oom, oom_text);
  // A fenced call's refusal: the partition's lease names another owner or epoch.
  expect_refused<std::uint64_t>(":-1\r\n", 9, decode_acked,
                                make_error_code(streams::errc::ownership_lost), "");
  for (std::string_view wrong : {":-2\r\n", "$1\r\n1\r\n", "_\r\n", "*1\r\n:1\r\n", "+OK\r\n"})
    expect_malformed<std::uint64_t>(wrong, 9, decode_acked);
}

TEST_CASE("consumer builders: each command's arguments, keys in the topic's slot") {
  const streams::topic_keys keys("orders");
  const streams::topic_keys other("refunds");
  const std::string group = "billing", consumer = "c-1";
  using args = std::vector<std::string>;

  SUBCASE("XGROUP CREATE from the start or from now") {
    resp::request req;
    build_create_group(req, keys.stream(), group, true);
    build_create_group(req, keys.stream(), group, false);
    CHECK(commands_of(req) ==
          std::vector<args>{{"XGROUP", "CREATE", keys.stream(), group, "0", "MKSTREAM"},
                            {"XGROUP", "CREATE", keys.stream(), group, "$", "MKSTREAM"}});
    CHECK(req.slot() == keys.slot());
  }

  SUBCASE("XLEN and XINFO GROUPS per stream") {
    const std::vector<std::string> streams_read{keys.stream(), other.stream()};
    resp::request req;
    build_stream_states(req, streams_read);
    CHECK(commands_of(req) == std::vector<args>{{"XLEN", keys.stream()},
                                                {"XINFO", "GROUPS", keys.stream()},
                                                {"XLEN", other.stream()},
                                                {"XINFO", "GROUPS", other.stream()}});
    CHECK(req.reply_count() == 4);
  }

  SUBCASE("XREADGROUP of new entries: blocking, one > per stream") {
    const std::vector<std::string_view> streams_read{keys.stream(), other.stream()};
    resp::request req;
    build_read_new(req, group, consumer, 16, 500ms, streams_read);
    CHECK(commands_of(req) ==
          std::vector<args>{{"XREADGROUP", "GROUP", group, consumer, "COUNT", "16", "BLOCK", "500",
                             "STREAMS", keys.stream(), other.stream(), ">", ">"}});
    CHECK(req.has_blocking_command());
    CHECK(req.cross_slot() == (keys.slot() != other.slot()));
  }

  SUBCASE("ZSCORE") {
    resp::request req;
    build_processed_at(req, keys.processed(group), "order-7");
    CHECK(commands_of(req) == std::vector<args>{{"ZSCORE", keys.processed(group), "order-7"}});
    CHECK(req.slot() == keys.slot());
  }

  SUBCASE("ack_processed: by SHA, and by source with the same arguments") {
    resp::request by_sha, by_source;
    build_ack_processed(by_sha, false, keys.processed(group), keys.stream(), group, "1-1",
                        "order-7", 60000ms, nullptr);
    build_ack_processed(by_source, true, keys.processed(group), keys.stream(), group, "1-1",
                        "order-7", 60000ms, nullptr);
    const auto sha = commands_of(by_sha), source = commands_of(by_source);
    REQUIRE(sha.size() == 1);
    REQUIRE(source.size() == 1);
    const args tail{"2", keys.processed(group), keys.stream(), group, "1-1", "order-7", "60000"};
    CHECK(sha[0][0] == "EVALSHA");
    CHECK(source[0][0] == "EVAL");
    CHECK(sha[0][1] == sha1_hex(source[0][1]));
    CHECK(args(sha[0].begin() + 2, sha[0].end()) == tail);
    CHECK(args(source[0].begin() + 2, source[0].end()) == tail);
    CHECK(by_sha.slot() == keys.slot());
    CHECK_FALSE(by_sha.cross_slot());
  }

  SUBCASE("ack_processed for a partition's consumer: the lease key and its owner and epoch") {
    const ack_fence fence{keys.lease(group), "member-1", 7};
    resp::request req;
    build_ack_processed(req, false, keys.processed(group), keys.stream(), group, "1-1", "order-7",
                        60000ms, &fence);
    const auto cmds = commands_of(req);
    REQUIRE(cmds.size() == 1);
    CHECK(args(cmds[0].begin() + 2, cmds[0].end()) ==
          args{"3", keys.processed(group), keys.stream(), fence.lease_key, group, "1-1", "order-7",
               "60000", "member-1", "7"});
    CHECK(req.slot() == keys.slot());
  }
}

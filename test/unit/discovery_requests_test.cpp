// Tests of lib/streams/commands/discovery_requests.* (how the admin library finds topics and
// totals one stream, with no server): which keys are topic streams; SCAN and the stream
// overview pipeline built, and decoded from replies as redis-server 7.0.15 sent them (HELLO 2
// and HELLO 3) fed whole, at every split point and byte by byte (request_harness.hpp); a
// missing stream as a state; other shapes errc::malformed_entry with the output left empty.
#include "streams/commands/discovery_requests.hpp"
#include "request_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <span>
#include <string>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace request_harness;

namespace {

auto decode_scan = [](const resp::value& v, scan_page& out) {
  return decode_scan_streams(v, out);
};
const scan_page stale_page{"17", {"stale"}};

// XINFO STREAM of a stream with one entry 1-0 and one group (HELLO 3); its RESP2 form.
const std::string stream_resp3 =
    "%10\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n"
    "$17\r\nlast-generated-id\r\n$3\r\n1-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n"
    "$13\r\nentries-added\r\n:1\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-0\r\n$6\r\ngroups\r\n"
    ":1\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n$10\r\nlast-entry\r\n"
    "*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n";
const std::string stream_resp2 = "*20" + stream_resp3.substr(3);
const std::string groups_resp3 =
    "*1\r\n%6\r\n$4\r\nname\r\n$7\r\nbilling\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n"
    "$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n$12\r\nentries-read\r\n_\r\n$3\r\nlag\r\n:1\r\n";
const std::string groups_resp2 =
    "*1\r\n*12\r\n$4\r\nname\r\n$7\r\nbilling\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n"
    "$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n:1\r\n";
const std::string no_such_key = "-ERR no such key\r\n";

const stream_overview overview{true,
                               1,
                               stream_summary{1, "1-0", "0-0", 1, "1-0"},
                               {group_info{"billing", 0, 0, "0-0", 1}},
                               2,
                               3};

void expect_overview(const std::string& bytes, const stream_overview& want) {
  replies_everywhere(bytes, stream_overview_commands, [&](std::span<const resp::value> replies) {
    stream_overview out = overview;
    out.delayed = 99;  // stale
    const auto result = decode_stream_overview(replies, out);
    CHECK_FALSE(result.ec);
    CHECK(out == want);
  });
}

}  // namespace

TEST_CASE("topic stream keys: the topic of a stream key, partitions by their own name") {
  CHECK(topic_stream_pattern("streamq") == "streamq:{*}:stream");
  CHECK(topic_stream_pattern("app:prod") == "app:prod:{*}:stream");
  CHECK(topic_of_stream_key("streamq:{orders}:stream", "streamq") == "orders");
  CHECK(topic_of_stream_key("streamq:{orders#2}:stream", "streamq") == "orders#2");
  CHECK(topic_of_stream_key("app:prod:{a.b_c-d}:stream", "app:prod") == "a.b_c-d");
  // Every key the function accepts is the one names.hpp spells for that topic.
  CHECK(topic_of_stream_key(streams::topic_keys("x", "p").stream(), "p") == "x");
}

TEST_CASE("topic stream keys: keys that are no topic's stream under the prefix") {
  for (const char* key : {
           "streamq:{orders}:dead:stream",   // a dead-letter stream of a group named "stream"
           "streamq:{orders}:outbox:g",      // another key of the topic
           "streamq:{orders}:streams",       // not the suffix
           "streamq:{}:stream",              // empty name
           "streamq:{a}b}:stream",           // a brace inside: matches the pattern, no topic
           "streamq:{a b}:stream",           // not a name
           "streamq:{orders#01}:stream",     // a partition spelt with a leading zero
           "streamq:{orders#1024}:stream",   // past max_partitions
           "other:{orders}:stream",          // another prefix
           "streamq:other:{orders}:stream",  // a longer prefix starting with this one
           "streamq{orders}:stream",         // no separator
           "streamq:{orders}:stream:x",      // something after
           "streamq:{orders",                // cut short
           "",
       }) {
    INFO(key);
    CHECK_FALSE(topic_of_stream_key(key, "streamq"));
  }
  // Nothing is a topic under an invalid prefix.
  CHECK_FALSE(topic_of_stream_key("a{b:{orders}:stream", "a{b"));
}

TEST_CASE("SCAN: the command, pages as sent, errors, other shapes") {
  resp::request req;
  build_scan_streams(req, "1536", "streamq:{*}:stream", scan_count);
  CHECK(commands_of(req) == std::vector<args>{{"SCAN", "1536", "MATCH", "streamq:{*}:stream",
                                               "COUNT", "1000", "TYPE", "stream"}});
  const std::string two =
      "*2\r\n$1\r\n0\r\n*2\r\n$23\r\nstreamq:{orders}:stream\r\n$25\r\nstreamq:{orders#2}:stream\r\n";
  expect_decoded(two, stale_page, decode_scan,
                 scan_page{"0", {"streamq:{orders}:stream", "streamq:{orders#2}:stream"}});
  expect_decoded(std::string(attribute) + two, stale_page, decode_scan,
                 scan_page{"0", {"streamq:{orders}:stream", "streamq:{orders#2}:stream"}});
  // A page with no key while the scan goes on.
  expect_decoded("*2\r\n$4\r\n1536\r\n*0\r\n", stale_page, decode_scan, scan_page{"1536", {}});
  expect_refused(noperm_keys, stale_page, decode_scan, resp::server_errc::noperm,
                 noperm_keys_text);
  for (const std::string& wrong : {
           std::string(":0\r\n"),                          // not an array
           std::string("*1\r\n$1\r\n0\r\n"),               // no key list
           std::string("*2\r\n$0\r\n\r\n*0\r\n"),          // empty cursor
           std::string("*2\r\n:0\r\n*0\r\n"),              // cursor not text
           std::string("*2\r\n$1\r\n0\r\n:1\r\n"),         // keys not an array
           std::string("*2\r\n$1\r\n0\r\n*1\r\n:1\r\n"),   // a key not text
           std::string("*3\r\n$1\r\n0\r\n*0\r\n*0\r\n"),   // too many elements
       })
    expect_malformed(wrong, stale_page, decode_scan);
}

TEST_CASE("stream overview: the pipeline's commands, all on the stream's slot") {
  resp::request req;
  build_stream_overview(req, streams::topic_keys("orders#2"));
  const auto cmds = commands_of(req);
  REQUIRE(cmds.size() == stream_overview_commands);
  CHECK(cmds[0] == args{"XLEN", "streamq:{orders#2}:stream"});
  CHECK(cmds[1] == args{"XINFO", "STREAM", "streamq:{orders#2}:stream"});
  CHECK(cmds[2] == args{"XINFO", "GROUPS", "streamq:{orders#2}:stream"});
  CHECK(cmds[3] == args{"ZCARD", "streamq:{orders#2}:delayed"});
  CHECK(cmds[4] == args{"HGET", "streamq:{orders#2}:partitions", "count"});
  CHECK_FALSE(req.cross_slot());
}

TEST_CASE("stream overview: RESP2 and RESP3, a missing stream, an emptied one") {
  const std::string tail = ":2\r\n$1\r\n3\r\n";
  expect_overview(":1\r\n" + stream_resp3 + groups_resp3 + tail, overview);
  expect_overview(":1\r\n" + stream_resp2 + groups_resp2 + tail, overview);
  // No stream: XINFO refuses both; delayed tasks and a partition count may still be there.
  stream_overview missing;
  missing.delayed = 2;
  missing.partitions = 3;
  expect_overview(":0\r\n" + no_such_key + no_such_key + tail, missing);
  missing.delayed = 0;
  missing.partitions = 0;
  expect_overview(":0\r\n" + no_such_key + no_such_key + ":0\r\n_\r\n", missing);
  // Trimmed to nothing: the stream is there, with its group.
  const std::string emptied_info =
      "%7\r\n$6\r\nlength\r\n:0\r\n$17\r\nlast-generated-id\r\n$3\r\n1-0\r\n"
      "$20\r\nmax-deleted-entry-id\r\n$3\r\n1-0\r\n$13\r\nentries-added\r\n:1\r\n"
      "$23\r\nrecorded-first-entry-id\r\n$3\r\n0-0\r\n$11\r\nfirst-entry\r\n_\r\n"
      "$10\r\nlast-entry\r\n_\r\n";
  stream_overview emptied = overview;
  emptied.length = 0;
  emptied.summary = stream_summary{0, "1-0", "1-0", 1, ""};
  expect_overview(":0\r\n" + emptied_info + groups_resp3 + tail, emptied);
}

TEST_CASE("stream overview: refusals and other shapes leave the output empty") {
  const std::string tail = ":2\r\n$1\r\n3\r\n";
  auto expect_failure = [&](const std::string& bytes, std::error_code code) {
    replies_everywhere(bytes, stream_overview_commands, [&](std::span<const resp::value> replies) {
      stream_overview out = overview;
      CHECK(decode_stream_overview(replies, out).ec == code);
      CHECK(out == stream_overview{});
    });
  };
  const auto malformed = make_error_code(streams::errc::malformed_entry);
  expect_failure(std::string(wrongtype) + no_such_key + no_such_key + tail,
                 resp::server_errc::wrongtype);
  expect_failure(":1\r\n" + no_such_key + groups_resp3 + tail, resp::server_errc::generic);
  expect_failure(":1\r\n" + stream_resp3 + std::string(noperm_keys) + tail,
                 resp::server_errc::noperm);
  expect_failure(":1\r\n:1\r\n" + groups_resp3 + tail, malformed);
  expect_failure(":1\r\n" + stream_resp3 + ":1\r\n" + tail, malformed);
  expect_failure(":1\r\n" + stream_resp3 + groups_resp3 + "$1\r\nx\r\n$1\r\n3\r\n", malformed);
  expect_failure(":1\r\n" + stream_resp3 + groups_resp3 + ":2\r\n$1\r\nx\r\n", malformed);
  // Fewer replies than commands.
  replies_everywhere(":1\r\n", 1, [&](std::span<const resp::value> replies) {
    stream_overview out = overview;
    CHECK(decode_stream_overview(replies, out).ec == malformed);
    CHECK(out == stream_overview{});
  });
}

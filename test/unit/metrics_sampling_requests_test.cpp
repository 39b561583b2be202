// Tests of lib/streams/commands/sampling_requests.* (what the metrics sampler asks about a
// topic and group, built and decoded with no server): the pipeline's replies as redis-server
// 7.0.15 sent them (captured with HELLO 2 and HELLO 3: a stream of entries 1-0..5-0 with 4-0
// XDEL'd, group g with 2 pending, delayed tasks at 1500 and 2500), fed whole, at every split
// point and byte by byte (request_harness.hpp); absent streams and groups as states; other
// shapes errc::malformed_entry with the output left empty.
#include "streams/commands/sampling_requests.hpp"
#include "request_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <span>
#include <string>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace request_harness;

namespace {

const std::string xlen = ":4\r\n";
const std::string stream_resp2 =
    "*20\r\n$6\r\nlength\r\n:4\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n"
    "$17\r\nlast-generated-id\r\n$3\r\n5-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n4-0\r\n"
    "$13\r\nentries-added\r\n:5\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-0\r\n$6\r\ngroups\r\n:1\r\n"
    "$11\r\nfirst-entry\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    "$10\r\nlast-entry\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n";
const std::string stream_resp3 = "%10" + stream_resp2.substr(3);
const std::string groups_resp2 =
    "*1\r\n*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:2\r\n"
    "$17\r\nlast-delivered-id\r\n$3\r\n2-0\r\n$12\r\nentries-read\r\n:2\r\n$3\r\nlag\r\n$-1\r\n";
const std::string groups_resp3 =
    "*1\r\n%6\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:2\r\n"
    "$17\r\nlast-delivered-id\r\n$3\r\n2-0\r\n$12\r\nentries-read\r\n:2\r\n$3\r\nlag\r\n_\r\n";
const std::string pending = "*4\r\n:2\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n2\r\n";
const std::string dead = ":3\r\n";
const std::string delayed = ":2\r\n";
const std::string first_resp2 = "*2\r\n$1\r\na\r\n$4\r\n1500\r\n";
const std::string first_resp3 = "*1\r\n*2\r\n$1\r\na\r\n,1500\r\n";
const std::string nogroup = "-NOGROUP No such key 's' or consumer group 'g'\r\n";
const std::string no_such_key = "-ERR no such key\r\n";

const topic_sample_reply sampled{{4, "5-0", "4-0", 5, "1-0"},
                                 group_position{2, "2-0", 2, std::nullopt},
                                 "1-0",
                                 3,
                                 2,
                                 1500.0};

void expect_sample(const std::string& bytes, const topic_sample_reply& want) {
  replies_everywhere(bytes, topic_sample_commands, [&](std::span<const resp::value> replies) {
    topic_sample_reply out = sampled;
    out.dead_letters = 99;  // stale
    const auto result = decode_topic_sample(replies, "g", out);
    CHECK_FALSE(result.ec);
    CHECK(out == want);
  });
}

}  // namespace

TEST_CASE("topic sample: the pipeline's commands, all on the topic's slot") {
  const streams::topic_keys keys("orders");
  resp::request req;
  build_topic_sample(req, keys, "billing");
  const auto cmds = commands_of(req);
  REQUIRE(cmds.size() == topic_sample_commands);
  CHECK(cmds[0] == args{"XLEN", "streamq:{orders}:stream"});
  CHECK(cmds[1] == args{"XINFO", "STREAM", "streamq:{orders}:stream"});
  CHECK(cmds[2] == args{"XINFO", "GROUPS", "streamq:{orders}:stream"});
  CHECK(cmds[3] == args{"XPENDING", "streamq:{orders}:stream", "billing"});
  CHECK(cmds[4] == args{"XLEN", "streamq:{orders}:dead:billing"});
  CHECK(cmds[5] == args{"ZCARD", "streamq:{orders}:delayed"});
  CHECK(cmds[6] == args{"ZRANGE", "streamq:{orders}:delayed", "0", "0", "WITHSCORES"});
  CHECK_FALSE(req.cross_slot());
}

TEST_CASE("topic sample: RESP2 and RESP3 replies decode alike") {
  expect_sample(xlen + stream_resp2 + groups_resp2 + pending + dead + delayed + first_resp2, sampled);
  expect_sample(xlen + stream_resp3 + groups_resp3 + pending + dead + delayed + first_resp3, sampled);
}

TEST_CASE("topic sample: an absent stream is empty, an absent group is no group") {
  topic_sample_reply empty{};
  empty.dead_letters = 3;
  expect_sample(":0\r\n" + no_such_key + no_such_key + nogroup + dead + ":0\r\n*0\r\n", empty);
  auto no_group = sampled;
  no_group.group.reset();
  no_group.oldest_pending_id.reset();
  no_group.delayed = 0;
  no_group.earliest_due_ms.reset();
  expect_sample(xlen + stream_resp3 + "*0\r\n" + nogroup + dead + ":0\r\n*0\r\n", no_group);
  // Nothing pending: no oldest entry.
  auto idle = sampled;
  idle.oldest_pending_id.reset();
  expect_sample(xlen + stream_resp3 + groups_resp3 + "*4\r\n:0\r\n_\r\n_\r\n_\r\n" + dead +
                    delayed + first_resp3,
                idle);
}

TEST_CASE("topic sample: refusals keep their code, other shapes are malformed") {
  auto decode = [](const std::string& bytes, std::error_code want) {
    replies_everywhere(bytes, topic_sample_commands, [&](std::span<const resp::value> replies) {
      topic_sample_reply out = sampled;
      const auto result = decode_topic_sample(replies, "g", out);
      CHECK(result.ec == want);
      CHECK(out == topic_sample_reply{});
    });
  };
  // NOGROUP for a group XINFO GROUPS lists: a refusal, not an absent group.
  decode(xlen + stream_resp3 + groups_resp3 + nogroup + dead + delayed + first_resp3,
         make_error_code(resp::server_errc::nogroup));
  decode(xlen + std::string(noperm_keys) + groups_resp3 + pending + dead + delayed + first_resp3,
         make_error_code(resp::server_errc::noperm));
  const std::error_code malformed = make_error_code(streams::errc::malformed_entry);
  decode(xlen + "*2\r\n$6\r\nlength\r\n$1\r\nx\r\n" + groups_resp3 + pending + dead + delayed +
             first_resp3,
         malformed);
  decode(xlen + stream_resp3 + "*1\r\n:1\r\n" + pending + dead + delayed + first_resp3, malformed);
  decode(xlen + stream_resp3 + groups_resp3 + "*2\r\n:1\r\n:1\r\n" + dead + delayed + first_resp3,
         malformed);
  decode(xlen + stream_resp3 + groups_resp3 + pending + dead + delayed + "*2\r\n$1\r\na\r\n$1\r\nz\r\n",
         malformed);
  replies_everywhere(xlen, 1, [&](std::span<const resp::value> replies) {
    topic_sample_reply out = sampled;
    CHECK(decode_topic_sample(replies, "g", out).ec == make_error_code(streams::errc::malformed_entry));
    CHECK(out == topic_sample_reply{});
  });
}

TEST_CASE("entries after: XRANGE with an exclusive start, counted with the last ID") {
  resp::request req;
  build_entries_after(req, "streamq:{t}:stream", "2-0", 1000);
  CHECK(commands_of(req) == std::vector<args>{{"XRANGE", "streamq:{t}:stream", "(2-0", "+",
                                               "COUNT", "1000"}});
  auto decode = [](const resp::value& v, range_page& out) { return decode_entries_after(v, out); };
  const range_page stale{9, "9-9"};
  expect_decoded<range_page>(
      "*2\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
      stale, decode, range_page{2, "5-0"});
  expect_decoded<range_page>("*0\r\n", stale, decode, range_page{});
  expect_refused<range_page>(std::string(noperm_keys), stale, decode, resp::server_errc::noperm,
                             noperm_keys_text);
  expect_malformed<range_page>("*1\r\n:1\r\n", stale, decode);
}

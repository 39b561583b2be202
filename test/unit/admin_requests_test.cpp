// Tests of lib/streams/commands/admin_requests.* (what the streamq command asks, built and
// decoded with no server): every decoder fed replies as Redis sends them, through resp::parser
// and command_reply, whole, at every split point and byte by byte; server errors classified by
// the decoder; every other shape errc::malformed_entry with the output left empty.
//
// Fixtures are the bytes redis-server 7.0.15 sent (HELLO 3 and HELLO 2); the inactive field is
// Redis 7.2's.
#include "streams/commands/admin_requests.hpp"

#include "request_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

namespace resp = streamq::resp;
using namespace streamq::streams::detail;

namespace {

using namespace request_harness;

auto decode_consumers = [](const resp::value& v, std::vector<consumer_info>& out) {
  return decode_consumer_info(v, out);
};

const std::string consumers_resp3 =
    "*2\r\n%3\r\n$4\r\nname\r\n$2\r\nc1\r\n$7\r\npending\r\n:1\r\n$4\r\nidle\r\n:205\r\n"
    "%3\r\n$4\r\nname\r\n$2\r\nc2\r\n$7\r\npending\r\n:0\r\n$4\r\nidle\r\n:201\r\n";
const std::string consumers_resp2 =
    "*2\r\n*6\r\n$4\r\nname\r\n$2\r\nc1\r\n$7\r\npending\r\n:1\r\n$4\r\nidle\r\n:205\r\n"
    "*6\r\n$4\r\nname\r\n$2\r\nc2\r\n$7\r\npending\r\n:0\r\n$4\r\nidle\r\n:201\r\n";
const std::vector<consumer_info> two_consumers{{"c1", 1, 205, std::nullopt},
                                               {"c2", 0, 201, std::nullopt}};
const std::vector<consumer_info> stale{{"stale", 9, 9, 9}};

}  // namespace

TEST_CASE("XINFO CONSUMERS: RESP3 maps and RESP2 arrays, inactive, errors, other shapes") {
  expect_decoded(consumers_resp3, stale, decode_consumers, two_consumers);
  expect_decoded(consumers_resp2, stale, decode_consumers, two_consumers);
  expect_decoded(std::string(attribute) + consumers_resp3, stale, decode_consumers, two_consumers);
  expect_decoded<std::vector<consumer_info>>("*0\r\n", stale, decode_consumers, {});
  // Redis 7.2's inactive: a time, or -1 for a consumer that never read; later fields skipped.
  const std::string name = "$4\r\nname\r\n$1\r\nc\r\n";
  const std::string pending = "$7\r\npending\r\n:2\r\n";
  const std::string idle = "$4\r\nidle\r\n:30\r\n";
  expect_decoded<std::vector<consumer_info>>(
      "*1\r\n%5\r\n" + name + pending + idle + "$8\r\ninactive\r\n:25\r\n$5\r\nnewer\r\n*0\r\n",
      stale, decode_consumers, {{"c", 2, 30, 25}});
  expect_decoded<std::vector<consumer_info>>(
      "*1\r\n%4\r\n" + name + pending + idle + "$8\r\ninactive\r\n:-1\r\n", stale,
      decode_consumers, {{"c", 2, 30, std::nullopt}});

  // A missing group, a missing stream, one of another type.
  expect_refused<std::vector<consumer_info>>(
      "-NOGROUP No such consumer group 'nope' for key name 's'\r\n", stale, decode_consumers,
      resp::server_errc::nogroup, "NOGROUP No such consumer group 'nope' for key name 's'");
  expect_refused<std::vector<consumer_info>>("-ERR no such key\r\n", stale, decode_consumers,
                                             resp::server_errc::generic, "ERR no such key");
  expect_refused<std::vector<consumer_info>>(wrongtype, stale, decode_consumers,
                                             resp::server_errc::wrongtype, wrongtype_text);

  const std::string head = "*1\r\n%3\r\n";
  for (const std::string& wrong : {
           std::string(":1\r\n"),                                   // not an array
           std::string("_\r\n"),                                    // nil
           std::string("%0\r\n"),                                   // a map, not an array
           std::string("*1\r\n:1\r\n"),                             // a consumer not an aggregate
           "*1\r\n*3\r\n" + name + "$7\r\npending\r\n",             // odd field count
           "*1\r\n%2\r\n" + pending + idle,                         // no name
           "*1\r\n%2\r\n" + name + idle,                            // no pending
           "*1\r\n%2\r\n" + name + pending,                         // no idle
           head + "$4\r\nname\r\n:1\r\n" + pending + idle,          // name not text
           head + name + "$7\r\npending\r\n:-1\r\n" + idle,         // negative
           head + name + pending + "$4\r\nidle\r\n,1.5\r\n",        // not an integer
           "*1\r\n%4\r\n" + name + pending + idle + "$8\r\ninactive\r\n:-2\r\n",
           "*1\r\n%3\r\n:1\r\n$1\r\nc\r\n" + pending + idle,        // field not text
           "*2\r\n%3\r\n" + name + pending + idle + "*0\r\n",  // a bad second consumer
       })
    expect_malformed(wrong, stale, decode_consumers);
}

TEST_CASE("XINFO CONSUMERS builder: the stream as its key, then the group") {
  resp::request req;
  build_consumer_info(req, "streamq:{orders}:stream", "billing");
  CHECK(commands_of(req) == std::vector<args>{{"XINFO", "CONSUMERS", "streamq:{orders}:stream",
                                               "billing"}});
  resp::request other;
  other.push("GET", resp::key{"streamq:{orders}:stream"});
  CHECK(req.slot() == other.slot());
}

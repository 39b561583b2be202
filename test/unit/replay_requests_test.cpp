// Tests of lib/streams/commands/replay_requests.* (the replay's XRANGE pages, stream bounds and
// group creation, built and decoded with no server): replies as Redis 7.0 sends them, whole, at
// every split point and byte by byte (request_harness.hpp), the builders' commands read back
// argument by argument.
#include "streams/commands/replay_requests.hpp"
#include "request_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace request_harness;

namespace {

using entries = std::vector<stream_entry>;
using bound = std::optional<std::string>;

auto decode_page = [](const resp::value& v, entries& out) { return decode_replay_page(v, out); };

struct created {
  bool ok = false;
  friend bool operator==(const created&, const created&) = default;
};
auto decode_create = [](const resp::value& v, created& out) {
  auto result = decode_create_replay_group(v);
  out.ok = static_cast<bool>(result);
  return result;
};

// Decodes two stream-bounds replies at every split point; `check` gets the result and bounds.
template <class Check>
void bounds_everywhere(std::string_view bytes, Check check) {
  replies_everywhere(bytes, 2, [&](std::span<const resp::value> replies) {
    bound first = "stale", last = "stale";
    const auto result = decode_stream_bounds(replies, first, last);
    check(result, first, last);
  });
}

}  // namespace

TEST_CASE("replay page: XRANGE entries in order with their fields - errors - other shapes") {
  const entries stale{{"stale", {"a", "b"}}};
  expect_decoded<entries>(
      "*2\r\n"
      "*2\r\n$15\r\n1764657241234-0\r\n*4\r\n$1\r\nv\r\n$1\r\n1\r\n$1\r\ne\r\n$3\r\n\x0a\x01x\r\n"
      "*2\r\n$15\r\n1764657241234-1\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n",
      stale, decode_page,
      {{"1764657241234-0", {"v", "1", "e", "\x0a\x01x"}}, {"1764657241234-1", {"x", "y"}}});
  expect_decoded<entries>("*0\r\n", stale, decode_page, {});
  expect_refused<entries>(wrongtype, stale, decode_page, resp::server_errc::wrongtype,
                          wrongtype_text);
  for (std::string_view wrong : {"*1\r\n*1\r\n$3\r\n1-0\r\n", "_\r\n", "%0\r\n"})
    expect_malformed<entries>(wrong, stale, decode_page);
}

TEST_CASE("stream bounds: first and last IDs, none for an empty stream - shapes") {
  bounds_everywhere(
      "*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nv\r\n$1\r\n1\r\n"
      "*1\r\n*2\r\n$3\r\n9-2\r\n*2\r\n$1\r\nv\r\n$1\r\n1\r\n",
      [](const command_result& result, const bound& first, const bound& last) {
        CHECK(result);
        CHECK(first == bound("5-0"));
        CHECK(last == bound("9-2"));
      });
  bounds_everywhere("*0\r\n*0\r\n",
                    [](const command_result& result, const bound& first, const bound& last) {
                      CHECK(result);
                      CHECK_FALSE(first);
                      CHECK_FALSE(last);
                    });
  bounds_everywhere(std::string(wrongtype) + std::string(wrongtype),
                    [](const command_result& result, const bound& first, const bound& last) {
                      CHECK(result.ec == resp::server_errc::wrongtype);
                      CHECK_FALSE(first);
                      CHECK_FALSE(last);
                    });
  // One end empty and the other not, or two entries for COUNT 1: not what Redis sends.
  for (std::string_view wrong : {
           "*1\r\n*2\r\n$3\r\n5-0\r\n*0\r\n*0\r\n",
           "*2\r\n*2\r\n$3\r\n5-0\r\n*0\r\n*2\r\n$3\r\n6-0\r\n*0\r\n*1\r\n*2\r\n$3\r\n6-0\r\n*0\r\n",
       })
    bounds_everywhere(wrong, [](const command_result& result, const bound& first,
                                const bound& last) {
      CHECK(result.ec == streams::errc::malformed_entry);
      CHECK_FALSE(first);
      CHECK_FALSE(last);
    });
}

TEST_CASE("replay group: created, or group_exists for BUSYGROUP - other errors - shapes") {
  expect_decoded<created>("+OK\r\n", {}, decode_create, {true});
  decode_everywhere(std::string_view("-BUSYGROUP Consumer Group name already exists\r\n"),
                    created{}, decode_create, [](const command_result& result, const created&) {
                      CHECK(result.ec == streams::errc::group_exists);
                      CHECK(result.diagnostic == "BUSYGROUP Consumer Group name already exists");
                    });
  expect_refused<created>(oom, {}, decode_create, resp::server_errc::oom, oom_text);
  expect_malformed<created>("$2\r\nOK\r\n", {}, decode_create);
  auto destroy = [](const resp::value& v, created& out) {
    auto result = decode_destroy_replay_group(v);
    out.ok = static_cast<bool>(result);
    return result;
  };
  expect_decoded<created>(":1\r\n", {}, destroy, {true});
  expect_decoded<created>(":0\r\n", {}, destroy, {true});
  expect_malformed<created>(":2\r\n", {}, destroy);
}

TEST_CASE("replay builders: XRANGE, XREVRANGE and XGROUP arguments, keys in the topic's slot") {
  const streams::topic_keys keys("orders#3");
  const std::string stream = keys.stream();
  resp::request req;
  build_replay_page(req, stream, "(1-5", "9-0", 50);
  build_stream_bounds(req, stream);
  build_create_replay_group(req, stream, "audit", "4-18446744073709551615");
  build_destroy_replay_group(req, stream, "audit");
  CHECK(commands_of(req) ==
        std::vector<args>{{"XRANGE", stream, "(1-5", "9-0", "COUNT", "50"},
                          {"XRANGE", stream, "-", "+", "COUNT", "1"},
                          {"XREVRANGE", stream, "+", "-", "COUNT", "1"},
                          {"XGROUP", "CREATE", stream, "audit", "4-18446744073709551615", "MKSTREAM"},
                          {"XGROUP", "DESTROY", stream, "audit"}});
  CHECK(req.slot() == keys.slot());
}

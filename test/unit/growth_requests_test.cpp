// Tests of lib/streams/commands/growth_requests.* (a growth's scripts, and what a new
// partition's consumer reads before it starts), built and decoded with no server: every
// decoder fed replies at every split point (request_harness.hpp); the builders read back
// argument by argument.
#include "streams/commands/growth_requests.hpp"
#include "request_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace request_harness;

namespace {
auto decode_cut = [](const resp::value& v, std::string& out) {
  return decode_cut_partition(v, out);
};
auto decode_finish = [](const resp::value& v, std::uint32_t& out) {
  return decode_finish_growth(v, out);
};
auto decode_origin = [](const resp::value& v, std::optional<growth_origin>& out) {
  return decode_growth_origin(v, out);
};

// XINFO GROUPS with group g delivered up to 5-0, as Redis 7.0 sends it over RESP3.
const std::string group_g =
    "*1\r\n%6\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:1\r\n"
    "$17\r\nlast-delivered-id\r\n$3\r\n5-0\r\n$12\r\nentries-read\r\n:5\r\n$3\r\nlag\r\n:0\r\n";
}  // namespace

TEST_CASE("cut_partition: on the partition's own keys, the cut back, another growth refused") {
  const streams::topic_keys partition("orders#3");
  check_script_call([&](resp::request& r, bool s) { build_cut_partition(r, s, partition, 4, 8); },
                    {"2", "streamq:{orders#3}:meta", "streamq:{orders#3}:stream", "4", "8"});
  resp::request req;
  build_cut_partition(req, false, partition, 4, 8);
  CHECK(req.slot() == partition.slot());

  const std::string stale = "stale";
  expect_decoded<std::string>("*2\r\n:1\r\n$15\r\n1700000000000-4\r\n", stale, decode_cut,
                              "1700000000000-4");
  expect_decoded<std::string>("*2\r\n:1\r\n$3\r\n0-0\r\n", stale, decode_cut, "0-0");
  decode_everywhere(std::string_view("*2\r\n:0\r\n:16\r\n"), stale, decode_cut,
                    [](const command_result& r, const std::string& out) {
                      CHECK(r.ec == streams::errc::partitions_changed);
                      CHECK(r.diagnostic.find("16") != std::string::npos);
                      CHECK(out.empty());
                    });
  expect_refused<std::string>(wrongtype, stale, decode_cut, resp::server_errc::wrongtype,
                              wrongtype_text);
  for (std::string_view wrong :
       {"*2\r\n:1\r\n$5\r\n12-ab\r\n", "*2\r\n:1\r\n$2\r\n12\r\n", "*2\r\n:2\r\n$3\r\n0-0\r\n",
        "*2\r\n:0\r\n:0\r\n", "*2\r\n:0\r\n$1\r\n8\r\n", "*1\r\n:1\r\n", ":1\r\n",
        "*2\r\n$1\r\n1\r\n$3\r\n0-0\r\n", "*2\r\n:1\r\n:7\r\n"})
    expect_malformed<std::string>(wrong, stale, decode_cut);
}

TEST_CASE("finish_growth: the old and new counts and one cut per old partition, in order") {
  const streams::topic_keys topic("orders");
  const std::vector<std::string> cuts{"5-0", "0-0"};
  check_script_call(
      [&](resp::request& r, bool s) { build_finish_growth(r, s, topic, 2, 4, cuts); },
      {"1", "streamq:{orders}:partitions", "2", "4", "5-0", "0-0"});

  const std::uint32_t stale = 77;
  expect_decoded<std::uint32_t>("*2\r\n:4\r\n:1\r\n", stale, decode_finish, 4);
  expect_decoded<std::uint32_t>("*2\r\n:4\r\n:0\r\n", stale, decode_finish, 4);
  decode_everywhere(std::string_view("*2\r\n:2\r\n:-1\r\n"), stale, decode_finish,
                    [](const command_result& r, const std::uint32_t& out) {
                      CHECK(r.ec == streams::errc::partitions_changed);
                      CHECK(out == 2);
                    });
  expect_refused<std::uint32_t>(noscript, stale, decode_finish, resp::server_errc::noscript,
                                noscript_text);
  for (std::string_view wrong : {"*2\r\n:0\r\n:1\r\n", "*2\r\n:4\r\n:2\r\n", "*2\r\n:4\r\n:-2\r\n",
                                 "*2\r\n$1\r\n4\r\n:1\r\n", "*1\r\n:4\r\n", ":4\r\n",
                                 "*2\r\n:1025\r\n:1\r\n"})
    expect_malformed<std::uint32_t>(wrong, stale, decode_finish);
}

TEST_CASE("partition state: HMGET count and growing, each nil when absent") {
  const streams::topic_keys topic("orders");
  resp::request req;
  build_partition_state(req, topic);
  CHECK(commands_of(req) ==
        std::vector<args>{{"HMGET", "streamq:{orders}:partitions", "count", "growing"}});
  CHECK(req.slot() == topic.slot());
  auto decode = [](const resp::value& v, partition_state& out) {
    return decode_partition_state(v, out);
  };
  const partition_state stale{9, 99};
  expect_decoded<partition_state>("*2\r\n$1\r\n4\r\n$-1\r\n", stale, decode, {4, 0});
  expect_decoded<partition_state>("*2\r\n$1\r\n4\r\n$1\r\n8\r\n", stale, decode, {4, 8});
  expect_decoded<partition_state>("*2\r\n_\r\n_\r\n", stale, decode, {0, 0});
  expect_refused<partition_state>(wrongtype, stale, decode, resp::server_errc::wrongtype,
                                  wrongtype_text);
  // A target not above the count, counts out of range or not numbers, other shapes.
  for (std::string_view wrong :
       {"*2\r\n$1\r\n8\r\n$1\r\n4\r\n", "*2\r\n$1\r\n8\r\n$1\r\n8\r\n", "*2\r\n$1\r\n0\r\n$-1\r\n",
        "*2\r\n$4\r\n1025\r\n$-1\r\n", "*2\r\n$1\r\nx\r\n$-1\r\n", "*2\r\n:4\r\n$-1\r\n",
        "*1\r\n$1\r\n4\r\n", "$1\r\n4\r\n"})
    expect_malformed<partition_state>(wrong, stale, decode);
}

TEST_CASE("growth origin: HMGET after and cut of the new partition, both nil when none") {
  const streams::topic_keys topic("orders");
  resp::request req;
  build_growth_origin(req, topic, 6);
  CHECK(commands_of(req) ==
        std::vector<args>{{"HMGET", "streamq:{orders}:partitions", "after:6", "cut:6"}});
  CHECK(req.slot() == topic.slot());

  const std::optional<growth_origin> stale = growth_origin{9, "9-9"};
  expect_decoded<std::optional<growth_origin>>("*2\r\n$1\r\n2\r\n$4\r\n12-3\r\n", stale,
                                               decode_origin, growth_origin{2, "12-3"});
  expect_decoded<std::optional<growth_origin>>("*2\r\n$-1\r\n$-1\r\n", stale, decode_origin,
                                               std::nullopt);
  expect_decoded<std::optional<growth_origin>>("*2\r\n_\r\n_\r\n", stale, decode_origin,
                                               std::nullopt);
  expect_refused<std::optional<growth_origin>>(wrongtype, stale, decode_origin,
                                               resp::server_errc::wrongtype, wrongtype_text);
  // Half of the pair, a partition out of range, a cut that is no ID, other shapes.
  for (std::string_view wrong :
       {"*2\r\n$1\r\n2\r\n$-1\r\n", "*2\r\n$-1\r\n$3\r\n1-0\r\n",
        "*2\r\n$4\r\n1024\r\n$3\r\n1-0\r\n",
        "*2\r\n$1\r\nx\r\n$3\r\n1-0\r\n", "*2\r\n$1\r\n2\r\n$1\r\n1\r\n", "*1\r\n$-1\r\n",
        "$-1\r\n", "*3\r\n$1\r\n2\r\n$3\r\n1-0\r\n$-1\r\n"})
    expect_malformed<std::optional<growth_origin>>(wrong, stale, decode_origin);
}

TEST_CASE("drain check: XINFO GROUPS then XPENDING up to the cut, read as one observation") {
  resp::request req;
  const std::string stream = "streamq:{orders#1}:stream";
  build_drain_check(req, stream, "g", "7-0");
  CHECK(commands_of(req) == std::vector<args>{{"XINFO", "GROUPS", stream},
                                              {"XPENDING", stream, "g", "-", "7-0", "1"}});
  CHECK(req.slot() == streams::topic_keys("orders#1").slot());

  auto expect = [](const std::string& bytes, std::string_view group,
                   const drain_observation& want) {
    replies_everywhere(bytes, 2, [&](std::span<const resp::value> replies) {
      drain_observation out{true, "stale", std::string("stale")};
      const auto r = decode_drain_check(replies, group, out);
      CHECK_FALSE(r.ec);
      CHECK(out == want);
    });
  };
  // The group delivered up to 5-0 and 3-0 is still pending.
  expect(group_g + "*1\r\n*4\r\n$3\r\n3-0\r\n$1\r\nc\r\n:10\r\n:1\r\n", "g",
         drain_observation{true, "5-0", std::string("3-0")});
  // Nothing pending up to the cut.
  expect(group_g + "*0\r\n", "g", drain_observation{true, "5-0", std::nullopt});
  // No such group there: XPENDING's NOGROUP is not read.
  expect(group_g + "-NOGROUP No such key 'x' or consumer group 'h'\r\n", "h",
         drain_observation{false, "", std::nullopt});

  auto expect_failed = [](const std::string& bytes, std::size_t replies_count,
                          const streams::error_code& code) {
    replies_everywhere(bytes, replies_count, [&](std::span<const resp::value> replies) {
      drain_observation out{true, "stale", std::string("stale")};
      const auto r = decode_drain_check(replies, "g", out);
      CHECK(r.ec == code);
      CHECK(out == drain_observation{});
    });
  };
  // The old partition's stream is gone: XINFO GROUPS's ERR.
  expect_failed("-ERR no such key\r\n*0\r\n", 2, resp::server_errc::generic);
  // The group exists but XPENDING failed, or answered more than COUNT 1 rows, or another shape.
  expect_failed(group_g + std::string(readonly), 2, resp::server_errc::readonly);
  expect_failed(group_g + "*2\r\n*4\r\n$3\r\n3-0\r\n$1\r\nc\r\n:1\r\n:1\r\n"
                          "*4\r\n$3\r\n4-0\r\n$1\r\nc\r\n:1\r\n:1\r\n",
                2, streams::errc::malformed_entry);
  expect_failed(group_g + ":3\r\n", 2, streams::errc::malformed_entry);
  expect_failed(group_g, 1, streams::errc::malformed_entry);
}

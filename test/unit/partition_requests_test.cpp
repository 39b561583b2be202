// Tests of lib/streams/commands/partition_requests.* (partitioned topics' commands, built and
// decoded with no server): every decoder fed replies at every split point
// (request_harness.hpp); the builders read back argument by argument.
#include "streams/commands/partition_requests.hpp"
#include "request_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace request_harness;

namespace {
auto decode_count = [](const resp::value& v, std::uint32_t& out) {
  return decode_partition_count(v, out);
};
auto decode_set = [](const resp::value& v, std::uint32_t& out) {
  return decode_set_partitions(v, out);
};
}  // namespace

TEST_CASE("partition count: HGET of the topic's partitions hash, nil for none") {
  const streams::topic_keys keys("orders");
  resp::request req;
  build_partition_count(req, keys);
  CHECK(commands_of(req) == std::vector<args>{{"HGET", "streamq:{orders}:partitions", "count"}});
  CHECK(req.slot() == keys.slot());

  const std::uint32_t stale = 77;
  expect_decoded<std::uint32_t>("$1\r\n8\r\n", stale, decode_count, 8);
  expect_decoded<std::uint32_t>("$4\r\n1024\r\n", stale, decode_count, 1024);
  expect_decoded<std::uint32_t>("$-1\r\n", stale, decode_count, 0);  // RESP2 nil
  expect_decoded<std::uint32_t>("_\r\n", stale, decode_count, 0);    // RESP3 null
  expect_refused<std::uint32_t>("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
                                stale, decode_count, resp::server_errc::wrongtype,
                                "WRONGTYPE Operation against a key holding the wrong kind of value");
  for (std::string_view wrong : {"$1\r\n0\r\n", "$4\r\n1025\r\n", "$2\r\n-1\r\n", "$1\r\nx\r\n",
                                 "*1\r\n:1\r\n", ":8\r\n"})
    expect_malformed<std::uint32_t>(wrong, stale, decode_count);
}

TEST_CASE("set_partitions: the count now, grown or unchanged, and a shrink refused") {
  const streams::topic_keys keys("orders");
  check_script_call([&](resp::request& r, bool s) { build_set_partitions(r, s, keys, 8); },
                    {"1", keys.partitions(), "8"});

  const std::uint32_t stale = 77;
  expect_decoded<std::uint32_t>("*2\r\n:8\r\n:1\r\n", stale, decode_set, 8);
  expect_decoded<std::uint32_t>("*2\r\n:8\r\n:0\r\n", stale, decode_set, 8);
  // Fewer asked for: refused, and the count it has is reported.
  decode_everywhere(std::string_view("*2\r\n:16\r\n:-1\r\n"), stale, decode_set,
                    [](const command_result& r, const std::uint32_t& out) {
                      CHECK(r.ec == streams::errc::invalid_argument);
                      CHECK(r.diagnostic.find("16") != std::string::npos);
                      CHECK(out == 16);
                    });
  expect_refused<std::uint32_t>("-NOSCRIPT No matching script.\r\n", stale, decode_set,
                                resp::server_errc::noscript, "NOSCRIPT No matching script.");
  for (std::string_view wrong : {"*2\r\n:0\r\n:1\r\n", "*2\r\n:8\r\n:2\r\n", "*1\r\n:8\r\n",
                                 "*2\r\n$1\r\n8\r\n:1\r\n", ":8\r\n", "*3\r\n:8\r\n:1\r\n:1\r\n"})
    expect_malformed<std::uint32_t>(wrong, stale, decode_set);
}

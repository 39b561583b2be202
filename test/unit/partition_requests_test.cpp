// Tests of lib/streams/commands/partition_requests.* (partitioned topics' commands, built and
// decoded with no server): every decoder fed replies at every split point
// (request_harness.hpp); the builders read back argument by argument.
#include "streams/commands/partition_requests.hpp"
#include "request_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <chrono>
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
auto decode_set = [](const resp::value& v, partitions_set& out) {
  return decode_set_partitions(v, out);
};
// publish_partition's two outputs, compared together.
struct decoded {
  batch_result added;
  std::uint32_t current = 0;
  friend bool operator==(const decoded&, const decoded&) = default;
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

TEST_CASE("set_partitions: created, unchanged, a growth begun, and the refusals with the count") {
  const streams::topic_keys keys("orders");
  check_script_call([&](resp::request& r, bool s) { build_set_partitions(r, s, keys, 8); },
                    {"1", keys.partitions(), "8"});

  const partitions_set stale{77, true};
  expect_decoded<partitions_set>("*2\r\n:8\r\n:1\r\n", stale, decode_set, {8, false});
  expect_decoded<partitions_set>("*2\r\n:8\r\n:0\r\n", stale, decode_set, {8, false});
  // A growth begun: the count is still the old one until the growth's last step.
  expect_decoded<partitions_set>("*2\r\n:4\r\n:2\r\n", stale, decode_set, {4, true});
  // Refusals: fewer asked for, not a multiple, another growth unfinished (its target named);
  // each reports the count the topic has.
  struct refusal {
    std::string_view bytes;
    std::string_view says;
  };
  for (const refusal& r : {refusal{"*2\r\n:16\r\n:-1\r\n", "never shrink"},
                           refusal{"*2\r\n:16\r\n:-2\r\n", "multiple"},
                           refusal{"*3\r\n:16\r\n:-3\r\n:32\r\n", "set_partitions(32)"}}) {
    decode_everywhere(r.bytes, stale, decode_set,
                      [&](const command_result& result, const partitions_set& out) {
                        CHECK(result.ec == streams::errc::invalid_argument);
                        CHECK(result.diagnostic.find("16") != std::string::npos);
                        CHECK(result.diagnostic.find(r.says) != std::string::npos);
                        CHECK(out == partitions_set{16, false});
                      });
  }
  expect_refused<partitions_set>("-NOSCRIPT No matching script.\r\n", stale, decode_set,
                                 resp::server_errc::noscript, "NOSCRIPT No matching script.");
  for (std::string_view wrong :
       {"*2\r\n:0\r\n:1\r\n", "*2\r\n:8\r\n:3\r\n", "*2\r\n:8\r\n:-4\r\n", "*1\r\n:8\r\n",
        "*2\r\n$1\r\n8\r\n:1\r\n", ":8\r\n", "*3\r\n:8\r\n:1\r\n:1\r\n",
        "*2\r\n:8\r\n:-3\r\n",              // an unfinished growth without its target
        "*3\r\n:8\r\n:-3\r\n:4\r\n",        // a target below the count
        "*3\r\n:8\r\n:-3\r\n$2\r\n16\r\n"})  // a target as text
    expect_malformed<partitions_set>(wrong, stale, decode_set);
}

TEST_CASE("publish_partition: publish_batch's keys with the routed count first, or a refusal") {
  using namespace std::chrono_literals;
  const streams::topic_keys keys("orders#5");
  const std::vector<std::string> dedup_keys{keys.dedup("a")};
  const std::vector<std::string_view> entries{"1", "A", "0", "B"};
  check_script_call(
      [&](resp::request& r, bool s) {
        build_publish_partition(r, s, keys, 8, dedup_keys, 1000ms, entries);
      },
      {"3", keys.stream(), keys.meta(), keys.dedup("a"), "8", "1000",
       std::string(streams::version_field), std::string(streams::envelope_version),
       std::string(streams::envelope_field), "1", "A", "0", "B"});

  auto decode_two = [](const resp::value& v, decoded& out) {
    return decode_publish_partition(v, 2, out.added, out.current);
  };
  const decoded stale{{{"stale"}, 7}, 99};
  expect_decoded<decoded>("*4\r\n:1\r\n$3\r\n5-0\r\n:0\r\n$3\r\n2-1\r\n", stale, decode_two,
                          {{{"5-0", "2-1"}, 1}, 0});
  // The partition was cut for a growth to 16: nothing written, its count reported.
  decode_everywhere(std::string_view("*2\r\n:-1\r\n:16\r\n"), stale, decode_two,
                    [](const command_result& r, const decoded& out) {
                      CHECK(r.ec == streams::errc::partitions_changed);
                      CHECK(r.diagnostic.find("16") != std::string::npos);
                      CHECK(out == decoded{{}, 16});
                    });
  expect_refused<decoded>(oom, stale, decode_two, resp::server_errc::oom, oom_text);
  for (std::string_view wrong : {"*2\r\n:-1\r\n:0\r\n", "*2\r\n:-1\r\n$2\r\n16\r\n",
                                 "*2\r\n:-2\r\n:16\r\n", "*2\r\n:1\r\n$3\r\n5-0\r\n", "_\r\n"})
    expect_malformed<decoded>(wrong, stale, decode_two);
}

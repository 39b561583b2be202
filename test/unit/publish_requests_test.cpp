// Tests of lib/streams/commands/publish_requests.* (the publishers' commands, built and decoded
// with no server): every decoder fed replies as Redis 7.0 sends them, whole, at every split
// point and byte by byte (request_harness.hpp); xadd_reply, publisher::publish's node-level
// decoder of XADD, fed the same replies as decode_xadd and held to the same results; the
// builders' commands read back argument by argument.
#include "streams/commands/publish_requests.hpp"
#include "request_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace request_harness;
using namespace std::chrono_literals;

namespace {

auto decode_id = [](const resp::value& v, std::string& out) { return decode_xadd(v, out); };
auto decode_dedup = [](const resp::value& v, dedup_result& out) {
  return decode_dedup_publish(v, out);
};
auto decode_wait_count = [](const resp::value& v, std::uint64_t& out) {
  return decode_wait(v, out);
};
auto decode_aof = [](const resp::value& v, aof_confirmation& out) {
  return decode_waitaof(v, out);
};

// xadd_reply, fed `bytes` at every split point: the same result and ID as decode_xadd gives.
void expect_xadd_reply(std::string_view bytes, const command_result& want, std::string_view id) {
  INFO("reply: " << parser_harness::escape(bytes));
  xadd_reply reply;
  reply_harness::for_every_split(bytes, reply, [&] {
    CHECK(reply.result().ec == want.ec);
    CHECK(reply.result().diagnostic == want.diagnostic);
    CHECK(reply.id() == id);
  });
}

const std::string too_small_text =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";

}  // namespace

TEST_CASE("XADD: the entry ID, by decode_xadd and by xadd_reply alike - errors - other shapes") {
  for (const auto& [bytes, id] : std::vector<std::pair<std::string, std::string>>{
           {"$15\r\n1764657241234-0\r\n", "1764657241234-0"},
           {"$19\r\n1764657241234-12345\r\n", "1764657241234-12345"},  // past the SSO size
           {"+1-1\r\n", "1-1"},
           {std::string(attribute) + "$3\r\n2-0\r\n", "2-0"},
       }) {
    expect_decoded<std::string>(bytes, "stale", decode_id, id);
    expect_xadd_reply(bytes, {}, id);
  }
  for (const auto& [bytes, code, text] :
       std::vector<std::tuple<std::string, std::error_code, std::string>>{
           {std::string(oom), resp::server_errc::oom, std::string(oom_text)},
           {std::string(wrongtype), resp::server_errc::wrongtype, std::string(wrongtype_text)},
           {std::string(blob_wrongtype), resp::server_errc::wrongtype, std::string(wrongtype_text)},
           {std::string(readonly), resp::server_errc::readonly, std::string(readonly_text)},
           {"-" + too_small_text + "\r\n", resp::server_errc::generic, too_small_text},
           {"-NOPERM this user has no permissions to run the 'xadd' command\r\n",
            resp::server_errc::noperm,
            "NOPERM this user has no permissions to run the 'xadd' command"},
       }) {
    expect_refused<std::string>(bytes, "stale", decode_id, code, text);
    expect_xadd_reply(bytes, {code, text}, "");
  }
  for (std::string_view wrong : {
           "$-1\r\n",                    // nil (RESP2: NOMKSTREAM on a missing stream)
           "_\r\n",                      // nil (RESP3)
           ":1\r\n",                     // a number
           "*1\r\n$3\r\n1-1\r\n",        // an array
           "*2\r\n$3\r\n1-1\r\n*0\r\n",  // a nested one
           "%1\r\n$1\r\na\r\n$1\r\nb\r\n",
           "#t\r\n",
       }) {
    expect_malformed<std::string>(wrong, "stale", decode_id);
    INFO("reply: " << parser_harness::escape(wrong));
    xadd_reply reply;
    reply_harness::for_every_split(wrong, reply, [&] {
      CHECK(reply.result().ec == streams::errc::malformed_entry);
      CHECK(reply.id().empty());
    });
  }
}

TEST_CASE("xadd_reply: each request starts clean") {
  xadd_reply reply;
  reply_harness::for_every_split(oom, reply, [&] { CHECK(reply.result().ec); });
  reply_harness::for_every_split("$3\r\n1-1\r\n", reply, [&] {
    CHECK_FALSE(reply.result().ec);
    CHECK(reply.result().diagnostic.empty());
    CHECK(reply.id() == "1-1");
  });
  CHECK(reply.expected_replies() == 1);
}

TEST_CASE("dedup_publish: added or duplicate with its ID, errors, other shapes") {
  const dedup_result stale{"stale", true};
  expect_decoded<dedup_result>("*2\r\n:1\r\n$15\r\n1764657241234-0\r\n", stale, decode_dedup,
                               {"1764657241234-0", false});
  expect_decoded<dedup_result>("*2\r\n:0\r\n$15\r\n1764657240000-3\r\n", stale, decode_dedup,
                               {"1764657240000-3", true});
  expect_refused<dedup_result>(noscript, stale, decode_dedup, resp::server_errc::noscript,
                               noscript_text);
  expect_refused<dedup_result>(oom, stale, decode_dedup, resp::server_errc::oom, oom_text);
  expect_refused<dedup_result>(noperm_keys, stale, decode_dedup, resp::server_errc::noperm,
                               noperm_keys_text);
  expect_refused<dedup_result>(script_wrongtype, stale, decode_dedup, resp::server_errc::wrongtype,
                               script_wrongtype_text);
  for (std::string_view wrong : {
           "*1\r\n:1\r\n",                       // no ID
           "*3\r\n:1\r\n$3\r\n1-1\r\n:0\r\n",    // one element too many
           "*2\r\n:2\r\n$3\r\n1-1\r\n",          // an unknown flag
           "*2\r\n$1\r\nx\r\n$3\r\n1-1\r\n",     // a flag not a number
           "*2\r\n:1\r\n:5\r\n",                 // the ID a number
           "*2\r\n:1\r\n_\r\n",                  // the ID nil
           "$3\r\n1-1\r\n", "_\r\n", "*-1\r\n",  // not an array
       })
    expect_malformed<dedup_result>(wrong, stale, decode_dedup);
}

TEST_CASE("publish_batch: every entry's ID and the duplicates, errors, other shapes") {
  const batch_result stale{{"stale"}, 7};
  auto decode_two = [](const resp::value& v, batch_result& out) {
    return decode_publish_batch(v, 2, out);
  };
  expect_decoded<batch_result>("*4\r\n:1\r\n$3\r\n5-0\r\n:0\r\n$3\r\n2-1\r\n", stale, decode_two,
                               {{"5-0", "2-1"}, 1});
  expect_decoded<batch_result>("*4\r\n:1\r\n$3\r\n5-0\r\n:1\r\n$3\r\n5-1\r\n", stale, decode_two,
                               {{"5-0", "5-1"}, 0});
  const std::string exhausted =
      "ERR The stream has exhausted the last possible ID, unable to add more items";
  expect_refused<batch_result>("-" + exhausted + "\r\n", stale, decode_two,
                               resp::server_errc::generic, exhausted);
  expect_refused<batch_result>(wrongtype, stale, decode_two, resp::server_errc::wrongtype,
                               wrongtype_text);
  expect_refused<batch_result>(oom, stale, decode_two, resp::server_errc::oom, oom_text);
  for (std::string_view wrong : {
           "*2\r\n:1\r\n$3\r\n5-0\r\n",                                  // one entry of two
           "*6\r\n:1\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:1\r\n$1\r\nc\r\n",  // three
           "*4\r\n:1\r\n$3\r\n5-0\r\n:3\r\n$3\r\n5-1\r\n",               // an unknown flag
           "*4\r\n:1\r\n$3\r\n5-0\r\n:1\r\n*0\r\n",                      // an ID an array
           "*0\r\n",
           "_\r\n",
           ":2\r\n",
       })
    expect_malformed<batch_result>(wrong, stale, decode_two);
}

TEST_CASE("WAIT: how many replicas have the writes, errors, other shapes") {
  expect_decoded<std::uint64_t>(":1\r\n", 9, decode_wait_count, 1);
  expect_decoded<std::uint64_t>(":0\r\n", 9, decode_wait_count, 0);  // timed out
  const std::string replica =
      "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if "
      "a replica is configured to be writable (which is not the default) writes to replicas are "
      "just local and are not propagated.";
  expect_refused<std::uint64_t>("-" + replica + "\r\n", 9, decode_wait_count,
                                resp::server_errc::generic, replica);
  for (std::string_view wrong : {":-1\r\n", "$1\r\n1\r\n", "+1\r\n", "_\r\n", "*1\r\n:1\r\n"})
    expect_malformed<std::uint64_t>(wrong, 9, decode_wait_count);
}

TEST_CASE("WAITAOF: fsynced on the master and on how many replicas, refusals, other shapes") {
  const aof_confirmation stale{9, 9};
  expect_decoded<aof_confirmation>("*2\r\n:1\r\n:2\r\n", stale, decode_aof, {1, 2});
  // Timed out before any fsync.
  expect_decoded<aof_confirmation>("*2\r\n:0\r\n:0\r\n", stale, decode_aof, {0, 0});
  // Refused as Redis 7.0 (no such command) and Redis 7.2 or Valkey (no AOF) say it.
  const std::string unknown =
      "ERR unknown command 'WAITAOF', with args beginning with: '1' '0' '100' ";
  expect_refused<aof_confirmation>("-" + unknown + "\r\n", stale, decode_aof,
                                   resp::server_errc::generic, unknown);
  const std::string no_aof =
      "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.";
  expect_refused<aof_confirmation>("-" + no_aof + "\r\n", stale, decode_aof,
                                   resp::server_errc::generic, no_aof);
  for (std::string_view wrong :
       {"*1\r\n:1\r\n", "*3\r\n:1\r\n:1\r\n:1\r\n", ":1\r\n", "*2\r\n:-1\r\n:0\r\n",
        "*2\r\n$1\r\n1\r\n:0\r\n", "_\r\n"})
    expect_malformed<aof_confirmation>(wrong, stale, decode_aof);
}

TEST_CASE("builders: each command's arguments, keys in the topic's slot") {
  const streams::topic_keys keys("orders");
  const streams::entry_fields fields{"v", "1", "e", "bytes"};

  SUBCASE("XADD and WAIT") {
    resp::request req;
    build_xadd(req, keys, fields);
    build_wait(req, 2, 1500ms);
    CHECK(commands_of(req) ==
          std::vector<args>{{"XADD", keys.stream(), "*", "v", "1", "e", "bytes"},
                            {"WAIT", "2", "1500"}});
    CHECK(req.slot() == keys.slot());
    CHECK(req.has_blocking_command());  // WAIT: only for a dedicated connection
  }

  SUBCASE("WAITAOF") {
    resp::request req;
    build_waitaof(req, 1, 0, 2500ms);
    CHECK(commands_of(req) == std::vector<args>{{"WAITAOF", "1", "0", "2500"}});
    CHECK(req.has_blocking_command());  // blocks like WAIT
  }

  SUBCASE("scripts: by SHA, and by source with the same arguments") {
    check_script_call(
        [&](resp::request& r, bool s) {
          build_dedup_publish(r, s, keys, "key-1", 60000ms, fields);
        },
        {"3", keys.stream(), keys.dedup("key-1"), keys.meta(), "60000", "v", "1", "e", "bytes"});
    const std::vector<std::string> dedup_keys{keys.dedup("a"), keys.dedup("c")};
    const std::vector<std::string> entries{"1", "A", "0", "B", "1", "C"};
    check_script_call([&](resp::request& r,
                          bool s) { build_publish_batch(r, s, keys, dedup_keys, 1000ms, entries); },
                      {"4", keys.stream(), keys.meta(), keys.dedup("a"), keys.dedup("c"), "1000",
                       std::string(streams::version_field), std::string(streams::envelope_version),
                       std::string(streams::envelope_field), "1", "A", "0", "B", "1", "C"});
    check_script_call(
        [&](resp::request& r, bool s) { build_publish_batch(r, s, keys, {}, 1000ms, entries); },
        {"2", keys.stream(), keys.meta(), "1000", std::string(streams::version_field),
         std::string(streams::envelope_version), std::string(streams::envelope_field), "1", "A",
         "0", "B", "1", "C"});
  }
}

// Tests of lib/streams/commands/delivery_requests.* (the consumer's delivery commands, built
// and decoded with no server): every decoder fed replies as Redis sends them, through
// resp::parser and the runner's own adapter (command_reply, or generic_response for XACK
// pipelines) whole, at every split point and byte by byte; server errors classified by the
// decoder; every other shape errc::malformed_entry with the output left empty. The builders'
// commands are read back argument by argument.
//
// Fixtures are the bytes redis-server 7.0 sends. These commands answer with arrays, integers,
// bulk strings and simple errors, the same bytes in RESP2 and RESP3; where the protocols differ
// (nulls: RESP2 $-1 / *-1, RESP3 _) or RESP3 has types of its own (attributes, blob errors,
// big numbers, booleans) both are fed.
#include "request_harness.hpp"
#include "streams/commands/delivery_requests.hpp"
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
#include <ostream>  // doctest prints std::error_code with it
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace std::chrono_literals;

namespace {

// The checks, and the fixtures noperm_keys, noscript and attribute, are request_harness.hpp's.
using namespace request_harness;

const pending_row stale_row{"0-1", "stale", 1, 1};
const claim_result stale_claims{{{"0-1", 1, {"f", "v"}}}, {"0-2"}};
const due_retries stale_due{5, 6, stale_claims};

auto decode_pending = [](const resp::value& v, std::vector<pending_row>& out) {
  return decode_pending_entries(v, out);
};
auto decode_claim = [](const resp::value& v, claim_result& out) {
  return decode_claim_entries(v, out);
};
auto decode_take = [](const resp::value& v, due_retries& out) {
  return decode_take_due_retries(v, out);
};
auto decode_schedule = [](const resp::value& v, bool& out) {
  return decode_schedule_retry(v, out);
};
auto decode_dead = [](const resp::value& v, std::string& out) {
  return decode_write_dead_letter(v, out);
};
auto decode_ack = [](const resp::value& v, std::uint64_t& out) { return decode_xack(v, out); };
auto decode_requeue = [](const resp::value& v, requeue_status& out) {
  return decode_requeue_dead_letter(v, out);
};

// Errors Redis 7.0 sends to these commands, as sent.
constexpr std::string_view nogroup_text = "NOGROUP No such key 's' or consumer group 'nog'";
constexpr std::string_view nogroup = "-NOGROUP No such key 's' or consumer group 'nog'\r\n";
// An error inside a script: the command's own code, with the script's place appended.
constexpr std::string_view script_nogroup_text =
    "NOGROUP No such key 's' or consumer group 'nog' script: "
    "a4fc2711aa770d4c86aa7875397a11dc14a40243, on @user_script:15.";
constexpr std::string_view script_nogroup =
    "-NOGROUP No such key 's' or consumer group 'nog' script: "
    "a4fc2711aa770d4c86aa7875397a11dc14a40243, on @user_script:15.\r\n";
// A command the ACL user may not run, called from a script.
constexpr std::string_view script_acl_text =
    "ERR The user executing the script can't run this command or subcommand script: "
    "3fd868207aae404cb208c16312d78e5845b0b384, on @user_script:1.";
constexpr std::string_view script_acl =
    "-ERR The user executing the script can't run this command or subcommand script: "
    "3fd868207aae404cb208c16312d78e5845b0b384, on @user_script:1.\r\n";
// RESP3's blob error (Redis sends none to these commands today; the decoders take it as RESP3
// allows).
constexpr std::string_view blob_nogroup =
    "!47\r\nNOGROUP No such key 's' or consumer group 'nog'\r\n";

}  // namespace

TEST_CASE("command_reply: keeps one reply whole, an error reply's code for the NOSCRIPT retry") {
  command_reply reply;
  reply_harness::for_every_split(noscript, reply, [&] {
    CHECK(reply.value().is_error());
    CHECK(reply.value().text == noscript_text);
    CHECK(reply.error() == resp::server_errc::noscript);
  });
  reply_harness::for_every_split("*2\r\n:1\r\n$3\r\n1-1\r\n", reply, [&] {
    CHECK_FALSE(reply.error());  // nothing of the error before survives on_start
    const resp::value want{resp::type::array,
                           "",
                           {{resp::type::integer, "1", {}}, {resp::type::blob_string, "1-1", {}}}};
    CHECK(reply.value() == want);
  });
  CHECK(reply.expected_replies() == 1);
}

TEST_CASE("XPENDING: rows decoded, errors classified, other shapes malformed") {
  const std::vector<pending_row> stale{stale_row};
  const std::vector<pending_row> three{{"1764657241234-0", "c1", 602, 1},
                                       {"1764657241234-1", "worker-2", 15000, 3},
                                       {"1764657241235-0", "c1", 0, 9223372036854775807ULL}};
  const std::string rows =
      "*3\r\n"
      "*4\r\n$15\r\n1764657241234-0\r\n$2\r\nc1\r\n:602\r\n:1\r\n"
      "*4\r\n$15\r\n1764657241234-1\r\n$8\r\nworker-2\r\n:15000\r\n:3\r\n"
      "*4\r\n$15\r\n1764657241235-0\r\n$2\r\nc1\r\n:0\r\n:9223372036854775807\r\n";
  expect_decoded<std::vector<pending_row>>(rows, stale, decode_pending, three);
  expect_decoded<std::vector<pending_row>>(std::string(attribute) + rows, stale, decode_pending,
                                           three);
  expect_decoded<std::vector<pending_row>>("*0\r\n", stale, decode_pending, {});

  expect_refused<std::vector<pending_row>>(nogroup, stale, decode_pending,
                                           resp::server_errc::nogroup, nogroup_text);
  expect_refused<std::vector<pending_row>>(blob_nogroup, stale, decode_pending,
                                           resp::server_errc::nogroup, nogroup_text);
  expect_refused<std::vector<pending_row>>(noperm_keys, stale, decode_pending,
                                           resp::server_errc::noperm, noperm_keys_text);
  expect_refused<std::vector<pending_row>>(
      "-NOPERM this user has no permissions to run the 'xpending' command\r\n", stale,
      decode_pending, resp::server_errc::noperm,
      "NOPERM this user has no permissions to run the 'xpending' command");

  for (std::string_view wrong : {
           ":1\r\n",                                                   // not an array
           "_\r\n",                                                    // nil (RESP3)
           "*-1\r\n",                                                  // nil (RESP2)
           "*1\r\n*3\r\n$3\r\n1-1\r\n$2\r\nc1\r\n:602\r\n",            // a row of 3
           "*1\r\n*5\r\n$3\r\n1-1\r\n$2\r\nc1\r\n:6\r\n:1\r\n:1\r\n",  // a row of 5
           "*1\r\n:4\r\n",                                             // a row not an array
           "*1\r\n*4\r\n*0\r\n$2\r\nc1\r\n:602\r\n:1\r\n",             // an ID not text
           "*1\r\n*4\r\n$3\r\n1-1\r\n_\r\n:602\r\n:1\r\n",             // no owner
           "*1\r\n*4\r\n$3\r\n1-1\r\n$2\r\nc1\r\n$2\r\n6x\r\n:1\r\n",  // idle not a number
           "*1\r\n*4\r\n$3\r\n1-1\r\n$2\r\nc1\r\n:602\r\n:-1\r\n",     // negative count
           "*1\r\n*4\r\n$3\r\n1-1\r\n$2\r\nc1\r\n,6.5\r\n:1\r\n",      // a double
           "*1\r\n*4\r\n$3\r\n1-1\r\n$2\r\nc1\r\n:602\r\n(18446744073709551616\r\n",  // too big
           "*2\r\n*4\r\n$3\r\n1-1\r\n$2\r\nc1\r\n:602\r\n:1\r\n*2\r\n$3\r\n1-2\r\n$2\r\nc1\r\n",
       })
    expect_malformed<std::vector<pending_row>>(wrong, stale, decode_pending);
}

TEST_CASE("claim_entries: claimed entries and lost (deleted) ones, errors, other shapes") {
  // Two claimed (one with its fields, one with none left but its ID), one whose data was
  // deleted: acknowledged by the script and reported lost.
  expect_decoded<claim_result>(
      "*2\r\n"
      "*6\r\n$3\r\n1-1\r\n:3\r\n*4\r\n$1\r\nv\r\n$1\r\n1\r\n$1\r\ne\r\n$1\r\nx\r\n"
      "$3\r\n1-3\r\n:2\r\n*0\r\n"
      "*1\r\n$3\r\n1-2\r\n",
      stale_claims, decode_claim,
      claim_result{{{"1-1", 3, {"v", "1", "e", "x"}}, {"1-3", 2, {}}}, {"1-2"}});
  // As captured: nothing claimed (its delivery count moved meanwhile), one lost.
  expect_decoded<claim_result>("*2\r\n*0\r\n*1\r\n$3\r\n1-2\r\n", stale_claims, decode_claim,
                               claim_result{{}, {"1-2"}});
  expect_decoded<claim_result>("*2\r\n*0\r\n*0\r\n", stale_claims, decode_claim, claim_result{});
  // A fenced call's refusal: the partition's lease names another owner or epoch.
  expect_refused<claim_result>("*1\r\n:-1\r\n", stale_claims, decode_claim,
                               make_error_code(streams::errc::ownership_lost), "");

  expect_refused<claim_result>(script_nogroup, stale_claims, decode_claim,
                               resp::server_errc::nogroup, script_nogroup_text);
  expect_refused<claim_result>(noscript, stale_claims, decode_claim, resp::server_errc::noscript,
                               noscript_text);
  expect_refused<claim_result>(noperm_keys, stale_claims, decode_claim, resp::server_errc::noperm,
                               noperm_keys_text);
  expect_refused<claim_result>(script_acl, stale_claims, decode_claim, resp::server_errc::generic,
                               script_acl_text);

  for (std::string_view wrong : {
           "*1\r\n*0\r\n",                                            // no lost list
           "*3\r\n*0\r\n*0\r\n*0\r\n",                                // a third list
           "_\r\n", "*-1\r\n", "$0\r\n\r\n", ":0\r\n",                // not an array
           "*2\r\n_\r\n*0\r\n", "*2\r\n*0\r\n*-1\r\n",                // a list nil
           "*2\r\n*2\r\n$3\r\n1-1\r\n:3\r\n*0\r\n",                   // a claimed entry cut short
           "*2\r\n*3\r\n$3\r\n1-1\r\n:3\r\n*1\r\n$1\r\nv\r\n*0\r\n",  // odd fields
           "*2\r\n*3\r\n$3\r\n1-1\r\n:3\r\n_\r\n*0\r\n",              // fields nil
           "*2\r\n*3\r\n$3\r\n1-1\r\n:3\r\n*-1\r\n*0\r\n",            // fields nil (RESP2)
           "*2\r\n*3\r\n$3\r\n1-1\r\n$1\r\nx\r\n*0\r\n*0\r\n",        // count not a number
           "*2\r\n*3\r\n$3\r\n1-1\r\n#t\r\n*0\r\n*0\r\n",             // count a boolean
           "*2\r\n*3\r\n*0\r\n:3\r\n*0\r\n*0\r\n",                    // ID an array
           "*2\r\n*3\r\n$3\r\n1-1\r\n:3\r\n*2\r\n$1\r\nv\r\n*0\r\n*0\r\n",  // a field an array
           "*2\r\n*0\r\n*1\r\n*0\r\n",                                      // a lost ID an array
           "*2\r\n*0\r\n*1\r\n:7\r\n",                                      // a lost ID a number
       })
    expect_malformed<claim_result>(wrong, stale_claims, decode_claim);
}

TEST_CASE("take_due_retries: the server's clock, the next due time, claimed and lost") {
  // As captured: one due entry claimed (its third delivery), none waiting after it.
  expect_decoded<due_retries>(
      "*4\r\n:1796198292547\r\n:-1\r\n*3\r\n$3\r\n1-3\r\n:3\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n*0\r\n",
      stale_due, decode_take, due_retries{1796198292547, -1, {{{"1-3", 3, {"a", "b"}}}, {}}});
  expect_decoded<due_retries>(
      "*4\r\n:1796198292547\r\n:1796198293000\r\n*0\r\n*2\r\n$3\r\n1-4\r\n$3\r\n1-5\r\n", stale_due,
      decode_take, due_retries{1796198292547, 1796198293000, {{}, {"1-4", "1-5"}}});
  expect_refused<due_retries>("*1\r\n:-1\r\n", stale_due, decode_take,
                              make_error_code(streams::errc::ownership_lost), "");

  expect_refused<due_retries>(noperm_keys, stale_due, decode_take, resp::server_errc::noperm,
                              noperm_keys_text);
  expect_refused<due_retries>(noscript, stale_due, decode_take, resp::server_errc::noscript,
                              noscript_text);
  constexpr std::string_view busy =
      "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
  expect_refused<due_retries>("-" + std::string(busy) + "\r\n", stale_due, decode_take,
                              resp::server_errc::busy, busy);

  for (std::string_view wrong : {
           "*3\r\n:1\r\n:-1\r\n*0\r\n",                          // no lost list
           "*5\r\n:1\r\n:-1\r\n*0\r\n*0\r\n*0\r\n",              // one list too many
           "*4\r\n$1\r\nx\r\n:-1\r\n*0\r\n*0\r\n",               // clock not a number
           "*4\r\n:1\r\n_\r\n*0\r\n*0\r\n",                      // next due nil
           "*4\r\n:1\r\n(99999999999999999999\r\n*0\r\n*0\r\n",  // a big number
           "*4\r\n:1\r\n:-1\r\n*1\r\n$3\r\n1-3\r\n*0\r\n",       // claimed cut short
           "*4\r\n:1\r\n:-1\r\n*0\r\n_\r\n",                     // lost nil
           "_\r\n", "*-1\r\n",                                   // nil
       })
    expect_malformed<due_retries>(wrong, stale_due, decode_take);
}

TEST_CASE("schedule_retry: scheduled, not owned, errors, other shapes") {
  expect_decoded<bool>("*3\r\n:1\r\n:1796198294149\r\n:1796198293149\r\n", false, decode_schedule,
                       true);
  expect_decoded<bool>("*1\r\n:0\r\n", true, decode_schedule, false);
  // A fenced call's refusal: the partition's lease names another owner or epoch.
  expect_refused<bool>("*1\r\n:-1\r\n", true, decode_schedule,
                       make_error_code(streams::errc::ownership_lost), "");
  expect_refused<bool>("-OOM command not allowed when used memory > 'maxmemory'.\r\n", true,
                       decode_schedule, resp::server_errc::oom,
                       "OOM command not allowed when used memory > 'maxmemory'.");
  expect_refused<bool>(noperm_keys, true, decode_schedule, resp::server_errc::noperm,
                       noperm_keys_text);
  for (std::string_view wrong : {
           "*1\r\n:1\r\n",              // scheduled, without its times
           "*3\r\n:0\r\n:1\r\n:2\r\n",  // not scheduled, with times
           "*1\r\n:2\r\n",              // an unknown flag
           "*1\r\n:-2\r\n",             // an unknown flag
           "*3\r\n:-1\r\n:1\r\n:2\r\n", // refused, with times
           "*1\r\n#t\r\n",              // a boolean flag
           "*0\r\n",                    // no flag
           ":1\r\n",                    // not an array
           "_\r\n",                     // nil (RESP3)
           "*-1\r\n",                   // nil (RESP2)
           "$1\r\n1\r\n",               // a string
       })
    expect_malformed<bool>(wrong, true, decode_schedule);
}

TEST_CASE("dead_letter: the dead letter's ID, or empty when not owned, errors, other shapes") {
  expect_decoded<std::string>("$15\r\n1764657241234-0\r\n", "stale", decode_dead,
                              "1764657241234-0");
  expect_decoded<std::string>("$0\r\n\r\n", "stale", decode_dead, "");  // as captured
  expect_decoded<std::string>(std::string(attribute) + "+1-0\r\n", "stale", decode_dead, "1-0");
  expect_refused<std::string>("-READONLY You can't write against a read only replica.\r\n", "stale",
                              decode_dead, resp::server_errc::readonly,
                              "READONLY You can't write against a read only replica.");
  expect_refused<std::string>(script_acl, "stale", decode_dead, resp::server_errc::generic,
                              script_acl_text);
  // A fenced call's refusal: the partition's lease names another owner or epoch.
  expect_refused<std::string>(":-1\r\n", "stale", decode_dead,
                              make_error_code(streams::errc::ownership_lost), "");
  for (std::string_view wrong : {"$-1\r\n", "_\r\n", ":1\r\n", ":-2\r\n", "*1\r\n$3\r\n1-0\r\n",
                                 "*0\r\n", "#f\r\n", ",1.5\r\n"})
    expect_malformed<std::string>(wrong, "stale", decode_dead);
}

TEST_CASE("XACK: the count acknowledged, errors, other shapes") {
  expect_decoded<std::uint64_t>(":1\r\n", 9, decode_ack, 1);
  expect_decoded<std::uint64_t>(":0\r\n", 9, decode_ack, 0);  // as for a group that is gone
  expect_decoded<std::uint64_t>(std::string(attribute) + ":2\r\n", 9, decode_ack, 2);
  expect_refused<std::uint64_t>(
      "-NOPERM this user has no permissions to run the 'xack' command\r\n", 9, decode_ack,
      resp::server_errc::noperm, "NOPERM this user has no permissions to run the 'xack' command");
  expect_refused<std::uint64_t>(
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", 9, decode_ack,
      resp::server_errc::wrongtype,
      "WRONGTYPE Operation against a key holding the wrong kind of value");
  // ack_fenced-2.lua's refusal: the partition's lease names another member.
  decode_everywhere(std::string_view(":-1\r\n"), std::uint64_t{9}, decode_ack,
                    [](const command_result& r, const std::uint64_t& out) {
                      CHECK(r.ec == streams::errc::ownership_lost);
                      CHECK(out == 0);
                    });
  for (std::string_view wrong :
       {":-2\r\n", "$1\r\n1\r\n", "+1\r\n", "_\r\n", "*1\r\n:1\r\n", "(1\r\n", "#t\r\n"})
    expect_malformed<std::uint64_t>(wrong, 9, decode_ack);
}

TEST_CASE("XACK pipeline: each reply decoded on its own, a missing one malformed") {
  resp::generic_response replies;
  std::vector<command_result> results;
  std::vector<std::uint64_t> acked;
  const std::string three =
      ":2\r\n-NOPERM this user has no permissions to run the 'xack' command\r\n$1\r\nx\r\n";
  reply_harness::for_every_split(
      three, replies,
      [&] {
        results.assign(5, command_result{streams::errc::malformed_entry, "stale"});
        acked.assign(5, 7);
        const auto overall = decode_acknowledge(replies.values(), 3, results, acked);
        CHECK_FALSE(overall.ec);
        REQUIRE(results.size() == 3);
        REQUIRE(acked.size() == 3);
        CHECK_FALSE(results[0].ec);
        CHECK(acked[0] == 2);
        CHECK(results[1].ec == resp::server_errc::noperm);
        CHECK(results[1].diagnostic ==
              "NOPERM this user has no permissions to run the 'xack' command");
        CHECK(acked[1] == 0);
        CHECK(results[2].ec == streams::errc::malformed_entry);
        CHECK(acked[2] == 0);
      },
      3);
  reply_harness::for_every_split(
      ":2\r\n:1\r\n", replies,
      [&] {
        const auto overall = decode_acknowledge(replies.values(), 3, results, acked);
        CHECK(overall.ec == streams::errc::malformed_entry);
        REQUIRE(results.size() == 3);
        for (const auto& r : results) CHECK((!r.ec && r.diagnostic.empty()));
        CHECK(acked == std::vector<std::uint64_t>(3, 0));
      },
      2);
}

TEST_CASE("requeue_dead_letter: each status, errors, other shapes") {
  expect_decoded<requeue_status>("*2\r\n:1\r\n$3\r\n1-1\r\n", requeue_status::gone, decode_requeue,
                                 requeue_status::requeued);
  expect_decoded<requeue_status>("*2\r\n:2\r\n$3\r\n1-1\r\n", requeue_status::gone, decode_requeue,
                                 requeue_status::already_pending);
  expect_decoded<requeue_status>("*1\r\n:0\r\n", requeue_status::gone, decode_requeue,
                                 requeue_status::missing);
  expect_decoded<requeue_status>("*1\r\n:-1\r\n", requeue_status::requeued, decode_requeue,
                                 requeue_status::gone);
  expect_refused<requeue_status>(script_nogroup, requeue_status::gone, decode_requeue,
                                 resp::server_errc::nogroup, script_nogroup_text);
  expect_refused<requeue_status>(noscript, requeue_status::gone, decode_requeue,
                                 resp::server_errc::noscript, noscript_text);
  for (std::string_view wrong : {
           "*1\r\n:3\r\n",               // an unknown status
           "*1\r\n:-2\r\n",              // an unknown status
           "*1\r\n:1\r\n",               // requeued without the entry ID
           "*1\r\n:2\r\n",               // already pending without the entry ID
           "*2\r\n:0\r\n$3\r\n1-1\r\n",  // missing, with an ID
           "*2\r\n:1\r\n*0\r\n",         // the ID an array
           "*2\r\n:1\r\n_\r\n",          // the ID nil
           "*0\r\n",                     // no status
           ":1\r\n",                     // not an array
           "_\r\n",                      // nil (RESP3)
           "*-1\r\n",                    // nil (RESP2)
       })
    expect_malformed<requeue_status>(wrong, requeue_status::gone, decode_requeue);
}

TEST_CASE("builders: each command's arguments, keys in the topic's slot") {
  const streams::topic_keys keys("orders");
  const std::string group = "billing", consumer = "c-1";
  const std::string retry_key = keys.retries(group), dead_key = keys.dead_letters(group);
  const group_ref g{&keys, &group, &consumer, &retry_key, &dead_key, nullptr};
  using args = std::vector<std::string>;

  SUBCASE("XPENDING, with and without IDLE and owner") {
    resp::request req;
    build_pending_entries(req, g, 0ms, "-", 100, "");
    build_pending_entries(req, g, 30000ms, "(1-5", 7, "c-2");
    CHECK(commands_of(req) == std::vector<args>{{"XPENDING", keys.stream(), group, "-", "+", "100"},
                                                {"XPENDING", keys.stream(), group, "IDLE", "30000",
                                                 "(1-5", "+", "7", "c-2"}});
    CHECK(req.slot() == keys.slot());
    CHECK_FALSE(req.has_blocking_command());
  }

  SUBCASE("XACK, one per topic") {
    const std::string other = streams::topic_keys("refunds").stream();
    id_list a, b;
    a.push_back("1-1");
    a.push_back("1-2");
    b.push_back("2-1");
    resp::request req;
    build_acknowledge(req, group, ack_batch{{&keys.stream(), &other}, {&a, &b}, {}});
    CHECK(commands_of(req) == std::vector<args>{{"XACK", keys.stream(), group, "1-1", "1-2"},
                                                {"XACK", other, group, "2-1"}});
    CHECK(req.reply_count() == 2);

    // A fenced topic's acknowledgement is ack_fenced-2.lua, checking the lease with it.
    const ack_fence fence{"streamq:{refunds}:lease:billing", "member-1", 7};
    const ack_batch fenced{{&keys.stream(), &other}, {&a, &b}, {nullptr, &fence}};
    check_script_call(
        [&](resp::request& r, bool by_source) {
          const std::size_t second = 1;
          build_acknowledge_calls(r, group, fenced, std::span<const std::size_t>(&second, 1),
                                  by_source);
        },
        {"2", other, fence.lease_key, group, "member-1", "7", "2-1"});
    resp::request both;
    build_acknowledge(both, group, fenced);
    const auto cmds = commands_of(both);
    REQUIRE(cmds.size() == 2);
    CHECK(cmds[0] == args{"XACK", keys.stream(), group, "1-1", "1-2"});
    CHECK(cmds[1][0] == "EVALSHA");
  }

  SUBCASE("scripts: by SHA, and by source with the same arguments") {
    const std::vector<pending_row> rows{{"1-1", "c-9", 50000, 2}, {"1-2", "c-9", 60000, 5}};
    const std::vector<std::string> letter{"d", "payload"};
    // `tail`: the key count, the keys and the arguments.
    const auto check_script = [&](auto build, const args& tail) {
      check_script_call(build, tail);
      resp::request by_sha;
      build(by_sha, false);
      CHECK(by_sha.slot() == keys.slot());  // the topic's slot, not only the same one twice
    };
    check_script(
        [&](resp::request& r, bool s) { build_claim_entries(r, s, g, 30000ms, "c-9", rows); },
        {"2", keys.stream(), retry_key, group, consumer, "30000", "c-9", "1-1", "2", "1-2", "5"});
    check_script([&](resp::request& r, bool s) { build_take_due_retries(r, s, g, 16); },
                 {"2", keys.stream(), retry_key, group, consumer, "16"});
    check_script([&](resp::request& r, bool s) { build_schedule_retry(r, s, g, "1-1", 2500ms); },
                 {"2", keys.stream(), retry_key, group, consumer, "1-1", "2500"});
    check_script([&](resp::request& r, bool s) { build_write_dead_letter(r, s, g, "1-1", letter); },
                 {"3", keys.stream(), dead_key, retry_key, group, consumer, "1-1", "d", "payload"});
    check_script([&](resp::request& r,
                     bool s) { build_requeue_dead_letter(r, s, keys, group, "9-1", "1-1", "c-1"); },
                 {"3", dead_key, keys.stream(), retry_key, group, "9-1", "1-1", "c-1"});
  }

  SUBCASE("a partition's claims, retries and dead letters carry its lease, checked in the same script") {
    const ack_fence fence{keys.lease(group), "member-1", 7};
    group_ref fenced = g;
    fenced.fence = &fence;
    const std::vector<std::string> letter{"d", "payload"};
    const std::vector<pending_row> rows{{"1-1", "c-9", 50000, 2}};
    check_script_call(
        [&](resp::request& r, bool s) { build_claim_entries(r, s, fenced, 30000ms, "", rows); },
        {"3", keys.stream(), retry_key, fence.lease_key, group, consumer, "30000", "",
         "member-1", "7", "1-1", "2"});
    check_script_call(
        [&](resp::request& r, bool s) { build_take_due_retries(r, s, fenced, 16); },
        {"3", keys.stream(), retry_key, fence.lease_key, group, consumer, "16", "member-1",
         "7"});
    check_script_call(
        [&](resp::request& r, bool s) { build_schedule_retry(r, s, fenced, "1-1", 2500ms); },
        {"3", keys.stream(), retry_key, fence.lease_key, group, consumer, "1-1", "2500",
         "member-1", "7"});
    check_script_call(
        [&](resp::request& r, bool s) { build_write_dead_letter(r, s, fenced, "1-1", letter); },
        {"4", keys.stream(), dead_key, retry_key, fence.lease_key, group, consumer, "1-1",
         "member-1", "7", "d", "payload"});
    resp::request req;
    build_schedule_retry(req, false, fenced, "1-1", 2500ms);
    CHECK(req.slot() == keys.slot());
  }
}

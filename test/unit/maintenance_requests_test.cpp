// Tests of lib/streams/commands/dead_letter_requests.*, transaction.*, server_requests.* and
// maintenance_requests.* (dead letters, MULTI/EXEC, the eviction-policy check, trimming and
// claims, built and decoded with no server): every decoder fed replies as Redis 7.0 sends
// them, whole, at every split point and byte by byte (request_harness.hpp), the builders'
// commands read back argument by argument.
#include "streams/commands/maintenance_requests.hpp"
#include "request_harness.hpp"
#include "streams/commands/dead_letter_requests.hpp"
#include "streams/commands/server_requests.hpp"
#include "streams/commands/transaction.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace request_harness;
using namespace std::chrono_literals;

namespace {

using policy = std::optional<std::string>;
using names = std::vector<std::string>;

auto decode_info = [](const resp::value& v, policy& out) {
  return decode_memory_info_policy(v, out);
};
auto decode_config = [](const resp::value& v, policy& out) {
  return decode_config_eviction_policy(v, out);
};
auto decode_range = [](const resp::value& v, std::vector<stream_entry>& out) {
  return decode_dead_letter_range(v, out);
};
auto decode_xlen = [](const resp::value& v, std::uint64_t& out) {
  return decode_dead_letter_count(v, out);
};
auto decode_xdel = [](const resp::value& v, bool& out) { return decode_purge_dead_letter(v, out); };
auto decode_republish = [](const resp::value& v, std::string& out) {
  return decode_republish_dead_letter(v, out);
};
auto decode_trim = [](const resp::value& v, std::uint64_t& out) {
  return decode_trim_stream(v, out);
};
auto decode_idle = [](const resp::value& v, names& out) {
  return decode_remove_idle_consumers(v, out);
};
auto decode_refresh = [](const resp::value& v, names& out) {
  return decode_refresh_claims(v, out);
};

// A bulk string of `text`, and RESP3's verbatim string of it.
std::string bulk(std::string_view text) {
  return "$" + std::to_string(text.size()) + "\r\n" + std::string(text) + "\r\n";
}
std::string verbatim(std::string_view text) {
  return "=" + std::to_string(text.size() + 4) + "\r\ntxt:" + std::string(text) + "\r\n";
}

const std::string noperm_info_text =
    "NOPERM this user has no permissions to run the 'info' command";
const std::string noperm_config_text =
    "NOPERM this user has no permissions to run the 'config|get' command";

}  // namespace

TEST_CASE("INFO memory: maxmemory_policy's value, or none - errors - other shapes") {
  // As Redis 7.0 sends it, trimmed to a few lines around the one that matters.
  const std::string info =
      "# Memory\r\nused_memory:1103520\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\n"
      "maxmemory_policy:noeviction\r\nallocator_frag_ratio:1.09\r\n";
  expect_decoded<policy>(bulk(info), "stale", decode_info, "noeviction");
  expect_decoded<policy>(verbatim(info), "stale", decode_info, "noeviction");
  expect_decoded<policy>(bulk("maxmemory_policy:allkeys-lru"), "stale", decode_info,
                         "allkeys-lru");  // the first line, and no line end
  // Another field ending in the same name is not it.
  expect_decoded<policy>(bulk("# Memory\r\nold_maxmemory_policy:x\r\nmaxmemory_policy:y\r\n"),
                         "stale", decode_info, "y");
  expect_decoded<policy>(bulk("# Memory\r\nused_memory:1\r\n"), "stale", decode_info, std::nullopt);
  expect_refused<policy>("-" + noperm_info_text + "\r\n", "stale", decode_info,
                         resp::server_errc::noperm, noperm_info_text);
  for (std::string_view wrong : {"*0\r\n", ":1\r\n", "_\r\n", "$-1\r\n"})
    expect_malformed<policy>(wrong, "stale", decode_info);
}

TEST_CASE("CONFIG GET maxmemory-policy: RESP2 and RESP3, none, errors, other shapes") {
  const std::string pair = "$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n";
  expect_decoded<policy>("*2\r\n" + pair, "stale", decode_config, "noeviction");
  expect_decoded<policy>("%1\r\n" + pair, "stale", decode_config, "noeviction");
  expect_decoded<policy>("*0\r\n", "stale", decode_config, std::nullopt);
  expect_decoded<policy>("%0\r\n", "stale", decode_config, std::nullopt);
  expect_refused<policy>("-" + noperm_config_text + "\r\n", "stale", decode_config,
                         resp::server_errc::noperm, noperm_config_text);
  for (std::string_view wrong : {"*1\r\n$16\r\nmaxmemory-policy\r\n",
                                 "*2\r\n$16\r\nmaxmemory-policy\r\n_\r\n", "$2\r\nno\r\n", "_\r\n"})
    expect_malformed<policy>(wrong, "stale", decode_config);
}

TEST_CASE("XRANGE of dead letters: entries with their fields, errors, other shapes") {
  const std::vector<stream_entry> stale{{"stale", {"a", "b"}}};
  expect_decoded<std::vector<stream_entry>>(
      "*2\r\n"
      "*2\r\n$15\r\n1764657241234-0\r\n*4\r\n$1\r\nv\r\n$1\r\n1\r\n$1\r\nd\r\n$3\r\n\x0a\x01x\r\n"
      "*2\r\n$15\r\n1764657241235-0\r\n*0\r\n",
      stale, decode_range,
      {{"1764657241234-0", {"v", "1", "d", "\x0a\x01x"}}, {"1764657241235-0", {}}});
  expect_decoded<std::vector<stream_entry>>("*0\r\n", stale, decode_range, {});
  expect_refused<std::vector<stream_entry>>(wrongtype, stale, decode_range,
                                            resp::server_errc::wrongtype, wrongtype_text);
  expect_refused<std::vector<stream_entry>>(
      "-ERR Invalid stream ID specified as stream command argument\r\n", stale, decode_range,
      resp::server_errc::generic, "ERR Invalid stream ID specified as stream command argument");
  for (std::string_view wrong : {
           "*1\r\n*1\r\n$3\r\n1-0\r\n",                         // no fields
           "*1\r\n*2\r\n$3\r\n1-0\r\n*1\r\n$1\r\nv\r\n",        // odd fields
           "*1\r\n*2\r\n$3\r\n1-0\r\n_\r\n",                    // fields nil
           "*1\r\n*2\r\n:1\r\n*0\r\n",                          // the ID a number
           "*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nv\r\n:1\r\n",  // a value a number
           "*1\r\n$3\r\n1-0\r\n",
           "_\r\n",
           "%0\r\n",
       })
    expect_malformed<std::vector<stream_entry>>(wrong, stale, decode_range);
}

TEST_CASE("XLEN and XDEL of dead letters: counts, errors, other shapes") {
  expect_decoded<std::uint64_t>(":3\r\n", 9, decode_xlen, 3);
  expect_refused<std::uint64_t>(wrongtype, 9, decode_xlen, resp::server_errc::wrongtype,
                                wrongtype_text);
  for (std::string_view wrong : {":-1\r\n", "$1\r\n3\r\n", "_\r\n"})
    expect_malformed<std::uint64_t>(wrong, 9, decode_xlen);
  expect_decoded<bool>(":1\r\n", false, decode_xdel, true);
  expect_decoded<bool>(":0\r\n", true, decode_xdel, false);
  expect_refused<bool>(wrongtype, true, decode_xdel, resp::server_errc::wrongtype, wrongtype_text);
  for (std::string_view wrong : {":2\r\n", ":-1\r\n", "+1\r\n", "_\r\n"})
    expect_malformed<bool>(wrong, true, decode_xdel);
}

TEST_CASE("MULTI/EXEC: the commands' replies, or why the transaction did not run whole") {
  // Fed as one pipeline: MULTI, two commands, EXEC.
  auto decode = [](std::span<const resp::value> replies, command_result& result,
                   std::vector<resp::value>& results) {
    std::span<const resp::value> out = replies.first(1);  // stale
    result = decode_transaction(replies, 2, out);
    results.assign(out.begin(), out.end());
  };
  const resp::value three{resp::type::integer, "3", {}};
  const resp::value one{resp::type::integer, "1", {}};
  command_result result;
  std::vector<resp::value> results;

  replies_everywhere("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:3\r\n:1\r\n", 4, [&](auto replies) {
    decode(replies, result, results);
    CHECK_FALSE(result.ec);
    CHECK(results == std::vector<resp::value>{three, one});
  });
  // A command refused while queueing (here: OOM, as Redis 7.0 does for DENYOOM commands):
  // EXEC aborts, and the command's own refusal says why.
  replies_everywhere(std::string("+OK\r\n+QUEUED\r\n") + std::string(oom) +
                         "-EXECABORT Transaction discarded because of previous errors.\r\n",
                     4, [&](auto replies) {
                       decode(replies, result, results);
                       CHECK(result.ec == resp::server_errc::oom);
                       CHECK(result.diagnostic == oom_text);
                       CHECK(results.empty());
                     });
  // A command failing inside EXEC (the other ran).
  replies_everywhere(
      std::string("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n") + std::string(wrongtype) + ":1\r\n", 4,
      [&](auto replies) {
        decode(replies, result, results);
        CHECK(result.ec == resp::server_errc::wrongtype);
        CHECK(result.diagnostic == wrongtype_text);
        CHECK(results.empty());
      });
  // Discarded (a WATCHed key changed): RESP2's nil array, RESP3's null.
  for (std::string_view nil : {"*-1\r\n", "_\r\n"})
    replies_everywhere(std::string("+OK\r\n+QUEUED\r\n+QUEUED\r\n") + std::string(nil), 4,
                       [&](auto replies) {
                         decode(replies, result, results);
                         CHECK(result.ec == resp::server_errc::execabort);
                         CHECK(results.empty());
                       });
  // MULTI refused (e.g. inside another MULTI).
  replies_everywhere(
      "-ERR MULTI calls can not be nested\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:3\r\n:1\r\n", 4,
      [&](auto replies) {
        decode(replies, result, results);
        CHECK(result.ec == resp::server_errc::generic);
        CHECK(result.diagnostic == "ERR MULTI calls can not be nested");
      });
  for (std::string_view wrong : {
           "+OK\r\n+QUEUED\r\n+QUEUED\r\n*1\r\n:3\r\n",   // EXEC with one reply of two
           "+OK\r\n+QUEUED\r\n+QUEUED\r\n:2\r\n",         // EXEC not an array
           "+OK\r\n+QUEUED\r\n:1\r\n*2\r\n:3\r\n:1\r\n",  // a command ran, not queued
           "+OK!\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:3\r\n:1\r\n",
       })
    replies_everywhere(wrong, 4, [&](auto replies) {
      decode(replies, result, results);
      CHECK(result.ec == streams::errc::malformed_entry);
      CHECK(results.empty());
    });
  // Not the replies of this transaction: one missing.
  replies_everywhere("+OK\r\n+QUEUED\r\n+QUEUED\r\n", 3, [&](auto replies) {
    decode(replies, result, results);
    CHECK(result.ec == streams::errc::malformed_entry);
  });
}

TEST_CASE("purge of every dead letter: how many there were, read from the transaction") {
  std::uint64_t removed = 9;
  replies_everywhere("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:3\r\n:1\r\n", 4, [&](auto replies) {
    removed = 9;
    CHECK(decode_purge_dead_letters(replies, removed));
    CHECK(removed == 3);
  });
  replies_everywhere("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:0\r\n:0\r\n", 4, [&](auto replies) {
    removed = 9;
    CHECK(decode_purge_dead_letters(replies, removed));
    CHECK(removed == 0);
  });
  for (std::string_view wrong : {
           "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:3\r\n:2\r\n",       // two keys deleted
           "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$1\r\n3\r\n:1\r\n",  // a count as text
       })
    replies_everywhere(wrong, 4, [&](auto replies) {
      removed = 9;
      CHECK(decode_purge_dead_letters(replies, removed).ec == streams::errc::malformed_entry);
      CHECK(removed == 0);
    });
  replies_everywhere(
      std::string("+OK\r\n") + std::string(noperm_keys) +
          "+QUEUED\r\n-EXECABORT Transaction discarded because of previous "
          "errors.\r\n",
      4, [&](auto replies) {
        removed = 9;
        CHECK(decode_purge_dead_letters(replies, removed).ec == resp::server_errc::noperm);
        CHECK(removed == 0);
      });
}

TEST_CASE("republish_dead_letter: the new entry's ID, or empty when gone - errors - shapes") {
  expect_decoded<std::string>("$15\r\n1764657241234-0\r\n", "stale", decode_republish,
                              "1764657241234-0");
  expect_decoded<std::string>("$0\r\n\r\n", "stale", decode_republish, "");
  expect_refused<std::string>(oom, "stale", decode_republish, resp::server_errc::oom, oom_text);
  expect_refused<std::string>(noscript, "stale", decode_republish, resp::server_errc::noscript,
                              noscript_text);
  for (std::string_view wrong : {"$-1\r\n", "_\r\n", ":0\r\n", "*0\r\n"})
    expect_malformed<std::string>(wrong, "stale", decode_republish);
}

TEST_CASE("trim_stream, remove_idle_consumers, refresh_claims: results, errors, shapes") {
  expect_decoded<std::uint64_t>(":120\r\n", 9, decode_trim, 120);
  expect_decoded<std::uint64_t>(":0\r\n", 9, decode_trim, 0);
  expect_refused<std::uint64_t>(script_wrongtype, 9, decode_trim, resp::server_errc::wrongtype,
                                script_wrongtype_text);
  for (std::string_view wrong : {":-1\r\n", "*0\r\n", "_\r\n"})
    expect_malformed<std::uint64_t>(wrong, 9, decode_trim);

  const names stale{"stale"};
  expect_decoded<names>("*2\r\n$2\r\nc1\r\n$2\r\nc2\r\n", stale, decode_idle, {"c1", "c2"});
  expect_decoded<names>("*0\r\n", stale, decode_idle, {});
  expect_decoded<names>("*1\r\n$3\r\n1-0\r\n", stale, decode_refresh, {"1-0"});
  expect_decoded<names>("*0\r\n", stale, decode_refresh, {});
  const std::string nogroup_text =
      "NOGROUP No such key 'streamq:{orders}:stream' or consumer group 'g' script: "
      "62a9bd9b35f5c4f4c4b5c3c1a9d8b6d6e0c5d4a1, on @user_script:4.";
  expect_refused<names>("-" + nogroup_text + "\r\n", stale, decode_idle, resp::server_errc::nogroup,
                        nogroup_text);
  expect_refused<names>(noscript, stale, decode_refresh, resp::server_errc::noscript,
                        noscript_text);
  for (std::string_view wrong : {"*1\r\n:1\r\n", "*1\r\n*0\r\n", "$2\r\nc1\r\n", "_\r\n"}) {
    expect_malformed<names>(wrong, stale, decode_idle);
    expect_malformed<names>(wrong, stale, decode_refresh);
  }
}

TEST_CASE("builders: each command's arguments, keys in the topic's slot") {
  const streams::topic_keys keys("orders");
  const std::string dead = keys.dead_letters("billing");

  SUBCASE("INFO and CONFIG GET") {
    resp::request req;
    build_memory_info(req);
    build_config_eviction_policy(req);
    CHECK(commands_of(req) ==
          std::vector<args>{{"INFO", "memory"}, {"CONFIG", "GET", "maxmemory-policy"}});
    CHECK_FALSE(req.slot());  // no key
  }

  SUBCASE("dead letters") {
    resp::request req;
    build_dead_letter_range(req, dead, "(1-5", "+", 50);
    build_dead_letter_count(req, dead);
    build_purge_dead_letter(req, dead, "1-6");
    CHECK(commands_of(req) == std::vector<args>{{"XRANGE", dead, "(1-5", "+", "COUNT", "50"},
                                                {"XLEN", dead},
                                                {"XDEL", dead, "1-6"}});
    CHECK(req.slot() == keys.slot());
    resp::request purge;
    build_purge_dead_letters(purge, dead);
    CHECK(commands_of(purge) ==
          std::vector<args>{{"MULTI"}, {"XLEN", dead}, {"DEL", dead}, {"EXEC"}});
    CHECK(purge.reply_count() == 4);
    const std::vector<std::string> fields{"v", "1", "e", "ENV"};
    check_script_call(
        [&](resp::request& r, bool s) {
          build_republish_dead_letter(r, s, dead, keys.stream(), "9-1", fields);
        },
        {"2", dead, keys.stream(), "9-1", "v", "1", "e", "ENV"});
  }

  SUBCASE("maintenance scripts") {
    check_script_call(
        [&](resp::request& r, bool s) { build_trim_stream(r, s, keys, 1000, 3600000ms, true); },
        {"1", keys.stream(), "1000", "3600000", "1"});
    // A negative age is no age limit.
    check_script_call(
        [&](resp::request& r, bool s) { build_trim_stream(r, s, keys, 0, -5ms, false); },
        {"1", keys.stream(), "0", "0", "0"});
    check_script_call(
        [&](resp::request& r, bool s) {
          build_remove_idle_consumers(r, s, keys, "billing", 86400000ms, "c-1");
        },
        {"1", keys.stream(), "billing", "86400000", "c-1"});
    const std::vector<std::string> ids{"1-1", "1-2"};
    check_script_call(
        [&](resp::request& r, bool s) { build_refresh_claims(r, s, keys, "billing", "c-1", ids); },
        {"1", keys.stream(), "billing", "c-1", "1-1", "1-2"});
  }
}

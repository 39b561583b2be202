// Tests of lib/streams/commands/schedule_requests.* and recurring_requests.* (the scheduler's
// commands, built and decoded with no server): every decoder fed replies as Redis 7.0 sends
// them, whole, at every split point and byte by byte (request_harness.hpp), the builders'
// commands read back argument by argument.
#include "streams/commands/schedule_requests.hpp"
#include "request_harness.hpp"
#include "streams/commands/recurring_requests.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/envelope.hpp>
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
using namespace std::chrono_literals;

namespace {

auto decode_schedule = [](const resp::value& v, scheduled_reply& out) {
  return decode_schedule_task(v, out);
};
auto decode_cancel = [](const resp::value& v, bool& out) {
  return decode_cancel_scheduled(v, out);
};
auto decode_list = [](const resp::value& v, std::vector<listed_task>& out) {
  return decode_list_scheduled(v, out);
};
auto decode_zcard = [](const resp::value& v, std::uint64_t& out) {
  return decode_scheduled_count(v, out);
};
auto decode_poll = [](const resp::value& v, polled_tasks& out) {
  return decode_poll_scheduled(v, out);
};
auto decode_hash = [](const resp::value& v, hash_fields& out) {
  return decode_recurring_tasks(v, out);
};
auto decode_upsert = [](const resp::value& v, bool& out) {
  return decode_upsert_recurring(v, out);
};
auto decode_flag = [](const resp::value& v, bool& out) { return decode_recurring_flag(v, out); };
auto decode_fire = [](const resp::value& v, fire_status& out) {
  return decode_fire_recurring(v, out);
};

}  // namespace

TEST_CASE("schedule: stored with its due and now times, or a duplicate - errors - other shapes") {
  const scheduled_reply stale{true, "stale", 5, 6};
  // As captured: Lua's numbers arrive as integers, the zero-padded task ID as text.
  expect_decoded<scheduled_reply>(
      "*4\r\n:1\r\n$16\r\n0000000000000007\r\n:1796198294149\r\n:1796198293149\r\n", stale,
      decode_schedule, {false, "0000000000000007", 1796198294149, 1796198293149});
  expect_decoded<scheduled_reply>("*4\r\n:0\r\n$16\r\n0000000000000003\r\n:0\r\n:1796198293149\r\n",
                                  stale, decode_schedule,
                                  {true, "0000000000000003", 0, 1796198293149});
  expect_refused<scheduled_reply>(noscript, stale, decode_schedule, resp::server_errc::noscript,
                                  noscript_text);
  expect_refused<scheduled_reply>(oom, stale, decode_schedule, resp::server_errc::oom, oom_text);
  expect_refused<scheduled_reply>(script_wrongtype, stale, decode_schedule,
                                  resp::server_errc::wrongtype, script_wrongtype_text);
  for (std::string_view wrong : {
           "*3\r\n:1\r\n$1\r\n7\r\n:5\r\n",              // no now
           "*5\r\n:1\r\n$1\r\n7\r\n:5\r\n:6\r\n:7\r\n",  // one too many
           "*4\r\n:2\r\n$1\r\n7\r\n:5\r\n:6\r\n",        // an unknown flag
           "*4\r\n:1\r\n:7\r\n:5\r\n:6\r\n",             // the ID a number
           "*4\r\n:1\r\n$1\r\n7\r\n$2\r\n5x\r\n:6\r\n",  // due not a number
           "*4\r\n:1\r\n$1\r\n7\r\n:5\r\n,6.5\r\n",      // now a double
           "_\r\n",
           "$1\r\n7\r\n",
       })
    expect_malformed<scheduled_reply>(wrong, stale, decode_schedule);
}

TEST_CASE("cancel_scheduled: removed or not, errors, other shapes") {
  expect_decoded<bool>(":1\r\n", false, decode_cancel, true);
  expect_decoded<bool>(":0\r\n", true, decode_cancel, false);
  expect_refused<bool>(noperm_keys, true, decode_cancel, resp::server_errc::noperm,
                       noperm_keys_text);
  for (std::string_view wrong : {":2\r\n", ":-1\r\n", "$1\r\n1\r\n", "#t\r\n", "_\r\n"})
    expect_malformed<bool>(wrong, true, decode_cancel);
}

TEST_CASE("list_scheduled: tasks with their due times and envelopes, errors, other shapes") {
  const std::vector<listed_task> stale{{"stale", 1, "x"}};
  // ZRANGE ... WITHSCORES hands the script scores as text; a task whose data is gone has "".
  expect_decoded<std::vector<listed_task>>(
      "*6\r\n$16\r\n0000000000000001\r\n$13\r\n1796198294149\r\n$3\r\n\x0a\x01\x61\r\n"
      "$16\r\n0000000000000002\r\n$13\r\n1796198295000\r\n$0\r\n\r\n",
      stale, decode_list,
      {{"0000000000000001", 1796198294149, "\x0a\x01\x61"},
       {"0000000000000002", 1796198295000, ""}});
  expect_decoded<std::vector<listed_task>>("*0\r\n", stale, decode_list, {});
  expect_refused<std::vector<listed_task>>(wrongtype, stale, decode_list,
                                           resp::server_errc::wrongtype, wrongtype_text);
  for (std::string_view wrong : {
           "*2\r\n$1\r\n1\r\n$1\r\n5\r\n",              // a task cut short
           "*3\r\n$1\r\n1\r\n$3\r\n1.5\r\n$0\r\n\r\n",  // a score not whole
           "*3\r\n$1\r\n1\r\n$1\r\n5\r\n_\r\n",         // no envelope
           "*3\r\n:1\r\n$1\r\n5\r\n$0\r\n\r\n",         // the ID a number
           "_\r\n",
           ":0\r\n",
       })
    expect_malformed<std::vector<listed_task>>(wrong, stale, decode_list);
}

TEST_CASE("ZCARD: how many tasks wait, errors, other shapes") {
  expect_decoded<std::uint64_t>(":42\r\n", 9, decode_zcard, 42);
  expect_decoded<std::uint64_t>(":0\r\n", 9, decode_zcard, 0);
  expect_refused<std::uint64_t>(wrongtype, 9, decode_zcard, resp::server_errc::wrongtype,
                                wrongtype_text);
  for (std::string_view wrong : {":-1\r\n", "$2\r\n42\r\n", "_\r\n", "*0\r\n"})
    expect_malformed<std::uint64_t>(wrong, 9, decode_zcard);
}

TEST_CASE("poll_scheduled: moved, the next due time and the server's clock - errors - shapes") {
  const polled_tasks stale{3, 4, 5};
  // As captured: next due is a score (text), or the string "-1" when nothing waits.
  expect_decoded<polled_tasks>("*3\r\n:2\r\n$13\r\n1796198295000\r\n:1796198294149\r\n", stale,
                               decode_poll, {2, 1796198295000, 1796198294149});
  expect_decoded<polled_tasks>("*3\r\n:0\r\n$2\r\n-1\r\n:1796198294149\r\n", stale, decode_poll,
                               {0, -1, 1796198294149});
  expect_refused<polled_tasks>(noscript, stale, decode_poll, resp::server_errc::noscript,
                               noscript_text);
  expect_refused<polled_tasks>(oom, stale, decode_poll, resp::server_errc::oom, oom_text);
  for (std::string_view wrong : {
           "*2\r\n:0\r\n$2\r\n-1\r\n",             // no clock
           "*3\r\n:-1\r\n$2\r\n-1\r\n:5\r\n",      // a negative count
           "*3\r\n:0\r\n_\r\n:5\r\n",              // next due nil
           "*3\r\n:0\r\n$2\r\n-1\r\n$1\r\nx\r\n",  // a clock not a number
           "*4\r\n:0\r\n$2\r\n-1\r\n:5\r\n:6\r\n",
           "_\r\n",
       })
    expect_malformed<polled_tasks>(wrong, stale, decode_poll);
}

TEST_CASE("HGETALL of the recurring hash: field/value pairs in RESP2 and RESP3, errors, shapes") {
  const hash_fields stale{{"stale", "x"}};
  const hash_fields two{{"daily|spec", "every 1d"}, {"daily|paused", "1"}};
  expect_decoded<hash_fields>(
      "*4\r\n$10\r\ndaily|spec\r\n$8\r\nevery 1d\r\n$12\r\ndaily|paused\r\n$1\r\n1\r\n", stale,
      decode_hash, two);
  expect_decoded<hash_fields>(
      "%2\r\n$10\r\ndaily|spec\r\n$8\r\nevery 1d\r\n$12\r\ndaily|paused\r\n$1\r\n1\r\n", stale,
      decode_hash, two);
  expect_decoded<hash_fields>("*0\r\n", stale, decode_hash, {});
  expect_decoded<hash_fields>("%0\r\n", stale, decode_hash, {});
  expect_refused<hash_fields>(wrongtype, stale, decode_hash, resp::server_errc::wrongtype,
                              wrongtype_text);
  for (std::string_view wrong : {
           "*1\r\n$1\r\na\r\n",        // a field without its value
           "*2\r\n$1\r\na\r\n*0\r\n",  // a value an array
           "%1\r\n:1\r\n$1\r\nb\r\n",  // a field a number
           "_\r\n",
           "$1\r\na\r\n",
       })
    expect_malformed<hash_fields>(wrong, stale, decode_hash);
}

TEST_CASE("upsert_recurring, recurring_flag: their flags, errors, other shapes") {
  expect_decoded<bool>(":1\r\n", false, decode_upsert, true);
  expect_decoded<bool>(":0\r\n", true, decode_upsert, false);
  expect_decoded<bool>(":1\r\n", false, decode_flag, true);
  expect_decoded<bool>(":0\r\n", true, decode_flag, false);
  expect_refused<bool>(oom, true, decode_upsert, resp::server_errc::oom, oom_text);
  expect_refused<bool>(noscript, true, decode_flag, resp::server_errc::noscript, noscript_text);
  for (std::string_view wrong : {":2\r\n", ":-1\r\n", "$1\r\n1\r\n", "_\r\n", "*1\r\n:1\r\n"}) {
    expect_malformed<bool>(wrong, true, decode_upsert);
    expect_malformed<bool>(wrong, true, decode_flag);
  }
}

TEST_CASE("fire_recurring: each status, errors, other shapes") {
  const std::vector<std::pair<std::string, fire_status>> statuses{
      {":1\r\n", fire_status::fired},           {":2\r\n", fire_status::skipped},
      {":0\r\n", fire_status::claimed_already}, {":-1\r\n", fire_status::paused},
      {":-2\r\n", fire_status::spec_changed},
  };
  for (const auto& [bytes, status] : statuses)
    expect_decoded<fire_status>(bytes, fire_status::fired, decode_fire, status);
  expect_refused<fire_status>(script_wrongtype, fire_status::fired, decode_fire,
                              resp::server_errc::wrongtype, script_wrongtype_text,
                              fire_status::claimed_already);
  for (std::string_view wrong : {":3\r\n", ":-3\r\n", "$1\r\n1\r\n", "_\r\n", "*0\r\n"})
    expect_malformed<fire_status>(wrong, fire_status::fired, decode_fire,
                                  fire_status::claimed_already);
}

TEST_CASE("builders: each command's arguments, keys in the topic's slot") {
  const streams::topic_keys keys("orders");
  const std::string version(streams::version_field), current(streams::envelope_version),
      envelope(streams::envelope_field);

  SUBCASE("ZCARD and HGETALL") {
    resp::request req;
    build_scheduled_count(req, keys);
    build_recurring_tasks(req, keys);
    CHECK(commands_of(req) ==
          std::vector<args>{{"ZCARD", keys.delayed()}, {"HGETALL", keys.cron()}});
    CHECK(req.slot() == keys.slot());
  }

  SUBCASE("delayed-task scripts") {
    // Keyed: the task dedup key, and wave 1's key in the publisher's namespace.
    check_script_call(
        [&](resp::request& r, bool s) {
          build_schedule_task(r, s, keys, "k", 60000ms, task_due{250, true}, "ENV");
        },
        {"5", keys.delayed(), keys.delayed_data(), keys.meta(), keys.task_dedup("k"),
         keys.dedup("k"), "250", "ENV", "60000", "in"});
    // Not keyed: the meta key twice, and no window.
    check_script_call(
        [&](resp::request& r, bool s) {
          build_schedule_task(r, s, keys, "", 60000ms, task_due{1796198294149, false}, "ENV");
        },
        {"5", keys.delayed(), keys.delayed_data(), keys.meta(), keys.meta(), keys.meta(),
         "1796198294149", "ENV", "0", "at"});
    check_script_call([&](resp::request& r, bool s) { build_cancel_scheduled(r, s, keys, "7"); },
                      {"2", keys.delayed(), keys.delayed_data(), "7"});
    check_script_call([&](resp::request& r, bool s) { build_list_scheduled(r, s, keys, 25); },
                      {"2", keys.delayed(), keys.delayed_data(), "25"});
    check_script_call([&](resp::request& r, bool s) { build_poll_scheduled(r, s, keys, 100); },
                      {"3", keys.stream(), keys.delayed(), keys.delayed_data(), "100", version,
                       current, envelope});
  }

  SUBCASE("recurring-task scripts") {
    check_script_call(
        [&](resp::request& r, bool s) {
          build_upsert_recurring(r, s, keys, "daily", "every 1d", "ENV", true);
        },
        {"1", keys.cron(), "daily", "every 1d", "ENV", "run_once"});
    check_script_call(
        [&](resp::request& r, bool s) {
          build_upsert_recurring(r, s, keys, "daily", "every 1d", "ENV", false);
        },
        {"1", keys.cron(), "daily", "every 1d", "ENV", "skip"});
    const std::vector<std::pair<recurring_change, std::string>> changes{
        {recurring_change::pause, "pause"},
        {recurring_change::resume, "resume"},
        {recurring_change::remove, "remove"}};
    for (const auto& [change, word] : changes)
      check_script_call(
          [&](resp::request& r, bool s) { build_recurring_flag(r, s, keys, "daily", change); },
          {"1", keys.cron(), "daily", word});
    check_script_call(
        [&](resp::request& r, bool s) {
          build_fire_recurring(r, s, keys, "daily", "every 1d", 1796198294149, true, "SFX");
        },
        {"2", keys.cron(), keys.stream(), "daily", "every 1d", "1796198294149", "fire", "SFX",
         version, current, envelope});
    check_script_call(
        [&](resp::request& r, bool s) {
          build_fire_recurring(r, s, keys, "daily", "every 1d", 5, false, "SFX");
        },
        {"2", keys.cron(), keys.stream(), "daily", "every 1d", "5", "skip", "SFX", version, current,
         envelope});
  }
}

// Tests of lib/streams/commands/lease_requests.* (partition leases and group membership, built
// and decoded with no server): every decoder fed replies at every split point
// (request_harness.hpp), RESP3's null among HMGET's values; the builders read back argument
// by argument.
#include "streams/commands/lease_requests.hpp"
#include "request_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
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

using names = std::vector<std::string>;

auto decode_acquire = [](const resp::value& v, lease_state& out) {
  return decode_lease_acquire(v, out);
};
auto decode_release = [](const resp::value& v, bool& out) { return decode_lease_release(v, out); };
auto decode_heartbeat = [](const resp::value& v, names& out) {
  return decode_members_heartbeat(v, out);
};
auto decode_read = [](const resp::value& v, lease_state& out) { return decode_lease_read(v, out); };

const lease_state stale_lease{9, 99, "stale"};

}  // namespace

TEST_CASE("lease_acquire: the call by key in the partition's slot - ttl, epoch and group as given") {
  const streams::topic_keys partition("orders#3");
  const std::string lease = partition.lease("billing");
  CHECK(lease == "streamq:{orders#3}:lease:billing");
  check_script_call(
      [&](resp::request& r, bool s) { build_lease_acquire(r, s, lease, "w-1", 5000ms, 0, "billing"); },
      {"1", lease, "w-1", "5000", "0", "billing"});
  check_script_call(
      [&](resp::request& r, bool s) { build_lease_acquire(r, s, lease, "w-1", 2s, 7, "billing"); },
      {"1", lease, "w-1", "2000", "7", "billing"});
  // A negative ttl is sent as 0: a lease already run out, not one ending in the past.
  check_script_call(
      [&](resp::request& r, bool s) { build_lease_acquire(r, s, lease, "w-1", -5ms, 0, "billing"); },
      {"1", lease, "w-1", "0", "0", "billing"});
  resp::request req;
  build_lease_acquire(req, false, lease, "w-1", 5000ms, 0, "billing");
  CHECK(req.slot() == partition.slot());
  // The read gate of an epoch: the lease's name and tag, so its slot.
  CHECK(lease_read_gate(lease, 7) == "streamq:{orders#3}:lease:billing:gate:7");
  CHECK(resp::hash_slot(lease_read_gate(lease, 7)) == partition.slot());
}

TEST_CASE("lease_acquire: granted - refused with the holder - errors - other shapes") {
  expect_decoded<lease_state>("*3\r\n:1\r\n:1764657241234\r\n$3\r\nw-1\r\n", stale_lease,
                              decode_acquire, {1, 1764657241234, "w-1"});
  expect_decoded<lease_state>("*3\r\n:42\r\n:5\r\n$3\r\nw-2\r\n", stale_lease, decode_acquire,
                              {42, 5, "w-2"});
  // Refused: epoch 0, and who holds it until when; nobody when a renewal found it free.
  expect_decoded<lease_state>("*3\r\n:0\r\n:1764657241234\r\n$3\r\nw-2\r\n", stale_lease,
                              decode_acquire, {0, 1764657241234, "w-2"});
  expect_decoded<lease_state>("*3\r\n:0\r\n:0\r\n$0\r\n\r\n", stale_lease, decode_acquire,
                              {0, 0, ""});
  expect_refused<lease_state>(script_wrongtype, stale_lease, decode_acquire,
                              resp::server_errc::wrongtype, script_wrongtype_text);
  expect_refused<lease_state>(noscript, stale_lease, decode_acquire, resp::server_errc::noscript,
                              noscript_text);
  expect_refused<lease_state>(readonly, stale_lease, decode_acquire, resp::server_errc::readonly,
                              readonly_text);
  expect_refused<lease_state>(blob_wrongtype, stale_lease, decode_acquire,
                              resp::server_errc::wrongtype, wrongtype_text);
  for (std::string_view wrong : {"*3\r\n:-1\r\n:5\r\n$3\r\nw-1\r\n",      // a negative epoch
                                 "*3\r\n:1\r\n:-5\r\n$3\r\nw-1\r\n",      // a negative time
                                 "*3\r\n$1\r\n1\r\n:5\r\n$3\r\nw-1\r\n",  // the epoch as text
                                 "*3\r\n:1\r\n$1\r\n5\r\n$3\r\nw-1\r\n",  // the time as text
                                 "*3\r\n:1\r\n:5\r\n:7\r\n",              // the owner as a number
                                 "*3\r\n:1\r\n:5\r\n_\r\n",               // no owner
                                 "*3\r\n:1\r\n:5\r\n$0\r\n\r\n",          // granted to nobody
                                 "*2\r\n:1\r\n:5\r\n", "*4\r\n:1\r\n:5\r\n$1\r\na\r\n:0\r\n",
                                 ":1\r\n", "_\r\n", "*0\r\n", "%1\r\n:1\r\n:5\r\n"})
    expect_malformed<lease_state>(wrong, stale_lease, decode_acquire);
}

TEST_CASE("lease_release: the call - released or not - errors - other shapes") {
  const std::string lease = streams::topic_keys("orders#0").lease("billing");
  check_script_call([&](resp::request& r, bool s) { build_lease_release(r, s, lease, "w-1", 12); },
                    {"1", lease, "w-1", "12"});

  expect_decoded<bool>(":1\r\n", false, decode_release, true);
  expect_decoded<bool>(":0\r\n", true, decode_release, false);
  expect_refused<bool>(noperm_keys, true, decode_release, resp::server_errc::noperm,
                       noperm_keys_text);
  expect_refused<bool>(oom, true, decode_release, resp::server_errc::oom, oom_text);
  for (std::string_view wrong :
       {":2\r\n", ":-1\r\n", "$1\r\n1\r\n", "*1\r\n:1\r\n", "_\r\n", "#t\r\n"})
    expect_malformed<bool>(wrong, true, decode_release);
}

TEST_CASE("members_heartbeat: the call under the topic's tag - joining and leaving") {
  const streams::topic_keys topic("orders");
  const std::string members = topic.members("billing");
  CHECK(members == "streamq:{orders}:members:billing");
  check_script_call(
      [&](resp::request& r, bool s) { build_members_heartbeat(r, s, members, "w-1", 15s, false); },
      {"1", members, "w-1", "15000", "0"});
  check_script_call(
      [&](resp::request& r, bool s) { build_members_heartbeat(r, s, members, "w-1", 15s, true); },
      {"1", members, "w-1", "15000", "1"});
  resp::request req;
  build_members_heartbeat(req, false, members, "w-1", 15s, false);
  CHECK(req.slot() == topic.slot());
}

TEST_CASE("members_heartbeat: the live names - none - errors - other shapes") {
  const names stale{"stale"};
  expect_decoded<names>("*3\r\n$3\r\nw-1\r\n$3\r\nw-2\r\n$3\r\nw-3\r\n", stale, decode_heartbeat,
                        {"w-1", "w-2", "w-3"});
  expect_decoded<names>("*0\r\n", stale, decode_heartbeat, {});
  expect_refused<names>(script_wrongtype, stale, decode_heartbeat, resp::server_errc::wrongtype,
                        script_wrongtype_text);
  expect_refused<names>(readonly, stale, decode_heartbeat, resp::server_errc::readonly,
                        readonly_text);
  for (std::string_view wrong : {"*2\r\n$3\r\nw-1\r\n:2\r\n", "*1\r\n_\r\n", "*1\r\n*0\r\n",
                                 ":0\r\n", "_\r\n", "$3\r\nw-1\r\n", "%0\r\n"})
    expect_malformed<names>(wrong, stale, decode_heartbeat);
}

TEST_CASE("lease read: HMGET of owner epoch until - nils as empty and 0 - other shapes") {
  const streams::topic_keys partition("orders#3");
  const std::string lease = partition.lease("billing");
  resp::request req;
  build_lease_read(req, lease);
  CHECK(commands_of(req) == std::vector<args>{{"HMGET", lease, "owner", "epoch", "until"}});
  CHECK(req.slot() == partition.slot());

  expect_decoded<lease_state>("*3\r\n$3\r\nw-1\r\n$1\r\n4\r\n$13\r\n1764657241234\r\n", stale_lease,
                              decode_read, {4, 1764657241234, "w-1"});
  // Released: the epoch stays, owner and until are gone (RESP2 nils, then RESP3 nulls).
  expect_decoded<lease_state>("*3\r\n$-1\r\n$1\r\n4\r\n$-1\r\n", stale_lease, decode_read,
                              {4, 0, ""});
  expect_decoded<lease_state>("*3\r\n_\r\n$1\r\n4\r\n_\r\n", stale_lease, decode_read, {4, 0, ""});
  // No such key.
  expect_decoded<lease_state>("*3\r\n$-1\r\n$-1\r\n$-1\r\n", stale_lease, decode_read, {});
  expect_decoded<lease_state>("*3\r\n_\r\n_\r\n_\r\n", stale_lease, decode_read, {});
  expect_decoded<lease_state>(std::string(attribute) + "*3\r\n_\r\n_\r\n_\r\n", stale_lease,
                              decode_read, {});
  expect_refused<lease_state>(wrongtype, stale_lease, decode_read, resp::server_errc::wrongtype,
                              wrongtype_text);
  for (std::string_view wrong :
       {"*3\r\n$3\r\nw-1\r\n$1\r\nx\r\n_\r\n",   // an epoch that is no number
        "*3\r\n$3\r\nw-1\r\n$2\r\n-1\r\n_\r\n",  // a negative epoch
        "*3\r\n$3\r\nw-1\r\n$1\r\n1\r\n$2\r\n5x\r\n",
        "*3\r\n:1\r\n$1\r\n1\r\n_\r\n",  // the owner as a number
        "*3\r\n*0\r\n_\r\n_\r\n", "*2\r\n_\r\n_\r\n", "*4\r\n_\r\n_\r\n_\r\n_\r\n", "_\r\n",
        ":1\r\n", "%0\r\n"})
    expect_malformed<lease_state>(wrong, stale_lease, decode_read);
}

TEST_CASE("members read: names with their expiry, RESP3 pairs and RESP2 flat, other shapes") {
  resp::request req;
  build_members_read(req, "streamq:{orders}:members:g");
  CHECK(commands_of(req) ==
        std::vector<args>{{"ZRANGE", "streamq:{orders}:members:g", "0", "-1", "WITHSCORES"}});
  auto decode = [](const resp::value& v, std::vector<member_entry>& out) {
    return decode_members_read(v, out);
  };
  const std::vector<member_entry> stale{{"x", 1}};
  const std::vector<member_entry> want{{"a", 1764700000123}, {"b", 1764700000456}};
  // RESP3: pairs, the score a double.
  expect_decoded<std::vector<member_entry>>(
      "*2\r\n*2\r\n$1\r\na\r\n,1764700000123\r\n*2\r\n$1\r\nb\r\n,1764700000456\r\n", stale,
      decode, want);
  // RESP2: flat, the score a bulk string.
  expect_decoded<std::vector<member_entry>>(
      "*4\r\n$1\r\na\r\n$13\r\n1764700000123\r\n$1\r\nb\r\n$13\r\n1764700000456\r\n", stale,
      decode, want);
  // A score written with an exponent still reads as whole milliseconds.
  expect_decoded<std::vector<member_entry>>("*1\r\n*2\r\n$1\r\na\r\n,1.5e3\r\n", stale, decode,
                                            {{"a", 1500}});
  expect_decoded<std::vector<member_entry>>("*0\r\n", stale, decode, {});
  expect_refused<std::vector<member_entry>>(
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", stale, decode,
      resp::server_errc::wrongtype,
      "WRONGTYPE Operation against a key holding the wrong kind of value");
  for (std::string_view wrong :
       {"*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n", ":1\r\n", "*1\r\n*1\r\n$1\r\na\r\n",
        "*2\r\n$1\r\na\r\n$3\r\nabc\r\n", "*2\r\n$1\r\na\r\n,-1\r\n", "*2\r\n:1\r\n$1\r\n1\r\n"})
    expect_malformed<std::vector<member_entry>>(wrong, stale, decode);
}


TEST_CASE("read gates: one EXISTS per gate - each answer - a refusal - other shapes") {
  const std::vector<std::string> gates{"streamq:{T#0}:lease:g:gate:3",
                                       "streamq:{T#1}:lease:g:gate:9"};
  resp::request req;
  build_read_gates_open(req, gates);
  CHECK(commands_of(req) ==
        std::vector<std::vector<std::string>>{{"EXISTS", gates[0]}, {"EXISTS", gates[1]}});
  auto decoded = [&](std::string_view bytes, std::size_t replies, std::error_code want_ec,
                     std::vector<bool> want) {
    INFO(bytes);
    replies_everywhere(bytes, replies, [&](std::span<const resp::value> values) {
      std::vector<bool> open{true, true, true};  // stale
      const auto result = decode_read_gates_open(values, gates.size(), open);
      CHECK(result.ec == want_ec);
      CHECK(open == want);
    });
  };
  decoded(":1\r\n:0\r\n", 2, {}, {true, false});
  decoded(":0\r\n:0\r\n", 2, {}, {false, false});
  const std::error_code malformed = make_error_code(streams::errc::malformed_entry);
  decoded(":1\r\n", 1, malformed, {});            // one reply short
  decoded(":1\r\n:2\r\n", 2, malformed, {});      // not 0 or 1
  decoded(":1\r\n$1\r\n1\r\n", 2, malformed, {});  // not an integer
  decoded(":1\r\n-NOPERM this user has no permissions to run the 'exists' command\r\n", 2,
          make_error_code(resp::server_errc::noperm), {});
}

// The partition-lease and group-membership scripts (lease_acquire-1.lua, lease_release-1.lua,
// members_heartbeat-1.lua) against a real redis-server, called through their builders and
// decoders (lib/streams/commands/lease_requests.hpp) the way the partitioned consumer calls
// them: grants, refusals, expiry, fencing epochs that only grow, and the live member list.
#include "lua_script_calls.hpp"

#include "streams/commands/lease_requests.hpp"
#include "streams/commands/send_command.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/streams/names.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace streamq::test::lua_calls;
using namespace std::chrono_literals;
using streamq::streams::topic_keys;
using streamq::streams::detail::lease_state;
using streamq::test::sleep_for;
namespace detail = streamq::streams::detail;

namespace {

// Arguments by value: they live in the coroutine frame (GCC 12 and co_await, see
// lua_script_calls.hpp). Each call fails the test unless the server answered as specified.
asio::awaitable<lease_state> acquire_call(client& c, std::string lease, std::string owner,
                                          std::chrono::milliseconds ttl, std::uint64_t epoch) {
  lease_state out;
  const auto build = [&](request& req, bool by_source) {
    detail::build_lease_acquire(req, by_source, lease, owner, ttl, epoch, "g");
  };
  const auto decode = [&](const value& v) { return detail::decode_lease_acquire(v, out); };
  const auto sent = co_await detail::send_script(c, build, decode);
  INFO(sent.reply.diagnostic);
  REQUIRE(sent);
  co_return out;
}

asio::awaitable<bool> release_call(client& c, std::string lease, std::string owner,
                                   std::uint64_t epoch) {
  bool released = false;
  const auto build = [&](request& req, bool by_source) {
    detail::build_lease_release(req, by_source, lease, owner, epoch);
  };
  const auto decode = [&](const value& v) { return detail::decode_lease_release(v, released); };
  const auto sent = co_await detail::send_script(c, build, decode);
  INFO(sent.reply.diagnostic);
  REQUIRE(sent);
  co_return released;
}

asio::awaitable<strings> heartbeat_call(client& c, std::string members, std::string member,
                                        std::chrono::milliseconds ttl, bool leaving) {
  strings live;
  const auto build = [&](request& req, bool by_source) {
    detail::build_members_heartbeat(req, by_source, members, member, ttl, leaving);
  };
  const auto decode = [&](const value& v) { return detail::decode_members_heartbeat(v, live); };
  const auto sent = co_await detail::send_script(c, build, decode);
  INFO(sent.reply.diagnostic);
  REQUIRE(sent);
  co_return live;
}

asio::awaitable<lease_state> read_lease_call(client& c, std::string lease) {
  lease_state out;
  const auto build = [&](request& req) { detail::build_lease_read(req, lease); };
  const auto decode = [&](const value& v) { return detail::decode_lease_read(v, out); };
  const auto sent = co_await detail::send_command(c, build, decode);
  INFO(sent.reply.diagnostic);
  REQUIRE(sent);
  co_return out;
}

// Plain functions in front of the coroutines: GCC 12 cannot initialize a coroutine's
// std::string parameter from a string literal ("array used as initializer").
asio::awaitable<lease_state> acquire(client& c, std::string_view lease, std::string_view owner,
                                     std::chrono::milliseconds ttl, std::uint64_t epoch) {
  return acquire_call(c, std::string(lease), std::string(owner), ttl, epoch);
}
asio::awaitable<bool> release(client& c, std::string_view lease, std::string_view owner,
                              std::uint64_t epoch) {
  return release_call(c, std::string(lease), std::string(owner), epoch);
}
asio::awaitable<strings> heartbeat(client& c, std::string_view members, std::string_view member,
                                   std::chrono::milliseconds ttl, bool leaving) {
  return heartbeat_call(c, std::string(members), std::string(member), ttl, leaving);
}
asio::awaitable<lease_state> read_lease(client& c, std::string_view lease) {
  return read_lease_call(c, std::string(lease));
}

const std::string lease_key = topic_keys("T#3").lease("g");
const std::string members_key = topic_keys("T").members("g");

}  // namespace

TEST_CASE("lease scripts: each file's build-time SHA-1 is the one SCRIPT LOAD answers") {
  const std::array all{&lua::lease_acquire, &lua::lease_release, &lua::members_heartbeat};
  with_server([&](client& c) -> asio::awaitable<void> {
    for (const auto* s : all) {
      INFO(s->name);
      CHECK(co_await text(c, "SCRIPT", "LOAD", std::string(s->text)) == s->sha1);
    }
  });
}

TEST_CASE("lease scripts: the lease is in the partition's slot and the members in the topic's") {
  CHECK(lease_key == "streamq:{T#3}:lease:g");
  CHECK(members_key == "streamq:{T}:members:g");
  CHECK(streamq::resp::hash_slot(lease_key) == topic_keys("T#3").slot());
  CHECK(streamq::resp::hash_slot(members_key) == topic_keys("T").slot());
  with_server([](client& c) -> asio::awaitable<void> {
    strings live;
    CHECK((co_await acquire(c, lease_key, "a", 10s, 0)).epoch == 1);
    live = co_await heartbeat(c, members_key, "a", 10s, false);
    CHECK(live == strings{"a"});
    // What the scripts wrote is under exactly these names.
    CHECK(co_await number(c, "EXISTS", lease_key) == 1);
    CHECK(co_await number(c, "EXISTS", members_key) == 1);
    CHECK(co_await number(c, "EXISTS", detail::lease_read_gate(lease_key, 1)) == 1);
    CHECK(co_await number(c, "DBSIZE") == 3);
  });
}

TEST_CASE("lease scripts: a free lease is granted with epoch 1 and refused to others meanwhile") {
  with_server([](client& c) -> asio::awaitable<void> {
    lease_state seen;
    seen = co_await read_lease(c, lease_key);  // no key: "", 0, 0
    CHECK(seen == lease_state{});
    co_await cmd(c, "SCRIPT", "FLUSH");  // the first call goes NOSCRIPT, then by source
    const auto before = co_await server_ms(c);
    const auto got = co_await acquire(c, lease_key, "a", 10s, 0);
    const auto after = co_await server_ms(c);
    CHECK(got.epoch == 1);
    CHECK(got.owner == "a");
    CHECK(got.until_ms >= before + 10000);
    CHECK(got.until_ms <= after + 10000);
    CHECK(co_await read_lease(c, lease_key) == got);
    CHECK(co_await number(c, "PTTL", lease_key) == -1);  // the epoch must outlive every holder

    // Another member, taking or renewing: refused, told who holds it until when.
    const auto other = co_await acquire(c, lease_key, "b", 10s, 0);
    CHECK(other == lease_state{0, got.until_ms, "a"});
    seen = co_await acquire(c, lease_key, "b", 10s, 1);
    CHECK(seen == lease_state{0, got.until_ms, "a"});
    CHECK(co_await read_lease(c, lease_key) == got);
  });
}

TEST_CASE("lease scripts: an expired lease goes to the next taker with a higher epoch") {
  with_server([](client& c) -> asio::awaitable<void> {
    lease_state seen;
    const auto first = co_await acquire(c, lease_key, "a", 100ms, 0);
    REQUIRE(first.epoch == 1);
    co_await sleep_for(150ms);
    const auto second = co_await acquire(c, lease_key, "b", 10s, 0);
    CHECK(second.epoch == 2);
    CHECK(second.owner == "b");
    // The old holder is fenced: its renewal is refused, naming the new holder.
    seen = co_await acquire(c, lease_key, "a", 10s, 1);
    CHECK(seen == lease_state{0, second.until_ms, "b"});
    CHECK(co_await read_lease(c, lease_key) == second);
  });
}

TEST_CASE("lease scripts: an expired lease nobody took is not renewed") {
  with_server([](client& c) -> asio::awaitable<void> {
    lease_state seen;
    const auto first = co_await acquire(c, lease_key, "a", 100ms, 0);
    REQUIRE(first.epoch == 1);
    co_await sleep_for(150ms);
    seen = co_await acquire(c, lease_key, "a", 10s, 1);
    CHECK(seen == lease_state{});
    // Taken again, under a new epoch: whatever the member did in between is fenced off.
    CHECK((co_await acquire(c, lease_key, "a", 10s, 0)).epoch == 2);
  });
}

TEST_CASE("lease scripts: the same owner taking again bumps the epoch") {
  with_server([](client& c) -> asio::awaitable<void> {
    const auto first = co_await acquire(c, lease_key, "a", 10s, 0);
    const auto again = co_await acquire(c, lease_key, "a", 10s, 0);
    CHECK(first.epoch == 1);
    CHECK(again.epoch == 2);
    CHECK(again.owner == "a");
    // The earlier incarnation's epoch no longer renews.
    const auto stale = co_await acquire(c, lease_key, "a", 10s, 1);
    CHECK(stale == lease_state{0, again.until_ms, "a"});
  });
}

TEST_CASE("lease scripts: a renewal with the epoch held keeps it and moves until") {
  with_server([](client& c) -> asio::awaitable<void> {
    lease_state seen;
    const auto first = co_await acquire(c, lease_key, "a", 1s, 0);
    REQUIRE(first.epoch == 1);
    const auto renewed = co_await acquire(c, lease_key, "a", 60s, 1);
    CHECK(renewed.epoch == 1);
    CHECK(renewed.owner == "a");
    CHECK(renewed.until_ms >= first.until_ms + 59000);
    CHECK(co_await read_lease(c, lease_key) == renewed);
    // A wrong epoch is refused and changes nothing.
    seen = co_await acquire(c, lease_key, "a", 60s, 2);
    CHECK(seen == lease_state{0, renewed.until_ms, "a"});
    CHECK(co_await read_lease(c, lease_key) == renewed);
  });
}

TEST_CASE("lease scripts: release needs the owner and epoch and keeps the epoch") {
  with_server([](client& c) -> asio::awaitable<void> {
    lease_state seen;
    const auto held = co_await acquire(c, lease_key, "a", 10s, 0);
    REQUIRE(held.epoch == 1);
    co_await cmd(c, "SCRIPT", "FLUSH");
    CHECK_FALSE(co_await release(c, lease_key, "a", 2));  // wrong epoch
    CHECK_FALSE(co_await release(c, lease_key, "b", 1));  // wrong owner
    CHECK(co_await read_lease(c, lease_key) == held);
    CHECK(co_await release(c, lease_key, "a", 1));
    seen = co_await read_lease(c, lease_key);
    CHECK(seen == lease_state{1, 0, ""});
    CHECK(co_await number(c, "HLEN", lease_key) == 1);    // only the epoch is left
    CHECK_FALSE(co_await release(c, lease_key, "a", 1));  // not held any more
    // The next holder, whoever it is, gets a higher epoch.
    const auto next = co_await acquire(c, lease_key, "b", 10s, 0);
    CHECK(next.epoch == 2);
    CHECK(co_await release(c, lease_key, "b", 2));
    CHECK((co_await acquire(c, lease_key, "b", 10s, 0)).epoch == 3);
    CHECK_FALSE(co_await release(c, topic_keys("T#4").lease("g"), "b", 0));  // no such lease
  });
}

TEST_CASE("lease scripts: a key of another type is the server's refusal") {
  with_server([](client& c) -> asio::awaitable<void> {
    co_await cmd(c, "SET", lease_key, "x");
    lease_state out;
    const auto build = [&](request& req, bool by_source) {
      detail::build_lease_acquire(req, by_source, lease_key, "a", 10s, 0, "g");
    };
    const auto decode = [&](const value& v) { return detail::decode_lease_acquire(v, out); };
    const auto sent = co_await detail::send_script(c, build, decode);
    CHECK_FALSE(sent.transport);
    CHECK(sent.reply.ec == streamq::resp::server_errc::wrongtype);
    CHECK(out == lease_state{});
  });
}

TEST_CASE("lease scripts: heartbeat answers the live members sorted by bytes") {
  with_server([](client& c) -> asio::awaitable<void> {
    strings live;
    co_await cmd(c, "SCRIPT", "FLUSH");
    live = co_await heartbeat(c, members_key, "c", 10s, false);
    CHECK(live == strings{"c"});
    live = co_await heartbeat(c, members_key, "a", 10s, false);
    CHECK(live == strings{"a", "c"});
    // Byte order whatever the server's collation: "B" (0x42) before "a" (0x61).
    live = co_await heartbeat(c, members_key, "B", 10s, false);
    CHECK(live == strings{"B", "a", "c"});
    live = co_await heartbeat(c, members_key, "a-1", 10s, false);
    CHECK(live == strings{"B", "a", "a-1", "c"});
    const auto before = co_await server_ms(c);
    live = co_await heartbeat(c, members_key, "a", 20s, false);
    CHECK(live == strings{"B", "a", "a-1", "c"});
    const auto score = co_await number(c, "ZSCORE", members_key, "a");
    CHECK(score >= before + 20000);
    // The set lives as long as its last member.
    const auto pttl = co_await number(c, "PTTL", members_key);
    CHECK(pttl > 10000);
    CHECK(pttl <= 20001);
  });
}

TEST_CASE("lease scripts: heartbeat drops an expired member and leaving removes one") {
  with_server([](client& c) -> asio::awaitable<void> {
    strings live;
    live = co_await heartbeat(c, members_key, "a", 10s, false);
    CHECK(live == strings{"a"});
    live = co_await heartbeat(c, members_key, "b", 100ms, false);
    CHECK(live == strings{"a", "b"});
    co_await sleep_for(150ms);
    live = co_await heartbeat(c, members_key, "a", 10s, false);
    CHECK(live == strings{"a"});
    CHECK(co_await number(c, "ZCARD", members_key) == 1);
    live = co_await heartbeat(c, members_key, "c", 10s, false);
    CHECK(live == strings{"a", "c"});
    // Leaving: the others are still answered; leaving twice is no error.
    live = co_await heartbeat(c, members_key, "a", 10s, true);
    CHECK(live == strings{"c"});
    live = co_await heartbeat(c, members_key, "a", 10s, true);
    CHECK(live == strings{"c"});
    live = co_await heartbeat(c, members_key, "c", 10s, true);
    CHECK(live == strings{});
    CHECK(co_await number(c, "EXISTS", members_key) == 0);
  });
}

TEST_CASE("lease scripts: a member set whose members all ran out expires") {
  with_server([](client& c) -> asio::awaitable<void> {
    strings live;
    live = co_await heartbeat(c, members_key, "a", 100ms, false);
    CHECK(live == strings{"a"});
    co_await sleep_for(250ms);
    CHECK(co_await number(c, "EXISTS", members_key) == 0);
  });
}

TEST_CASE("lease scripts: each grant's read gate holds the group, a later grant or a release deletes it") {
  with_server([](client& c) -> asio::awaitable<void> {
    const auto gate = [](std::uint64_t epoch) { return detail::lease_read_gate(lease_key, epoch); };
    co_await cmd(c, "XGROUP", "CREATE", "streamq:{T#3}:stream", "g", "$", "MKSTREAM");
    REQUIRE((co_await acquire(c, lease_key, "a", 10s, 0)).epoch == 1);
    // An empty stream with the group: a read naming it delivers the partition's entries.
    CHECK(co_await text(c, "TYPE", gate(1)) == "stream");
    CHECK(co_await number(c, "XLEN", gate(1)) == 0);
    co_await cmd(c, "XADD", "streamq:{T#3}:stream", "*", "f", "v");
    co_await cmd(c, "XREADGROUP", "GROUP", "g", "a", "COUNT", "10", "STREAMS",
                 "streamq:{T#3}:stream", gate(1), ">", ">");
    CHECK((co_await cmd(c, "XPENDING", "streamq:{T#3}:stream", "g")).elements.at(0).text == "1");
    // The same owner taking it again (a restart): epoch 2's gate, epoch 1's gone, so a read of
    // the old incarnation fails and delivers nothing.
    REQUIRE((co_await acquire(c, lease_key, "a", 10s, 0)).epoch == 2);
    CHECK(co_await number(c, "EXISTS", gate(1)) == 0);
    CHECK(co_await number(c, "EXISTS", gate(2)) == 1);
    co_await cmd(c, "XADD", "streamq:{T#3}:stream", "*", "f", "v2");
    request req;
    req.push("XREADGROUP", "GROUP", "g", "a", "COUNT", "10", "STREAMS", key{"streamq:{T#3}:stream"},
             key{gate(1)}, ">", ">");
    response<value> stale;
    co_await c.async_exec(req, stale);
    CHECK(stale.get<0>().error() == streamq::resp::server_errc::nogroup);
    CHECK((co_await cmd(c, "XPENDING", "streamq:{T#3}:stream", "g")).elements.at(0).text == "1");
    // A renewal makes its gate again when it is missing; a refused one makes none.
    co_await cmd(c, "DEL", gate(2));
    REQUIRE((co_await acquire(c, lease_key, "a", 10s, 2)).epoch == 2);
    CHECK(co_await number(c, "EXISTS", gate(2)) == 1);
    CHECK((co_await acquire(c, lease_key, "b", 10s, 7)).epoch == 0);
    CHECK(co_await number(c, "EXISTS", gate(7)) == 0);
    // Released: its gate goes with it; a release refused leaves it.
    CHECK_FALSE(co_await release(c, lease_key, "b", 2));
    CHECK(co_await number(c, "EXISTS", gate(2)) == 1);
    CHECK(co_await release(c, lease_key, "a", 2));
    CHECK(co_await number(c, "EXISTS", gate(2)) == 0);
    // The next taker's gate.
    REQUIRE((co_await acquire(c, lease_key, "b", 10s, 0)).epoch == 3);
    CHECK(co_await number(c, "EXISTS", gate(3)) == 1);
  });
}

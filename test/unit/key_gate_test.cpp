// Tests of lib/streams/sansio/key_gate.*: per-key ordering (which entries run now, which wait
// behind an earlier entry of their key), blocking on a retry, dead letters that release or hold
// the key, and the per-key limit without order. No server.
#include "streams/sansio/key_gate.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace streamq::streams::detail;
using strings = std::vector<std::string>;

TEST_CASE("entry_id_less: numeric order of both parts, malformed IDs last") {
  const entry_id_less less;
  CHECK(less("9-0", "10-0"));
  CHECK_FALSE(less("10-0", "9-0"));
  CHECK(less("5-9", "5-10"));
  CHECK_FALSE(less("5-1", "5-1"));
  CHECK(less("18446744073709551615-0", "x"));
  CHECK_FALSE(less("x", "1-0"));
  CHECK(less("a", "b"));
  for (const char* bad : {"", "-", "1-", "-1", "1-2-3", "1x-2", "99999999999999999999-0"})
    CHECK(less("1-0", bad));
}

TEST_CASE("key_gate: one at a time per key, later ones in ID order, other keys flow") {
  key_gate<std::string> gate(1);
  CHECK(gate.ordered());
  auto a1 = gate.admit("a", "1-0", "a1");
  REQUIRE(a1.item);
  CHECK_FALSE(a1.head);
  CHECK_FALSE(gate.admit("a", "3-0", "a3").item);
  CHECK_FALSE(gate.admit("a", "2-0", "a2").item);  // arrived late: still runs before a3
  CHECK(gate.admit("b", "4-0", "b4").item);         // another key is not held back
  CHECK(gate.waiting() == 2);
  strings ready;
  gate.finish("a", "1-0", key_fate::done, ready);
  CHECK(ready == strings{"a2"});
  gate.finish("a", "2-0", key_fate::done, ready);
  CHECK(ready == strings{"a2", "a3"});
  gate.finish("a", "3-0", key_fate::done, ready);
  gate.finish("b", "4-0", key_fate::done, ready);
  CHECK(ready.size() == 2);
  CHECK(gate.waiting() == 0);
  CHECK(gate.keys() == 0);  // nothing kept for keys with nothing to do
}

TEST_CASE("key_gate: a retry blocks its key until the entry comes back and succeeds") {
  key_gate<std::string> gate(1);
  REQUIRE(gate.admit("k", "1-0", "first").item);
  CHECK_FALSE(gate.admit("k", "2-0", "second").item);
  strings ready;
  gate.finish("k", "1-0", key_fate::blocked, ready);
  CHECK(ready.empty());
  CHECK(gate.blocked_by("k") == "1-0");
  CHECK_FALSE(gate.admit("k", "3-0", "third").item);  // newer ones wait too
  const auto back = gate.admit("k", "1-0", "first again");
  REQUIRE(back.item);
  CHECK(back.head);
  CHECK(*back.item == "first again");
  CHECK(gate.blocked_by("k").empty());
  // It fails again: still blocked on it.
  gate.finish("k", "1-0", key_fate::blocked, ready);
  CHECK(ready.empty());
  REQUIRE(gate.admit("k", "1-0", "third run").head);
  gate.finish("k", "1-0", key_fate::done, ready);
  CHECK(ready == strings{"second"});
  gate.finish("k", "2-0", key_fate::done, ready);
  CHECK(ready == strings{"second", "third"});
}

TEST_CASE("key_gate: a dead letter releases the key, or holds it until released or back") {
  key_gate<std::string> gate(1);
  strings ready;
  REQUIRE(gate.admit("k", "1-0", "x").item);
  CHECK_FALSE(gate.admit("k", "2-0", "y").item);
  gate.finish("k", "1-0", key_fate::held, ready);
  CHECK(ready.empty());
  std::vector<std::pair<std::string, std::string>> held;
  gate.for_each_held([&](std::string_view k, std::string_view id) { held.emplace_back(k, id); });
  CHECK(held == std::vector<std::pair<std::string, std::string>>{{"k", "1-0"}});
  CHECK_FALSE(gate.release("k", "9-9", ready));  // not what it is blocked on
  CHECK(gate.release("k", "1-0", ready));
  CHECK(ready == strings{"y"});
  CHECK_FALSE(gate.release("nothing", "1-0", ready));

  // Held, then the entry comes back (requeued): it runs as the head.
  key_gate<std::string> again(1);
  again.block("q", "5-0", true);
  CHECK_FALSE(again.admit("q", "6-0", "later").item);
  const auto requeued = again.admit("q", "5-0", "requeued");
  CHECK(requeued.head);
  held.clear();
  again.for_each_held([&](std::string_view k, std::string_view id) { held.emplace_back(k, id); });
  CHECK(held.empty());
  strings out;
  again.finish("q", "5-0", key_fate::done, out);
  CHECK(out == strings{"later"});
}

TEST_CASE("key_gate: a key blocked at start (loaded from Redis) holds what was recovered") {
  key_gate<std::string> gate(1);
  gate.block("k", "10-0", false);
  CHECK_FALSE(gate.admit("k", "11-0", "recovered").item);
  CHECK_FALSE(gate.admit("k", "12-0", "read").item);
  CHECK(gate.admit("other", "13-0", "free").item);
  std::vector<std::string> ids;
  gate.for_each_waiting([&](std::string_view id, const std::string&) { ids.emplace_back(id); });
  CHECK(ids.size() == 2);
  REQUIRE(gate.admit("k", "10-0", "retry taken").head);
  strings ready;
  gate.finish("k", "10-0", key_fate::done, ready);
  CHECK(ready == strings{"recovered"});
}

TEST_CASE("key_gate: a repeated delivery of a waiting entry replaces it, clear forgets all") {
  key_gate<std::string> gate(1);
  REQUIRE(gate.admit("k", "1-0", "run").item);
  CHECK_FALSE(gate.admit("k", "2-0", "old copy").item);
  CHECK_FALSE(gate.admit("k", "2-0", "new copy").item);
  CHECK(gate.waiting() == 1);
  strings ready;
  gate.finish("k", "1-0", key_fate::done, ready);
  CHECK(ready == strings{"new copy"});
  CHECK_FALSE(gate.admit("k", "3-0", "z").item);
  gate.clear();
  CHECK(gate.waiting() == 0);
  CHECK(gate.keys() == 0);
  // finish() of a key forgotten meanwhile is harmless.
  gate.finish("k", "2-0", key_fate::done, ready);
  CHECK(ready.size() == 1);
}

TEST_CASE("key_gate: per-key limit above one: at most N at once, no order, failures block nothing") {
  key_gate<std::string> gate(2);
  CHECK_FALSE(gate.ordered());
  CHECK(gate.admit("c", "1-0", "1").item);
  CHECK(gate.admit("c", "2-0", "2").item);
  CHECK_FALSE(gate.admit("c", "3-0", "3").item);
  CHECK(gate.admit("d", "4-0", "4").item);
  strings ready;
  gate.finish("c", "1-0", key_fate::blocked, ready);  // a retry does not block without order
  CHECK(ready == strings{"3"});
  CHECK(gate.blocked_by("c").empty());
  gate.block("c", "9-0", true);  // ignored without order
  CHECK(gate.blocked_by("c").empty());
  CHECK_FALSE(gate.admit("c", "5-0", "5").item);  // 2 and 3 run
  gate.finish("c", "2-0", key_fate::done, ready);
  CHECK(ready == strings{"3", "5"});
  CHECK(key_gate<int>(0).ordered());  // 0 means 1
}

// Tests of lib/resp/request.cpp and lib/resp/hash_slot.cpp.

#include <streamq/resp/request.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <list>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_view_literals;
namespace resp = streamq::resp;

TEST_CASE("request: serializes commands as RESP arrays of bulk strings") {
  resp::request req;
  req.push("SET", "key", "value");
  CHECK(req.payload() == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
  CHECK(req.command_count() == 1);
  CHECK(req.reply_count() == 1);

  req.push("PING");
  CHECK(req.payload() ==
        "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
        "*1\r\n$4\r\nPING\r\n");
  CHECK(req.command_count() == 2);
  CHECK(req.reply_count() == 2);
}

TEST_CASE("request: string-like arguments are binary safe") {
  resp::request req;
  const std::string owned = "a\r\nb";
  const std::string_view with_nul = "x\0y"sv;
  const char* c_string = "cs";
  req.push("ECHO", owned, with_nul, c_string, std::string{});
  CHECK(req.payload() ==
        "*5\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n$3\r\nx\0y\r\n$2\r\ncs\r\n$0\r\n\r\n"sv);
}

TEST_CASE("request: numbers and booleans") {
  resp::request req;
  req.push("X", 0, -1, std::numeric_limits<std::int64_t>::min(),
           std::numeric_limits<std::uint64_t>::max(), std::uint8_t{200}, true, false);
  CHECK(req.payload() ==
        "*8\r\n$1\r\nX\r\n$1\r\n0\r\n$2\r\n-1\r\n$20\r\n-9223372036854775808\r\n"
        "$20\r\n18446744073709551615\r\n$3\r\n200\r\n$1\r\n1\r\n$1\r\n0\r\n");

  req.clear();
  req.push("ZADD", "z", 1.5, -0.25, 1e300, 3.0);
  CHECK(req.payload() ==
        "*6\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\n1.5\r\n$5\r\n-0.25\r\n$6\r\n1e+300\r\n$1\r\n3\r\n");
}

TEST_CASE("request: ranges expand in place") {
  resp::request req;
  const std::vector<std::string> fields{"f1", "v1", "f2", "v2"};
  req.push("HSET", resp::key{"h"}, fields);
  CHECK(req.payload() ==
        "*6\r\n$4\r\nHSET\r\n$1\r\nh\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n");

  req.clear();
  const std::list<int> ids{1, 2};
  const std::array<std::string_view, 0> none{};
  req.push("SADD", "s", ids, none);
  CHECK(req.payload() == "*4\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\n1\r\n$1\r\n2\r\n");

  // Nested ranges: the announced count must match the arguments written.
  req.clear();
  const std::vector<std::vector<std::string>> pairs{{"a", "1"}, {"b", "2"}, {}};
  req.push("MSET", pairs);
  CHECK(req.payload() == "*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
}

TEST_CASE("request: key{} arguments set the slot") {
  resp::request req;
  CHECK_FALSE(req.slot());
  req.push("GET", "not-marked");
  CHECK_FALSE(req.slot());
  req.push("GET", resp::key{"foo"});
  REQUIRE(req.slot());
  CHECK(*req.slot() == 12182);
  CHECK_FALSE(req.cross_slot());
  CHECK(req.payload().ends_with("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n"));

  req.push("SET", resp::key{"{foo}.x"}, "1");
  CHECK_FALSE(req.cross_slot());
  req.push("GET", resp::key{"bar"});
  CHECK(req.cross_slot());
  CHECK(*req.slot() == 12182);  // the first key's slot

  req.clear();
  const std::vector<resp::key> keys{{"{user1000}.following"}, {"{user1000}.followers"}};
  req.push("SUNION", keys);
  CHECK(req.payload() ==
        "*3\r\n$6\r\nSUNION\r\n$20\r\n{user1000}.following\r\n$20\r\n{user1000}.followers\r\n");
  REQUIRE(req.slot());
  CHECK(*req.slot() == resp::hash_slot("user1000"));
  CHECK_FALSE(req.cross_slot());
}

TEST_CASE("hash_slot: CRC16 mod 16384 with hash tags") {
  CHECK(resp::hash_slot("foo") == 12182);
  CHECK(resp::hash_slot("bar") == 5061);
  CHECK(resp::hash_slot("123456789") == (0x31C3 & 16383));  // the CRC16/XMODEM check value
  CHECK(resp::hash_slot("") == 0);
  CHECK(resp::hash_slot("{user1000}.following") == resp::hash_slot("{user1000}.followers"));
  CHECK(resp::hash_slot("{user1000}.following") == resp::hash_slot("user1000"));
  // only the first {...} counts, and only when non-empty
  CHECK(resp::hash_slot("foo{bar}{zap}") == resp::hash_slot("bar"));
  CHECK(resp::hash_slot("{}foo") == 9500);  // the whole key, braces included
  CHECK(resp::hash_slot("foo{}{bar}") == 8363);
  CHECK(resp::hash_slot("foo{{bar}}zap") == resp::hash_slot("{bar"));
  CHECK(resp::hash_slot("{foo") != resp::hash_slot("foo"));
  for (std::string_view k : {"a", "zz", "\xff\xfe", "a much longer key name:with:colons"})
    CHECK(resp::hash_slot(k) < 16384);
}

TEST_CASE("request: reply_count skips the subscribe family") {
  resp::request req;
  req.push("SUBSCRIBE", "a", "b");
  req.push("psubscribe", "news.*");
  req.push("SSubscribe", "s");
  req.push("UNSUBSCRIBE");
  req.push("PUNSUBSCRIBE");
  req.push("SUNSUBSCRIBE");
  CHECK(req.command_count() == 6);
  CHECK(req.reply_count() == 0);
  req.push("PUBLISH", "a", "m");  // P, but answered
  req.push("SET", "k", "v");      // S, but answered
  req.push("UNLINK", "k");        // U, but answered
  CHECK(req.reply_count() == 3);
}

TEST_CASE("request: blocking commands") {
  auto blocking = [](auto&&... args) {
    resp::request req;
    req.push(args...);
    return req.has_blocking_command();
  };
  CHECK(blocking("BLPOP", "q", 0));
  CHECK(blocking("brpop", "q", 1));
  CHECK(blocking("BRPOPLPUSH", "a", "b", 0));
  CHECK(blocking("BLMOVE", "a", "b", "LEFT", "RIGHT", 0));
  CHECK(blocking("BLMPOP", 0, 1, "a", "LEFT"));
  CHECK(blocking("BZPOPMIN", "z", 0));
  CHECK(blocking("bzpopmax", "z", 0));
  CHECK(blocking("BZMPOP", 0, 1, "z", "MIN"));
  CHECK(blocking("WAIT", 1, 0));
  CHECK(blocking("WaitAof", 1, 0, 0));
  CHECK(blocking("XREADGROUP", "GROUP", "g", "c", "BLOCK", 100, "STREAMS", "s", ">"));
  CHECK(blocking("xreadgroup", "group", "g", "c", "count", 5, "block", 0, "streams", "s", ">"));
  CHECK(blocking("XREAD", "BLOCK", 0, "STREAMS", "s", "$"));  // BLOCK as first argument
  CHECK(blocking("XREAD", "COUNT", 2, "Block", 10, "STREAMS", "s", "0"));

  CHECK_FALSE(blocking("GET", "k"));
  CHECK_FALSE(blocking("BITCOUNT", "k"));
  CHECK_FALSE(blocking("WATCH", "k"));
  CHECK_FALSE(blocking("XREADGROUP", "GROUP", "g", "c", "COUNT", 10, "STREAMS", "s", ">"));
  CHECK_FALSE(blocking("XREAD", "STREAMS", "s", "0"));
  CHECK_FALSE(blocking("XADD", "s", "*", "BLOCK", "1"));  // not an XREAD option
  // "block" as a stream, group or consumer name is not the BLOCK option
  CHECK_FALSE(blocking("XREAD", "STREAMS", "block", "0"));
  CHECK_FALSE(blocking("XREADGROUP", "GROUP", "block", "block", "STREAMS", "block", ">"));
  CHECK_FALSE(blocking("XREAD", "COUNT", "block", "STREAMS", "s", "0"));

  // a later BLOCK after a non-blocking XREAD in the same request still counts, even when
  // the previous command ended where an option value was expected
  resp::request req;
  req.push("XREAD", "STREAMS", "s", "0");
  req.push("GET", "BLOCK");
  CHECK_FALSE(req.has_blocking_command());
  req.push("XREADGROUP", "GROUP");
  req.push("XREAD", "BLOCK", 5, "STREAMS", "s", "$");
  CHECK(req.has_blocking_command());
}

TEST_CASE("request: clear() empties it and keeps the capacity") {
  resp::request req;
  req.push("SET", resp::key{"a"}, std::string(1000, 'x'));
  req.push("BLPOP", "q", 0);
  req.push("GET", resp::key{"b"});
  REQUIRE(req.cross_slot());
  const std::size_t before = req.payload().size();
  const char* storage = req.payload().data();
  req.clear();
  CHECK(req.payload().empty());
  CHECK(req.command_count() == 0);
  CHECK(req.reply_count() == 0);
  CHECK_FALSE(req.slot());
  CHECK_FALSE(req.cross_slot());
  CHECK_FALSE(req.has_blocking_command());
  // refilling up to the old size reuses the same storage
  req.push("SET", "a", std::string(1000, 'y'));
  CHECK(req.payload().size() <= before);
  CHECK(req.payload().data() == storage);
  CHECK(req.reply_count() == 1);
}

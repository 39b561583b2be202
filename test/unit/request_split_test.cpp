// Tests of lib/redis/cluster/request_split.*: a pipeline over several slots cut into one request
// per slot, and the parts' replies handed back in the whole request's order; also the
// per-command facts resp::request records for it (command(), append_command()).
#include "redis/cluster/request_split.hpp"
#include "reply_harness.hpp"

#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace resp = streamq::resp;
namespace cluster = streamq::redis::cluster;

namespace {

// Keys in three different slots ("{a}", "{b}", "{c}" hash tags).
const std::string key_a = "{a}.k";
const std::string key_b = "{b}.k";
const std::string key_c = "{c}.k";

// The same command pushed on its own, for comparing bytes.
template <class... Args>
std::string alone(std::string_view command, const Args&... args) {
  resp::request r;
  r.push(command, args...);
  return std::string(r.payload());
}

}  // namespace

TEST_CASE("request: command() tells each command's offset, slot and reply") {
  resp::request req;
  req.push("SET", resp::key{key_a}, "1");
  req.push("PING");
  req.push("SUBSCRIBE", "channel");
  req.push("MSET", resp::key{key_b}, "1", resp::key{key_c}, "2");
  REQUIRE(req.command_count() == 4);
  CHECK(req.command(0).offset == 0);
  CHECK(req.command(0).slot == resp::hash_slot(key_a));
  CHECK(req.command(0).replied);
  CHECK(req.command(1).offset == alone("SET", resp::key{key_a}, "1").size());
  CHECK_FALSE(req.command(1).slot);
  CHECK_FALSE(req.command(2).replied);  // answered by pushes only
  CHECK(req.command(3).slot == resp::hash_slot(key_b));  // its first key's
  CHECK(req.cross_slot());
  CHECK(req.command_cross_slot());  // MSET over two slots
  CHECK_FALSE(req.has_transaction());
  req.clear();
  CHECK_FALSE(req.command_cross_slot());
  req.push("multi");
  CHECK(req.has_transaction());
  req.clear();
  CHECK_FALSE(req.has_transaction());
}

TEST_CASE("request: append_command copies a command's bytes and facts") {
  resp::request whole;
  whole.push("SET", resp::key{key_a}, "1");
  whole.push("GET", resp::key{key_b});
  whole.push("PING");
  resp::request copy;
  copy.append_command(whole, 1);
  CHECK(copy.payload() == alone("GET", resp::key{key_b}));
  CHECK(copy.slot() == resp::hash_slot(key_b));
  CHECK_FALSE(copy.cross_slot());
  copy.append_command(whole, 2);
  copy.append_command(whole, 0);
  CHECK(copy.command_count() == 3);
  CHECK(copy.reply_count() == 3);
  CHECK(copy.payload() ==
        alone("GET", resp::key{key_b}) + alone("PING") + alone("SET", resp::key{key_a}, "1"));
  CHECK(copy.cross_slot());
  CHECK(copy.command(2).offset == alone("GET", resp::key{key_b}).size() + alone("PING").size());
}

TEST_CASE("splittable: independent commands only") {
  resp::request one_slot;
  one_slot.push("SET", resp::key{key_a}, "1");
  one_slot.push("GET", resp::key{key_a});
  CHECK_FALSE(cluster::splittable(one_slot));  // nothing to split: routed whole

  resp::request pipeline;
  pipeline.push("SET", resp::key{key_a}, "1");
  pipeline.push("SET", resp::key{key_b}, "1");
  CHECK(cluster::splittable(pipeline));

  resp::request transaction;
  transaction.push("MULTI");
  transaction.push("SET", resp::key{key_a}, "1");
  transaction.push("SET", resp::key{key_b}, "1");
  transaction.push("EXEC");
  CHECK_FALSE(cluster::splittable(transaction));

  resp::request mset;
  mset.push("GET", resp::key{key_c});
  mset.push("MSET", resp::key{key_a}, "1", resp::key{key_b}, "2");
  CHECK_FALSE(cluster::splittable(mset));

  resp::request blocking;
  blocking.push("SET", resp::key{key_a}, "1");
  blocking.push("BLPOP", resp::key{key_b}, 0);
  CHECK_FALSE(cluster::splittable(blocking));
}

TEST_CASE("split_by_slot: one part per slot, keyless commands with the first") {
  resp::request req;
  req.push("SET", resp::key{key_a}, "1");  // reply 0
  req.push("GET", resp::key{key_b});       // reply 1
  req.push("PING");                        // reply 2
  req.push("GET", resp::key{key_a});       // reply 3
  req.push("GET", resp::key{key_c});       // reply 4
  const auto parts = cluster::split_by_slot(req);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].req.payload() ==
        alone("SET", resp::key{key_a}, "1") + alone("GET", resp::key{key_a}) + alone("PING"));
  CHECK(parts[0].reply_index == std::vector<std::size_t>{0, 3, 2});
  CHECK(parts[0].req.slot() == resp::hash_slot(key_a));
  CHECK_FALSE(parts[0].req.cross_slot());
  CHECK(parts[1].req.payload() == alone("GET", resp::key{key_b}));
  CHECK(parts[1].reply_index == std::vector<std::size_t>{1});
  CHECK(parts[2].reply_index == std::vector<std::size_t>{4});
  for (const auto& p : parts) CHECK(p.req.reply_count() == p.reply_index.size());
}

TEST_CASE("merge_replies hands every part's replies over in the whole request's order") {
  resp::request req;
  req.push("GET", resp::key{key_a});
  req.push("LRANGE", resp::key{key_b}, 0, -1);
  req.push("GET", resp::key{key_a});
  const auto parts = cluster::split_by_slot(req);
  REQUIRE(parts.size() == 2);
  std::vector<cluster::reply_recorder> recorded(2);
  // Part 0 answers replies 0 and 2, part 1 reply 1 (an array: nested nodes).
  CHECK(reply_harness::feed("$3\r\none\r\n$5\r\nthree\r\n", {4}, recorded[0]) == 2);
  CHECK(reply_harness::feed("*2\r\n$1\r\nx\r\n-ERR inner\r\n", {}, recorded[1]) == 1);
  CHECK(recorded[0].replies() == 2);
  resp::response<std::string, resp::value, std::string> out;
  cluster::merge_replies(parts, recorded, out);
  REQUIRE(out.get<0>());
  CHECK(out.get<0>().value() == "one");
  REQUIRE(out.get<1>());
  REQUIRE(out.get<1>().value().elements.size() == 2);
  CHECK(out.get<1>().value().elements[0].text == "x");
  CHECK(out.get<1>().value().elements[1].is_error());
  REQUIRE(out.get<2>());
  CHECK(out.get<2>().value() == "three");

  // A resent part starts over: what it recorded before is forgotten.
  recorded[1].on_start();
  CHECK(recorded[1].replies() == 0);
}

// Tests of lib/streams/commands/stream_reply.* (the XREADGROUP/XREAD reply decoder) and
// lib/streams/consume/id_list.hpp: entries decoded from RESP2 and RESP3 replies (fed whole, at
// every split point and byte by byte), and decoded again into recycled entries (as the
// consumer hands its handled entries back) without any field of an earlier entry surviving;
// errors classified, every other shape errc::malformed_entry.
#include "streams/commands/stream_reply.hpp"
#include "parser_harness.hpp"
#include "reply_harness.hpp"
#include "streams/consume/id_list.hpp"

#include <streamq/resp/request.hpp>
#include <streamq/streams/error.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code with it
#include <string>
#include <string_view>
#include <vector>

namespace resp = streamq::resp;
using streamq::streams::detail::id_list;
using streamq::streams::detail::read_entry;
using streamq::streams::detail::stream_read_reply;

namespace {

// RESP3: {stream: [[id, [f, v, ...]] | [id, nil], ...]}
std::string resp3_reply(std::string_view stream, const std::vector<read_entry>& entries) {
  auto bulk = [](std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
  };
  std::string out = "%1\r\n" + bulk(stream) + "*" + std::to_string(entries.size()) + "\r\n";
  for (const auto& e : entries) {
    out += "*2\r\n" + bulk(e.id);
    if (e.deleted) {
      out += "_\r\n";
      continue;
    }
    out += "*" + std::to_string(e.fields.size()) + "\r\n";
    for (const auto& f : e.fields) out += bulk(f);
  }
  return out;
}

void check_same(const std::vector<read_entry>& got, const std::vector<read_entry>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("entry " << i);
    CHECK(got[i].stream == 0);
    CHECK(got[i].id == want[i].id);
    CHECK(got[i].deleted == want[i].deleted);
    CHECK(got[i].fields == want[i].fields);
  }
}

}  // namespace

TEST_CASE("stream_read_reply: recycled entries are refilled, nothing of their past kept") {
  const std::vector<std::string> streams{"streamq:{t}:stream"};
  std::vector<read_entry> spare;
  stream_read_reply reply(streams);
  reply.reuse_entries_from(&spare);

  const std::vector<read_entry> first{
      {0, "1764657241234-17", {"v", "1", "envelope", std::string(300, 'x'), "extra", "y"}, false},
      {0, "1764657241234-18", {"v", "1", "envelope", "short"}, false}};
  reply_harness::feed(resp3_reply(streams[0], first), {}, reply);
  check_same(reply.entries(), first);

  // Handled: handed back, as the consumer's workers do.
  for (auto& e : reply.entries()) spare.push_back(std::move(e));
  REQUIRE(spare.size() == 2);

  // Fewer fields, a deleted entry, then more entries than there are spares.
  const std::vector<read_entry> second{
      {0, "1-1", {"v", "1"}, false},
      {0, "1-2", {}, true},
      {0, "1764657241235-0", {"v", "1", "envelope", std::string(40, 'z')}, false}};
  reply_harness::feed(resp3_reply(streams[0], second), {}, reply);
  CHECK(spare.empty());
  check_same(reply.entries(), second);
}

TEST_CASE("stream_read_reply: entries of streams not asked for are dropped, errors kept") {
  const std::vector<std::string> streams{"a"};
  stream_read_reply reply(streams);
  reply_harness::feed(
      "%2\r\n$1\r\nb\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
      "$1\r\na\r\n*1\r\n*2\r\n$3\r\n1-2\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n",
      {}, reply);
  REQUIRE(reply.entries().size() == 1);
  CHECK(reply.entries()[0].id == "1-2");
  CHECK(reply.entries()[0].fields == std::vector<std::string>{"g", "w"});

  reply_harness::feed("-NOGROUP No such key 'a' or consumer group 'g'\r\n", {}, reply);
  CHECK(reply.error() == resp::server_errc::nogroup);
  CHECK(reply.entries().empty());
}

TEST_CASE("id_list: IDs back to back, in order, as XACK arguments") {
  id_list ids;
  CHECK(ids.empty());
  ids.push_back("1764657241234-17");
  ids.push_back("1-0");
  ids.push_back("");
  REQUIRE(ids.size() == 3);
  CHECK(ids[0] == "1764657241234-17");
  CHECK(ids[1] == "1-0");
  CHECK(ids[2].empty());
  std::vector<std::string> seen;
  for (auto id : ids) seen.emplace_back(id);
  CHECK(seen == std::vector<std::string>{"1764657241234-17", "1-0", ""});

  resp::request req;
  req.push("XACK", resp::key{"s"}, "g", ids);
  CHECK(req.payload() ==
        "*6\r\n$4\r\nXACK\r\n$1\r\ns\r\n$1\r\ng\r\n$16\r\n1764657241234-17\r\n$3\r\n1-0\r\n$"
        "0\r\n\r\n");

  id_list other;
  other.push_back("2-0");
  ids.append(other);
  CHECK(ids.size() == 4);
  CHECK(ids[3] == "2-0");
  ids.swap(other);
  CHECK(ids.size() == 1);
  CHECK(other.size() == 4);
  other.clear();
  CHECK(other.empty());
  CHECK(other.begin() == other.end());
}

namespace {

// Captured from redis-server 7.0: XREADGROUP ... STREAMS s 0 after 1-2 was deleted (history
// reads give deleted entries as nil), in RESP2 and in RESP3.
constexpr std::string_view history_resp2 =
    "*1\r\n*2\r\n$1\r\ns\r\n*3\r\n*2\r\n$3\r\n1-1\r\n*4\r\n$1\r\nv\r\n$1\r\n1\r\n$1\r\ne\r\n"
    "$1\r\nx\r\n*2\r\n$3\r\n1-2\r\n*-1\r\n*2\r\n$3\r\n1-3\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n";
constexpr std::string_view history_resp3 =
    "%1\r\n$1\r\ns\r\n*3\r\n*2\r\n$3\r\n1-1\r\n*4\r\n$1\r\nv\r\n$1\r\n1\r\n$1\r\ne\r\n"
    "$1\r\nx\r\n*2\r\n$3\r\n1-2\r\n_\r\n*2\r\n$3\r\n1-3\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n";

const std::vector<read_entry> history{
    {0, "1-1", {"v", "1", "e", "x"}, false}, {0, "1-2", {}, true}, {0, "1-3", {"a", "b"}, false}};

// Decodes `bytes` at every split point with entries recycled from the previous decode (as the
// consumer hands them back); each time the reply is `error`, with `want` entries.
void decode_everywhere(std::string_view bytes, const std::vector<std::string>& streams,
                       const std::vector<read_entry>& want, std::error_code error = {}) {
  INFO("reply: " << parser_harness::escape(bytes));
  std::vector<read_entry> spare{{0, "9-9", {"old", "fields", "of", "an", "entry"}, true}};
  stream_read_reply reply(streams);
  reply.reuse_entries_from(&spare);
  reply_harness::for_every_split(bytes, reply, [&] {
    CHECK(reply.error() == error);
    CHECK(reply.diagnostic().empty() == !error);
    REQUIRE(reply.entries().size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      INFO("entry " << i);
      CHECK(reply.entries()[i].stream == want[i].stream);
      CHECK(reply.entries()[i].id == want[i].id);
      CHECK(reply.entries()[i].deleted == want[i].deleted);
      CHECK(reply.entries()[i].fields == want[i].fields);
    }
    for (auto& e : reply.entries()) spare.push_back(std::move(e));
  });
}

}  // namespace

TEST_CASE("stream_read_reply: replies as Redis sends them, RESP2 and RESP3, at every split") {
  const std::vector<std::string> streams{"other", "s"};
  std::vector<read_entry> want = history;
  for (auto& e : want) e.stream = 1;
  decode_everywhere(history_resp2, streams, want);
  decode_everywhere(history_resp3, streams, want);
  // Two streams, one not asked for; an attribute ahead (RESP3).
  decode_everywhere(
      "|1\r\n+key-popularity\r\n%1\r\n$1\r\ns\r\n,0.5\r\n"
      "%2\r\n$1\r\nx\r\n*1\r\n*2\r\n$3\r\n7-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
      "$5\r\nother\r\n*1\r\n*2\r\n$3\r\n8-1\r\n*0\r\n",
      streams, {{0, "8-1", {}, false}});
  // A BLOCK timeout.
  decode_everywhere("*-1\r\n", streams, {});
  decode_everywhere("_\r\n", streams, {});
}

TEST_CASE("stream_read_reply: errors classified, other shapes malformed with no entries") {
  const std::vector<std::string> streams{"s"};
  decode_everywhere(
      "-NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option\r\n",
      streams, {}, resp::server_errc::nogroup);
  decode_everywhere("-NOPERM this user has no permissions to run the 'xreadgroup' command\r\n",
                    streams, {}, resp::server_errc::noperm);
  decode_everywhere("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", streams, {},
                    resp::server_errc::unblocked);
  const std::error_code malformed = make_error_code(streamq::streams::errc::malformed_entry);
  for (std::string_view wrong : {
           ":1\r\n",                                                       // not a map or an array
           "$1\r\ns\r\n",                                                  // not a map or an array
           "~0\r\n",                                                       // not a map or an array
           "*1\r\n$1\r\ns\r\n",                                            // RESP2: a name, no pair
           "*1\r\n*1\r\n$1\r\ns\r\n",                                      // RESP2: a pair of 1
           "*1\r\n*3\r\n$1\r\ns\r\n*0\r\n*0\r\n",                          // RESP2: a pair of 3
           "%1\r\n*0\r\n*0\r\n",                                           // the name an array
           "%1\r\n$1\r\ns\r\n_\r\n",                                       // entries nil
           "%1\r\n$1\r\ns\r\n$1\r\nx\r\n",                                 // entries a string
           "%1\r\n$1\r\ns\r\n*1\r\n$3\r\n1-1\r\n",                         // an entry not an array
           "%1\r\n$1\r\ns\r\n*1\r\n*1\r\n$3\r\n1-1\r\n",                   // an entry of 1
           "%1\r\n$1\r\ns\r\n*1\r\n*3\r\n$3\r\n1-1\r\n*0\r\n*0\r\n",       // an entry of 3
           "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n*0\r\n*0\r\n",                    // the ID an array
           "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n:1\r\n*0\r\n",                    // the ID a number
           "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*1\r\n$1\r\nf\r\n",  // odd fields
           "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n",  // a map
           "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n*0\r\n",  // a nested value
           "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n:1\r\n",  // a number
           // A good entry first, then a bad one: no entries at all.
           "%1\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*0\r\n*2\r\n$3\r\n1-2\r\n$1\r\nx\r\n",
           // The same in a stream not asked for: still refused.
           "%1\r\n$1\r\nq\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*1\r\n$1\r\nf\r\n",
       })
    decode_everywhere(wrong, streams, {}, malformed);
}

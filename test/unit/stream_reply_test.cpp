// Tests of lib/streams/stream_reply.* (the XREADGROUP/XREAD reply decoder) and
// lib/streams/consume/id_list.hpp: entries decoded from RESP2 and RESP3 replies, and decoded
// again into recycled entries (as the consumer hands its handled entries back) without any
// field of an earlier entry surviving.
#include "streams/consume/id_list.hpp"
#include "streams/stream_reply.hpp"

#include <streamq/resp/parser.hpp>
#include <streamq/resp/request.hpp>

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

void feed(std::string_view bytes, resp::response_adapter& adapter) {
  resp::parser p;
  resp::attribute_filter attributes;
  adapter.on_start();
  while (!bytes.empty()) {
    std::error_code ec;
    const auto n = p.consume(bytes, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(n);
    bytes.remove_prefix(p.consumed());
    if (attributes.keep(*n)) adapter.on_node(0, *n);
  }
}

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
  feed(resp3_reply(streams[0], first), reply);
  check_same(reply.entries(), first);

  // Handled: handed back, as the consumer's workers do.
  for (auto& e : reply.entries()) spare.push_back(std::move(e));
  REQUIRE(spare.size() == 2);

  // Fewer fields, a deleted entry, then more entries than there are spares.
  const std::vector<read_entry> second{
      {0, "1-1", {"v", "1"}, false},
      {0, "1-2", {}, true},
      {0, "1764657241235-0", {"v", "1", "envelope", std::string(40, 'z')}, false}};
  feed(resp3_reply(streams[0], second), reply);
  CHECK(spare.empty());
  check_same(reply.entries(), second);
}

TEST_CASE("stream_read_reply: entries of streams not asked for are dropped, errors kept") {
  const std::vector<std::string> streams{"a"};
  stream_read_reply reply(streams);
  feed("%2\r\n$1\r\nb\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
       "$1\r\na\r\n*1\r\n*2\r\n$3\r\n1-2\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n",
       reply);
  REQUIRE(reply.entries().size() == 1);
  CHECK(reply.entries()[0].id == "1-2");
  CHECK(reply.entries()[0].fields == std::vector<std::string>{"g", "w"});

  feed("-NOGROUP No such key 'a' or consumer group 'g'\r\n", reply);
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
        "*6\r\n$4\r\nXACK\r\n$1\r\ns\r\n$1\r\ng\r\n$16\r\n1764657241234-17\r\n$3\r\n1-0\r\n$0\r\n\r\n");

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

// Tests of lib/redis/request_queue.cpp: the request half of a connection stepped without a
// socket or an io_context. Replies are real RESP bytes run through resp::parser the way the
// connection's reader does, whole, split at every offset and byte by byte.

#include "redis/request_queue.hpp"

#include <streamq/resp/parser.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>  // doctest prints std::error_code with it
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace resp = streamq::resp;
namespace redis = streamq::redis;
using redis::detail::op_fifo;
using redis::detail::op_id;
using redis::detail::request_queue;
using kind = request_queue::reply_event::kind;
using effect = request_queue::cancel_effect;
using stage = request_queue::stage;

constexpr std::size_t no_limit = 1024 * 1024;

resp::request command(std::string_view name, std::string_view arg) {
  resp::request r;
  r.push(name, arg);
  return r;
}

// The reader's side: bytes in, every complete node to the queue, events out. Nodes view the
// buffer, so bytes are dropped only after the queue has seen them.
struct wire {
  resp::parser parser;
  resp::attribute_filter attributes;
  std::string buffer;
  std::vector<resp::value> pushes;

  // Events other than `consumed`, as "completed:<id>", "discarded:<id>", "push",
  // "unexpected", separated by spaces.
  std::string feed(request_queue& q, std::string_view bytes) {
    buffer.append(bytes);
    std::string events;
    while (true) {
      std::error_code ec;
      const auto n = parser.consume(buffer, ec);
      REQUIRE_FALSE(ec);
      if (!n) break;
      const bool done = parser.done();
      if (attributes.keep(*n)) {
        const auto ev = q.on_node(*n, done);
        if (ev.what == kind::push) pushes.push_back(q.push_value());
        append(events, ev);
      }
      buffer.erase(0, parser.consumed());
    }
    return events;
  }

  // A new connection: the parser and whatever half-read bytes the old one left are gone.
  void reconnect(request_queue& q) {
    parser.reset();
    attributes = {};
    buffer.clear();
    q.reset_replies();
  }

  static void append(std::string& events, request_queue::reply_event ev) {
    std::string word;
    switch (ev.what) {
      case kind::consumed:
        return;
      case kind::push:
        word = "push";
        break;
      case kind::unexpected:
        word = "unexpected";
        break;
      case kind::completed:
        word = "completed:" + std::to_string(ev.id);
        break;
      case kind::discarded:
        word = "discarded:" + std::to_string(ev.id);
        break;
    }
    if (!events.empty()) events += ' ';
    events += word;
  }
};

// Feeds `bytes` in chunks ending at `cuts`; the events of all chunks, joined.
std::string feed_split(wire& w, request_queue& q, std::string_view bytes,
                       const std::vector<std::size_t>& cuts) {
  std::string events;
  std::size_t from = 0;
  auto chunk = [&](std::size_t to) {
    const std::string more = w.feed(q, bytes.substr(from, to - from));
    if (!more.empty() && !events.empty()) events += ' ';
    events += more;
    from = to;
  };
  for (const std::size_t cut : cuts) chunk(cut);
  chunk(bytes.size());
  return events;
}

// Whole, split once at every offset, and byte by byte.
std::vector<std::vector<std::size_t>> split_plans(std::size_t size) {
  std::vector<std::vector<std::size_t>> plans{{}};
  for (std::size_t cut = 1; cut < size; ++cut) plans.push_back({cut});
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < size; ++i) every_byte.push_back(i);
  plans.push_back(every_byte);
  return plans;
}

std::string id_word(const char* what, request_queue::ticket t) {
  return std::string(what) + ":" + std::to_string(t.id);
}

// Collects what fail_unwritten / fail_written / write_done report.
struct completions {
  std::vector<request_queue::completion> seen;
  auto sink() {
    return [this](const request_queue::completion& c) { seen.push_back(c); };
  }
  std::vector<op_id> ids() const {
    std::vector<op_id> out;
    for (const auto& c : seen) out.push_back(c.id);
    return out;
  }
  bool all(redis::error_code ec) const {
    for (const auto& c : seen)
      if (c.ec != ec) return false;
    return true;
  }
};

}  // namespace

TEST_CASE("request_queue: refuses empty, mismatched and blocking requests") {
  resp::request empty;
  resp::request get = command("GET", "k");
  resp::request blpop;
  blpop.push("BLPOP", "k", 0);
  resp::ignore_response any;
  resp::response<std::string, std::string> two;

  CHECK(request_queue::refusal(empty, any, false) == redis::client_errc::empty_request);
  CHECK(request_queue::refusal(get, two, false) == redis::client_errc::response_size_mismatch);
  CHECK(request_queue::refusal(blpop, any, false) ==
        redis::client_errc::blocking_command_on_shared_connection);
  CHECK_FALSE(request_queue::refusal(blpop, any, true));
  CHECK_FALSE(request_queue::refusal(get, any, false));
}

TEST_CASE("request_queue: admission limit, waiting room, internal requests skip it") {
  request_queue q(2, no_limit);
  const auto get = command("GET", "k");
  resp::ignore_response r0, r1, r2, r3;

  const auto a = q.push(get, r0, false);
  const auto b = q.push(get, r1, false);
  const auto c = q.push(get, r2, false);
  CHECK(q.stage_of(a) == stage::queued);
  CHECK(q.stage_of(b) == stage::queued);
  CHECK(q.stage_of(c) == stage::waiting_room);
  CHECK(q.admitted() == 2);
  CHECK(q.waiting() == 1);

  const auto ping = q.push(get, r3, true);  // the health check is never held back
  CHECK(q.stage_of(ping) == stage::queued);
  CHECK(q.admitted() == 3);
  CHECK(q.peak_admitted() == 3);

  // The write takes the admitted requests only.
  CHECK(q.prepare_write() ==
        std::string(get.payload()) + std::string(get.payload()) + std::string(get.payload()));
  CHECK(q.stage_of(c) == stage::waiting_room);

  wire w;
  CHECK(w.feed(q, "+a\r\n") == id_word("completed", a));
  CHECK(q.stage_of(c) == stage::waiting_room);  // 2 admitted: still at the limit
  CHECK(w.feed(q, "+b\r\n") == id_word("completed", b));
  CHECK(q.stage_of(c) == stage::queued);  // a slot freed
  CHECK(q.waiting() == 0);
  CHECK(q.has_queued());
  CHECK(q.admitted() == 2);
  CHECK(q.peak_admitted() == 3);
}

TEST_CASE("request_queue: coalesces queued requests into one write, up to max_write_bytes") {
  const auto first = command("SET", "a");
  const auto second = command("GET", "bb");
  const auto third = command("GET", "ccc");
  resp::ignore_response r0, r1, r2;
  const std::string all =
      std::string(first.payload()) + std::string(second.payload()) + std::string(third.payload());

  SUBCASE("all in one write, in order") {
    request_queue q(16, no_limit);
    const auto a = q.push(first, r0, false);
    const auto b = q.push(second, r1, false);
    const auto c = q.push(third, r2, false);
    CHECK(q.prepare_write() == all);
    CHECK(q.stage_of(a) == stage::written);
    CHECK(q.stage_of(b) == stage::written);
    CHECK(q.stage_of(c) == stage::written);
    CHECK_FALSE(q.has_queued());
    CHECK(q.prepare_write().empty());
  }
  SUBCASE("a write stops once it reaches the limit, and always takes one request") {
    request_queue q(16, first.payload().size() + 1);
    q.push(first, r0, false);
    q.push(second, r1, false);
    const auto c = q.push(third, r2, false);
    CHECK(q.prepare_write() == std::string(first.payload()) + std::string(second.payload()));
    CHECK(q.stage_of(c) == stage::queued);
    CHECK(q.prepare_write() == third.payload());

    request_queue tiny(16, 1);
    tiny.push(first, r0, false);
    tiny.push(second, r1, false);
    CHECK(tiny.prepare_write() == first.payload());
    CHECK(tiny.prepare_write() == second.payload());
    CHECK(tiny.prepare_write().empty());
  }
}

TEST_CASE("request_queue: replies go to their requests in order, split at every byte") {
  resp::request get = command("GET", "k");
  resp::request two;
  two.push("INCR", "n");
  two.push("GET", "k");
  resp::request lrange;
  lrange.push("LRANGE", "l", 0, -1);
  // An attribute before a reply is dropped, not counted as one.
  const std::string replies =
      "$3\r\nfoo\r\n"
      ":5\r\n|1\r\n+ttl\r\n:3\r\n+OK\r\n"
      "*2\r\n$1\r\na\r\n*1\r\n:7\r\n";

  for (const auto& cuts : split_plans(replies.size())) {
    INFO("chunks: " << cuts.size() + 1 << ", first cut at "
                    << (cuts.empty() ? std::size_t{0} : cuts.front()));
    request_queue q(16, no_limit);
    resp::response<std::string> r0;
    resp::response<std::int64_t, std::string> r1;
    resp::generic_response r2;
    const auto a = q.push(get, r0, false);
    const auto b = q.push(two, r1, false);
    const auto c = q.push(lrange, r2, false);
    REQUIRE_FALSE(q.prepare_write().empty());

    wire w;
    CHECK(feed_split(w, q, replies, cuts) ==
          id_word("completed", a) + " " + id_word("completed", b) + " " + id_word("completed", c));
    CHECK(r0.get<0>().value() == "foo");
    CHECK(r1.get<0>().value() == 5);
    CHECK(r1.get<1>().value() == "OK");
    REQUIRE(r2.values().size() == 1);
    CHECK(resp::to_string(r2.values()[0]) == "[\"a\", [(integer) 7]]");
    CHECK(q.admitted() == 0);
    CHECK(w.buffer.empty());
  }
}

TEST_CASE("request_queue: requests expecting no reply complete once written") {
  request_queue q(16, no_limit);
  const auto get = command("GET", "k");
  const auto subscribe = command("SUBSCRIBE", "ch");  // RESP3: answered by pushes only
  REQUIRE(subscribe.reply_count() == 0);
  resp::response<std::string> r0, r2;
  resp::ignore_response r1;

  const auto a = q.push(get, r0, false);
  const auto s = q.push(subscribe, r1, false);
  const auto b = q.push(get, r2, false);
  REQUIRE_FALSE(q.prepare_write().empty());
  CHECK(q.admitted() == 3);

  completions done;
  q.write_done(done.sink());
  CHECK(done.ids() == std::vector<op_id>{s.id});
  CHECK(done.all({}));
  CHECK(q.admitted() == 2);
  CHECK_FALSE(q.stage_of(s));

  // The subscription's confirmation is a push; the GET replies still match.
  wire w;
  CHECK(w.feed(q, ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n$1\r\nx\r\n$1\r\ny\r\n") ==
        "push " + id_word("completed", a) + " " + id_word("completed", b));
  CHECK(r0.get<0>().value() == "x");
  CHECK(r2.get<0>().value() == "y");

  // A write with no reply-less request completes nothing when it is done.
  done.seen.clear();
  q.push(get, r0, false);
  REQUIRE_FALSE(q.prepare_write().empty());
  q.write_done(done.sink());
  CHECK(done.seen.empty());
}

TEST_CASE("request_queue: pushes interleaved with replies, split at every byte") {
  const auto get = command("GET", "k");
  const std::string push = ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
  // Before any reply, between two replies, and between the two replies of one request.
  const std::string bytes = push + "$1\r\nx\r\n" + push + ":1\r\n" + push + "$1\r\nz\r\n";
  resp::request two;
  two.push("INCR", "n");
  two.push("GET", "k");

  for (const auto& cuts : split_plans(bytes.size())) {
    request_queue q(16, no_limit);
    resp::response<std::string> r0;
    resp::response<std::int64_t, std::string> r1;
    const auto a = q.push(get, r0, false);
    const auto b = q.push(two, r1, false);
    REQUIRE_FALSE(q.prepare_write().empty());

    wire w;
    CHECK(feed_split(w, q, bytes, cuts) ==
          "push " + id_word("completed", a) + " push push " + id_word("completed", b));
    CHECK(r0.get<0>().value() == "x");
    CHECK(r1.get<0>().value() == 1);
    CHECK(r1.get<1>().value() == "z");
    REQUIRE(w.pushes.size() == 3);
    for (const auto& p : w.pushes) CHECK(resp::to_string(p) == "[\"message\", \"ch\", \"hi\"]");
  }
}

TEST_CASE("request_queue: a push with nothing written is no stray reply, a reply is") {
  request_queue q(16, no_limit);
  wire w;
  CHECK(w.feed(q, ">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n") == "push");
  CHECK(w.feed(q, "+OK\r\n") == "unexpected");
}

TEST_CASE("request_queue: server error replies are data, not failures") {
  request_queue q(16, no_limit);
  const auto get = command("GET", "k");
  resp::request two;
  two.push("XGROUP", "CREATE");
  two.push("GET", "k");
  resp::response<std::string> r0;
  resp::response<std::string, std::string> r1;
  const auto a = q.push(get, r0, false);
  const auto b = q.push(two, r1, false);
  REQUIRE_FALSE(q.prepare_write().empty());

  wire w;
  CHECK(w.feed(q,
               "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
               "!30\r\nBUSYGROUP Group already exists\r\n$2\r\nok\r\n") ==
        id_word("completed", a) + " " + id_word("completed", b));
  CHECK(r0.get<0>().error() == resp::server_errc::wrongtype);
  CHECK(r1.get<0>().error() == resp::server_errc::busygroup);
  CHECK(r1.get<0>().diagnostic() == "BUSYGROUP Group already exists");
  CHECK(r1.get<1>().value() == "ok");
}

TEST_CASE("request_queue: cancellation at each stage") {
  const auto get = command("GET", "k");
  const auto other = command("GET", "other");
  resp::response<std::string> r0, r1, r2;

  SUBCASE("waiting room: withdrawn by any type, never admitted, never written") {
    request_queue q(1, no_limit);
    const auto a = q.push(get, r0, false);
    const auto b = q.push(other, r1, false);
    REQUIRE(q.stage_of(b) == stage::waiting_room);
    CHECK(q.cancel(b, false) == effect::withdrawn);
    CHECK_FALSE(q.stage_of(b));
    CHECK(q.cancel(b, true) == effect::none);  // once only
    CHECK(q.prepare_write() == get.payload());
    wire w;
    CHECK(w.feed(q, "$1\r\nx\r\n") == id_word("completed", a));
    CHECK(q.waiting() == 0);  // the tombstone left the room without taking the slot
    CHECK(q.admitted() == 0);
    CHECK_FALSE(q.has_queued());
    CHECK(q.prepare_write().empty());
  }
  SUBCASE("queued: withdrawn by any type, skipped by the write") {
    request_queue q(16, no_limit);
    const auto a = q.push(get, r0, false);
    const auto b = q.push(other, r1, false);
    CHECK(q.cancel(a, false) == effect::withdrawn);
    CHECK(q.admitted() == 2);  // its slot is given back when the queue reaches it
    CHECK(q.prepare_write() == other.payload());
    CHECK(q.admitted() == 1);
    wire w;
    CHECK(w.feed(q, "$1\r\ny\r\n") == id_word("completed", b));
    CHECK(r1.get<0>().value() == "y");
  }
  SUBCASE("queued: a withdrawal lets a waiting request in when the write skips it") {
    request_queue q(1, no_limit);
    const auto a = q.push(get, r0, false);
    const auto b = q.push(other, r1, false);
    CHECK(q.cancel(a, true) == effect::withdrawn);
    CHECK(q.prepare_write() == other.payload());  // admitted on the way, in the same write
    CHECK(q.stage_of(b) == stage::written);
  }
  SUBCASE("written: kept on non-terminal cancellation, abandoned on terminal") {
    request_queue q(16, no_limit);
    const auto a = q.push(get, r0, false);
    const auto b = q.push(other, r1, false);
    REQUIRE_FALSE(q.prepare_write().empty());
    CHECK(q.cancel(a, false) == effect::none);
    CHECK(q.stage_of(a) == stage::written);
    CHECK(q.cancel(a, true) == effect::abandoned);
    CHECK(q.cancel(a, true) == effect::none);
    CHECK_FALSE(q.stage_of(a));
    // Its reply is still read, dropped without reaching the adapter; the next one matches.
    wire w;
    CHECK(w.feed(q, "$3\r\nold\r\n$1\r\ny\r\n") ==
          id_word("discarded", a) + " " + id_word("completed", b));
    CHECK(r0.get<0>().value().empty());  // "old" never reached it
  }
  SUBCASE("written, expecting no reply: abandoned, not completed by the write") {
    request_queue q(16, no_limit);
    const auto subscribe = command("SUBSCRIBE", "ch");
    resp::ignore_response ignored;
    const auto s = q.push(subscribe, ignored, false);
    REQUIRE_FALSE(q.prepare_write().empty());
    CHECK(q.cancel(s, true) == effect::abandoned);
    completions done;
    q.write_done(done.sink());
    CHECK(done.seen.empty());
    CHECK(q.admitted() == 0);
  }
}

TEST_CASE("request_queue: connection loss with requests at every stage") {
  const auto get = command("GET", "k");
  const auto subscribe = command("SUBSCRIBE", "ch");
  resp::response<std::string> r0, r1, r2, r3, r4, r5;
  resp::ignore_response rs;
  request_queue q(4, no_limit);
  const auto written = q.push(get, r0, false);
  const auto abandoned = q.push(get, r1, false);
  const auto unanswered = q.push(subscribe, rs, false);
  REQUIRE_FALSE(q.prepare_write().empty());
  REQUIRE(q.cancel(abandoned, true) == effect::abandoned);
  const auto queued = q.push(get, r2, false);
  const auto waiting = q.push(get, r3, false);
  const auto withdrawn = q.push(get, r4, false);
  REQUIRE(q.stage_of(waiting) == stage::waiting_room);
  REQUIRE(q.cancel(withdrawn, false) == effect::withdrawn);

  // Half of the first reply had arrived when the connection went.
  wire w;
  CHECK(w.feed(q, "*2\r\n$4\r\nhalf\r\n$3\r\nre").empty());

  // The session ends: written requests fail (they may have run), abandoned ones were
  // completed already; unwritten ones stay for the next connection.
  completions lost;
  q.fail_written(redis::client_errc::outcome_unknown, lost.sink());
  CHECK(lost.ids() == std::vector<op_id>{written.id, unanswered.id});
  CHECK(lost.all(redis::client_errc::outcome_unknown));
  CHECK(q.admitted() == 1);
  CHECK(q.stage_of(queued) == stage::queued);
  CHECK(q.stage_of(waiting) == stage::waiting_room);  // failing admits nobody

  SUBCASE("kept: the next session writes them and matches their replies afresh") {
    w.reconnect(q);
    CHECK(q.prepare_write() == get.payload());
    CHECK(w.feed(q, ">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n$1\r\nq\r\n") ==
          "push " + id_word("completed", queued));
    CHECK(q.stage_of(waiting) == stage::queued);
    CHECK(q.prepare_write() == get.payload());
    CHECK(w.feed(q, "$1\r\nw\r\n") == id_word("completed", waiting));
    CHECK(r2.get<0>().value() == "q");
    CHECK(r3.get<0>().value() == "w");
  }
  SUBCASE("failed: the waiting room first, then the queue; withdrawn ones are not reported") {
    completions failed;
    q.fail_unwritten(redis::client_errc::not_connected, failed.sink());
    CHECK(failed.ids() == std::vector<op_id>{waiting.id, queued.id});
    CHECK(failed.all(redis::client_errc::not_connected));
    CHECK(q.admitted() == 0);
    CHECK(q.waiting() == 0);
    CHECK(q.prepare_write().empty());
  }
}

TEST_CASE("request_queue: a push cut off by a connection loss is forgotten") {
  request_queue q(16, no_limit);
  const auto get = command("GET", "k");
  resp::response<std::string> r0;
  wire w;
  CHECK(w.feed(q, ">3\r\n$7\r\nmessage\r\n$2\r\nc").empty());
  w.reconnect(q);
  const auto a = q.push(get, r0, false);
  REQUIRE_FALSE(q.prepare_write().empty());
  CHECK(w.feed(q, "$1\r\nx\r\n>2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n") ==
        id_word("completed", a) + " push");
  CHECK(r0.get<0>().value() == "x");
  REQUIRE(w.pushes.size() == 1);
  CHECK(resp::to_string(w.pushes[0]) == "[\"message\", \"hi\"]");
}

TEST_CASE("request_queue: pooled ops are reused, a stale ticket cancels nothing") {
  request_queue q(16, no_limit);
  const auto get = command("GET", "k");
  resp::response<std::string> r0, r1;
  wire w;

  CHECK(q.cancel(request_queue::ticket{}, true) == effect::none);  // refused before an op
  const auto first = q.push(get, r0, false);
  REQUIRE_FALSE(q.prepare_write().empty());
  CHECK(w.feed(q, "$1\r\na\r\n") == id_word("completed", first));

  const auto second = q.push(get, r1, false);
  CHECK(second.id == first.id);
  CHECK(second.generation != first.generation);
  CHECK(q.cancel(first, true) == effect::none);
  CHECK_FALSE(q.stage_of(first));
  CHECK(q.stage_of(second) == stage::queued);

  // A warm queue does not grow: the pool stays at what the deepest pipeline needed.
  REQUIRE_FALSE(q.prepare_write().empty());
  CHECK(w.feed(q, "$1\r\nb\r\n") == id_word("completed", second));
  for (int round = 0; round < 1000; ++round) {
    const auto c = q.push(get, r0, false);
    const auto d = q.push(get, r1, false);
    REQUIRE_FALSE(q.prepare_write().empty());
    REQUIRE(w.feed(q, "$1\r\nc\r\n$1\r\nd\r\n") ==
            id_word("completed", c) + " " + id_word("completed", d));
  }
  CHECK(q.pool_size() == 2);
  CHECK(q.admitted() == 0);
}

TEST_CASE("op_fifo: first in, first out across wrap-around and growth") {
  op_fifo fifo;
  op_id next_in = 0, next_out = 0;
  // Fill and drain unevenly so the head wraps while the ring grows.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round % 7 + 3; ++i) fifo.push_back(next_in++);
    for (int i = 0; i < round % 5 + 1 && !fifo.empty(); ++i) {
      REQUIRE(fifo.front() == next_out++);
      fifo.pop_front();
    }
  }
  CHECK(fifo.size() == next_in - next_out);
  while (!fifo.empty()) {
    REQUIRE(fifo.front() == next_out++);
    fifo.pop_front();
  }
  CHECK(next_out == next_in);
}

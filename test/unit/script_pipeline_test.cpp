// Tests of script_pipeline (lib/streams/commands/script.hpp), the rule behind
// exec_script_pipeline, with no server: which calls each round trip sends and how, which reply
// each call keeps, and the trailer's replies per round trip. Replies are fed as Redis sends
// them, whole, at every split point and byte by byte (request_harness.hpp). Its runner against
// a real server, SCRIPT FLUSH between two calls of one pipeline included, is
// test/integration/script_pipeline_test.cpp.
#include "request_harness.hpp"
#include "streams/commands/script.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace resp = streamq::resp;
using streamq::streams::detail::script_pipeline;
using namespace request_harness;

namespace {

using calls = std::vector<std::size_t>;

calls next_of(const script_pipeline& p) {
  return {p.next_calls().begin(), p.next_calls().end()};
}

std::vector<resp::value> copy(std::span<const resp::value> replies) {
  return {replies.begin(), replies.end()};
}

resp::value integer(const char* n) {
  return {resp::type::integer, n, {}};
}
resp::value text(const char* s) {
  return {resp::type::blob_string, s, {}};
}

}  // namespace

TEST_CASE("script_pipeline: every call answered in one round trip - the trailer kept") {
  // XADD, a keyed publish (script), XADD, then WAIT.
  replies_everywhere("$3\r\n1-0\r\n*2\r\n:1\r\n$3\r\n1-1\r\n$3\r\n1-2\r\n:1\r\n", 4,
                     [&](std::span<const resp::value> replies) {
                       script_pipeline p(3, 1);
                       CHECK(next_of(p) == calls{0, 1, 2});
                       CHECK_FALSE(p.by_source());
                       CHECK_FALSE(p.done());
                       REQUIRE(p.on_replies(copy(replies)));
                       CHECK(p.done());
                       CHECK(p.next_calls().empty());
                       CHECK(p.rounds() == 1);
                       for (std::size_t i = 0; i < 3; ++i) CHECK(p.answered_in(i) == 1);
                       CHECK(p.reply(0) == text("1-0"));
                       CHECK(p.reply(2) == text("1-2"));
                       REQUIRE(p.trailer(1).size() == 1);
                       CHECK(p.trailer(1)[0] == integer("1"));
                       CHECK(p.trailer(2).empty());
                       CHECK(p.trailer(0).empty());
                     });
}

TEST_CASE("script_pipeline: only the calls answered NOSCRIPT go again, by source") {
  // Round 1: a script call that ran, one refused NOSCRIPT, a plain command, another NOSCRIPT
  // (RESP3's blob error), and a script call refused otherwise (OOM): it ran, and stands.
  const std::string round1 =
      "*3\r\n:2\r\n:-1\r\n:5\r\n" + std::string(noscript) +
      "$3\r\n7-0\r\n!45\r\nNOSCRIPT No matching script. Please use EVAL.\r\n" + std::string(oom) +
      ":0\r\n";
  // Round 2: the two sent again, then the trailer again.
  const std::string round2 = "*3\r\n:1\r\n:-1\r\n:6\r\n*3\r\n:0\r\n:-1\r\n:6\r\n:1\r\n";
  std::vector<resp::value> second;
  replies_everywhere(round2, 3, [&](std::span<const resp::value> r) { second = copy(r); });
  replies_everywhere(round1, 6, [&](std::span<const resp::value> first) {
    script_pipeline p(5, 1);
    REQUIRE(p.on_replies(copy(first)));
    CHECK_FALSE(p.done());
    CHECK(p.by_source());
    CHECK(next_of(p) == calls{1, 3});
    CHECK(p.rounds() == 1);
    CHECK(p.answered_in(0) == 1);
    CHECK(p.answered_in(1) == 0);  // waits for its second round trip
    CHECK(p.answered_in(2) == 1);
    CHECK(p.answered_in(3) == 0);
    CHECK(p.answered_in(4) == 1);
    CHECK(p.reply(4).is_error());
    CHECK(resp::classify_server_error(p.reply(4).text) == resp::server_errc::oom);
    REQUIRE(p.on_replies(copy(second)));
    CHECK(p.done());
    CHECK(p.rounds() == 2);
    CHECK(p.answered_in(1) == 2);
    CHECK(p.answered_in(3) == 2);
    CHECK(p.reply(1).elements.at(0) == integer("1"));
    CHECK(p.reply(3).elements.at(0) == integer("0"));
    CHECK(p.reply(2) == text("7-0"));
    // Each round trip's WAIT: the first counted before the second round trip's writes.
    CHECK(p.trailer(1)[0] == integer("0"));
    CHECK(p.trailer(2)[0] == integer("1"));
    CHECK_FALSE(p.on_replies(copy(second)));  // done: nothing more is taken
  });
}

TEST_CASE("script_pipeline: a NOSCRIPT to a call sent by source stands - no third round trip") {
  replies_everywhere(noscript, 1, [&](std::span<const resp::value> replies) {
    script_pipeline p(1);
    REQUIRE(p.on_replies(copy(replies)));
    CHECK(next_of(p) == calls{0});
    REQUIRE(p.on_replies(copy(replies)));
    CHECK(p.done());
    CHECK(p.answered_in(0) == 2);
    CHECK(p.reply(0).is_error());
  });
}

TEST_CASE("script_pipeline: replies that do not match the calls sent end it, unanswered") {
  replies_everywhere("$3\r\n1-0\r\n:1\r\n", 2, [&](std::span<const resp::value> replies) {
    script_pipeline p(2, 1);  // three replies due
    CHECK_FALSE(p.on_replies(copy(replies)));
    CHECK(p.done());
    CHECK(p.rounds() == 0);
    CHECK(p.answered_in(0) == 0);
    CHECK(p.answered_in(1) == 0);
    CHECK(p.trailer(1).empty());
  });
  script_pipeline none(0);
  CHECK(none.done());  // nothing to send
  CHECK_FALSE(none.on_replies({}));
}

// Tests of lib/resp/parser.cpp on well-formed input (and the attribute_filter / value_builder
// it feeds); malformed input and limits are in parser_errors_test.cpp. Every fixture is parsed
// whole, split at every byte offset, and one byte at a time; the node sequence (type, size,
// depth, payload, done) must be identical in all of them.

#include "parser_harness.hpp"

#include <streamq/resp/parser.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace std::string_view_literals;
using parser_harness::describe;
using parser_harness::outcome;
using parser_harness::parse_everywhere;
namespace resp = streamq::resp;

namespace {

struct fixture {
  const char* name;
  std::string_view bytes;
  const char* nodes;
};

const fixture fixtures[] = {
    // RESP2 leaves
    {"simple string", "+OK\r\n", "simple_string@0=OK!"},
    {"empty simple string", "+\r\n", "simple_string@0=!"},
    {"simple error", "-ERR unknown command 'foo'\r\n", "simple_error@0=ERR unknown command 'foo'!"},
    {"integer zero", ":0\r\n", "integer@0=0!"},
    {"negative integer", ":-42\r\n", "integer@0=-42!"},
    {"int64 max", ":9223372036854775807\r\n", "integer@0=9223372036854775807!"},
    {"int64 min", ":-9223372036854775808\r\n", "integer@0=-9223372036854775808!"},
    {"integer with plus sign", ":+7\r\n", "integer@0=+7!"},
    {"blob string", "$5\r\nhello\r\n", "blob_string@0=hello!"},
    {"empty blob string", "$0\r\n\r\n", "blob_string@0=!"},
    {"blob length with leading zeros", "$003\r\nabc\r\n", "blob_string@0=abc!"},
    {"binary blob with CRLF inside", "$8\r\n\r\n\0\xff\r\n\r\n\r\n"sv,
     "blob_string@0=\\r\\n\\x00\\xff\\r\\n\\r\\n!"},
    {"blob looking like RESP", "$10\r\n*1\r\n:1\r\n\r\n\r\n",
     "blob_string@0=*1\\r\\n:1\\r\\n\\r\\n!"},
    {"RESP2 null bulk", "$-1\r\n", "null@0!"},
    {"RESP2 null array", "*-1\r\n", "null@0!"},
    // RESP3 leaves
    {"blob error", "!21\r\nSYNTAX invalid syntax\r\n", "blob_error@0=SYNTAX invalid syntax!"},
    {"double", ",3.14\r\n", "double@0=3.14!"},
    {"double integral", ",10\r\n", "double@0=10!"},
    {"double exponent", ",-1.5e-10\r\n", "double@0=-1.5e-10!"},
    {"double upper exponent", ",2E+300\r\n", "double@0=2E+300!"},
    {"double overflowing", ",1e999\r\n", "double@0=1e999!"},
    {"double plus sign", ",+1.5\r\n", "double@0=+1.5!"},
    {"double inf", ",inf\r\n", "double@0=inf!"},
    {"double -inf", ",-inf\r\n", "double@0=-inf!"},
    {"double nan", ",nan\r\n", "double@0=nan!"},
    // every spelling from_chars reads stays accepted, however it is split
    {"double -nan (glibc's %g)", ",-nan\r\n", "double@0=-nan!"},
    {"double upper-case inf", ",INF\r\n", "double@0=INF!"},
    {"double infinity", ",-Infinity\r\n", "double@0=-Infinity!"},
    {"double nan with payload", ",nan(1a_)\r\n", "double@0=nan(1a_)!"},
    {"double leading dot", ",.5\r\n", "double@0=.5!"},
    {"double trailing dot", ",5.\r\n", "double@0=5.!"},
    {"double exponent without sign", ",1e5\r\n", "double@0=1e5!"},
    {"true", "#t\r\n", "boolean@0=t!"},
    {"false", "#f\r\n", "boolean@0=f!"},
    {"big number", "(3492890328409238509324850943850943825024385\r\n",
     "big_number@0=3492890328409238509324850943850943825024385!"},
    {"negative big number", "(-12345678901234567890123\r\n",
     "big_number@0=-12345678901234567890123!"},
    {"verbatim string", "=15\r\ntxt:Some string\r\n", "verbatim_string@0=Some string!"},
    {"empty verbatim string", "=4\r\nmkd:\r\n", "verbatim_string@0=!"},
    {"verbatim with CRLF", "=10\r\ntxt:a\r\nb\r\n\r\n", "verbatim_string@0=a\\r\\nb\\r\\n!"},
    {"null", "_\r\n", "null@0!"},
    // aggregates
    {"array", "*3\r\n:1\r\n:2\r\n:3\r\n", "array[3]@0 integer@1=1 integer@1=2 integer@1=3!"},
    {"array with nulls", "*3\r\n$3\r\nfoo\r\n$-1\r\n$3\r\nbar\r\n",
     "array[3]@0 blob_string@1=foo null@1 blob_string@1=bar!"},
    {"nested arrays", "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
     "array[2]@0 array[3]@1 integer@2=1 integer@2=2 integer@2=3 array[2]@1 "
     "simple_string@2=Hello simple_error@2=World!"},
    {"deep last element", "*1\r\n*1\r\n*1\r\n:7\r\n",
     "array[1]@0 array[1]@1 array[1]@2 integer@3=7!"},
    {"map", "%2\r\n+first\r\n:1\r\n+second\r\n*1\r\n#f\r\n",
     "map[2]@0 simple_string@1=first integer@1=1 simple_string@1=second array[1]@1 "
     "boolean@2=f!"},
    {"set", "~3\r\n+a\r\n,1.5\r\n_\r\n", "set[3]@0 simple_string@1=a double@1=1.5 null@1!"},
    {"push", ">3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n",
     "push[3]@0 blob_string@1=message blob_string@1=chan blob_string@1=hello!"},
    {"empty array", "*0\r\n", "array[0]@0!"},
    {"empty map", "%0\r\n", "map[0]@0!"},
    {"empty set", "~0\r\n", "set[0]@0!"},
    {"empty push", ">0\r\n", "push[0]@0!"},
    {"empty aggregates nested", "*3\r\n*0\r\n%0\r\n~0\r\n",
     "array[3]@0 array[0]@1 map[0]@1 set[0]@1!"},
    // attributes never count as elements; done() only after the value they annotate
    {"top-level attribute",
     "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
     "*2\r\n:2039123\r\n:9543892\r\n",
     "attribute[1]@0 simple_string@1=key-popularity map[2]@1 blob_string@2=a double@2=0.1923 "
     "blob_string@2=b double@2=0.0012 array[2]@0 integer@1=2039123 integer@1=9543892!"},
    {"attribute inside array", "*3\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n:3\r\n",
     "array[3]@0 integer@1=1 attribute[1]@1 simple_string@2=ttl integer@2=3600 integer@1=2 "
     "integer@1=3!"},
    {"attribute before last element", "*1\r\n|1\r\n+a\r\n+b\r\n+v\r\n",
     "array[1]@0 attribute[1]@1 simple_string@2=a simple_string@2=b simple_string@1=v!"},
    {"attribute inside map", "%1\r\n+k\r\n|1\r\n+x\r\n+y\r\n:1\r\n",
     "map[1]@0 simple_string@1=k attribute[1]@1 simple_string@2=x simple_string@2=y "
     "integer@1=1!"},
    {"empty attribute", "|0\r\n+OK\r\n", "attribute[0]@0 simple_string@0=OK!"},
    {"attribute on an attribute", "|1\r\n+a\r\n|1\r\n+b\r\n+c\r\n+d\r\n+v\r\n",
     "attribute[1]@0 simple_string@1=a attribute[1]@1 simple_string@2=b simple_string@2=c "
     "simple_string@1=d simple_string@0=v!"},
    {"attribute before push", "|1\r\n+k\r\n+v\r\n>1\r\n+p\r\n",
     "attribute[1]@0 simple_string@1=k simple_string@1=v push[1]@0 simple_string@1=p!"},
    // streams of replies
    {"replies back to back", "+OK\r\n:1\r\n*1\r\n$1\r\nx\r\n_\r\n$-1\r\n",
     "simple_string@0=OK! integer@0=1! array[1]@0 blob_string@1=x! null@0! null@0!"},
    {"push between replies", ":1\r\n>2\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n:2\r\n",
     "integer@0=1! push[2]@0 simple_string@1=invalidate array[1]@1 blob_string@2=k! "
     "integer@0=2!"},
};

}  // namespace

TEST_CASE("parser: every fixture parses identically at every split point") {
  for (const auto& f : fixtures) {
    INFO("fixture: " << std::string(f.name));
    const outcome whole = parse_everywhere(f.bytes, f.nodes);
    CHECK(whole.need_more == 1);  // only once every byte is consumed
  }
}

TEST_CASE("parser: all fixtures concatenated parse as one stream at every split point") {
  std::string all, expected;
  for (const auto& f : fixtures) {
    all += f.bytes;
    if (!expected.empty()) expected += ' ';
    expected += f.nodes;
  }
  parse_everywhere(all, expected);
}

TEST_CASE("parser: need-more consumes nothing and reports a useful bytes_needed") {
  resp::parser p;
  std::error_code ec;
  CHECK_FALSE(p.consume("", ec));
  CHECK_FALSE(ec);
  CHECK(p.bytes_needed() >= 1);
  CHECK_FALSE(p.consume("$100\r\nabc", ec));
  CHECK_FALSE(ec);
  CHECK(p.consumed() == 0);
  CHECK(p.bytes_needed() == 6 + 100 + 2);  // header, body, CRLF
  const std::string full = "$100\r\n" + std::string(100, 'x') + "\r\n";
  const auto n = p.consume(full, ec);
  REQUIRE(n);
  CHECK(n->value.size() == 100);
  CHECK(p.consumed() == full.size());
  CHECK(p.done());
}

TEST_CASE("parser: views point into the buffer given") {
  resp::parser p;
  std::error_code ec;
  const std::string buf = "*2\r\n$3\r\nabc\r\n+de\r\n";
  auto n = p.consume(buf, ec);
  REQUIRE(n);
  std::size_t offset = p.consumed();
  n = p.consume(std::string_view(buf).substr(offset), ec);
  REQUIRE(n);
  CHECK(n->value.data() == buf.data() + offset + 4);
  offset += p.consumed();
  n = p.consume(std::string_view(buf).substr(offset), ec);
  REQUIRE(n);
  CHECK(n->value.data() == buf.data() + offset + 1);
  CHECK(p.done());
}

TEST_CASE("parser: reset() forgets a half-parsed aggregate") {
  resp::parser p;
  std::error_code ec;
  REQUIRE(p.consume("*2\r\n", ec));
  REQUIRE(p.consume(":1\r\n", ec));
  CHECK_FALSE(p.done());
  p.reset();
  const auto n = p.consume(":5\r\n", ec);
  REQUIRE(n);
  CHECK(n->depth == 0);
  CHECK(p.done());
}

TEST_CASE("parser: a huge announced aggregate costs no memory up front") {
  std::error_code ec;
  resp::parser p;
  CHECK_FALSE(p.consume("*4294967295\r\n", ec));
  CHECK(ec == resp::parse_errc::aggregate_too_large);

  // 60 M elements is within the default limit: only received elements take memory.
  resp::parser q;
  resp::value_builder builder;
  const std::string_view stream = "*60000000\r\n:1\r\n%60000000\r\n";
  std::size_t offset = 0;
  for (int i = 0; i < 3; ++i) {
    const auto n = q.consume(stream.substr(offset), ec);
    REQUIRE(n);
    offset += q.consumed();
    CHECK_FALSE(builder.on_node(*n));
  }
  CHECK(builder.result().elements.size() == 2);
  CHECK(builder.result().elements.capacity() <= 64);
  CHECK(builder.result().elements[1].elements.capacity() <= 64);
}

TEST_CASE("attribute_filter drops attribute subtrees at any depth") {
  const std::string_view stream =
      "|1\r\n+a\r\n*1\r\n:1\r\n*3\r\n:1\r\n|1\r\n+ttl\r\n|1\r\n+x\r\n+y\r\n:3600\r\n:2\r\n|0\r\n:"
      "3\r\n";
  resp::parser p;
  resp::attribute_filter filter;
  std::string kept;
  std::size_t offset = 0;
  std::error_code ec;
  while (offset < stream.size()) {
    const auto n = p.consume(stream.substr(offset), ec);
    REQUIRE(n);
    offset += p.consumed();
    if (filter.keep(*n)) kept += describe(*n, p.done()) + " ";
  }
  CHECK(kept == "array[3]@0 integer@1=1 integer@1=2 integer@1=3! ");
}

TEST_CASE("value_builder completes exactly where done() is true, attributes skipped") {
  for (const auto& f : fixtures) {
    INFO("fixture: " << std::string(f.name));
    resp::parser p;
    resp::value_builder builder;
    std::size_t offset = 0;
    std::error_code ec;
    std::vector<std::string> values;
    while (offset < f.bytes.size()) {
      const auto n = p.consume(f.bytes.substr(offset), ec);
      REQUIRE(n);
      offset += p.consumed();
      const bool complete = builder.on_node(*n);
      CHECK(complete == p.done());
      if (complete) values.push_back(resp::to_string(builder.result()));
    }
    CHECK_FALSE(values.empty());
  }
  resp::parser p;
  resp::value_builder builder;
  std::error_code ec;
  std::string_view s = "|1\r\n+k\r\n+v\r\n*2\r\n:1\r\n%1\r\n+a\r\n#t\r\n";
  bool complete = false;
  while (!s.empty()) {
    const auto n = p.consume(s, ec);
    REQUIRE(n);
    s.remove_prefix(p.consumed());
    complete = builder.on_node(*n);
  }
  CHECK(complete);
  CHECK(resp::to_string(builder.result()) == "[(integer) 1, {\"a\": (true)}]");
}

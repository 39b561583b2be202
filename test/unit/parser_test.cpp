// Tests of lib/resp/parser.cpp (and the attribute_filter / value_builder it feeds).
// Every fixture is parsed whole, split at every byte offset, and one byte at a time; the node
// sequence (type, size, depth, payload, done) must be identical in all of them.

#include <streamq/resp/error.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <ostream>  // doctest prints std::error_code with it
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace std::string_view_literals;
namespace resp = streamq::resp;

namespace {

std::string escape(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\\')
      out += "\\\\";
    else if (u < 0x20 || u >= 0x7f)
      (out += "\\x") += std::string{hex[u >> 4], hex[u & 15]};
    else
      out += c;
  }
  return out;
}

// One node as text: "array[2]@0", "blob_string@1=foo", a trailing '!' when done() was true.
std::string describe(const resp::node& n, bool done) {
  std::string s(resp::to_string(n.data_type));
  if (resp::is_aggregate(n.data_type)) s += "[" + std::to_string(n.aggregate_size) + "]";
  s += "@" + std::to_string(n.depth);
  if (!resp::is_aggregate(n.data_type) && n.data_type != resp::type::null)
    s += "=" + escape(n.value);
  if (done) s += "!";
  return s;
}

struct outcome {
  std::string nodes;  // space-separated describe() of every node
  std::error_code ec;
  std::size_t need_more = 0;  // times consume() asked for more bytes
};

// Feeds `input` in chunks ending at `cuts` (ascending, then the rest), the way a socket
// reader does: unconsumed bytes stay at the front of its buffer, new bytes are appended.
outcome run(std::string_view input, const std::vector<std::size_t>& cuts,
            const resp::parser_limits& limits = {}) {
  resp::parser p(limits);
  outcome out;
  std::string buffer;
  std::size_t fed = 0, next_cut = 0;
  auto feed_more = [&] {
    if (fed == input.size()) return false;
    const std::size_t end = next_cut < cuts.size() ? cuts[next_cut++] : input.size();
    buffer.append(input.substr(fed, end - fed));
    fed = end;
    return true;
  };
  feed_more();
  while (true) {
    std::error_code ec;
    const auto n = p.consume(buffer, ec);
    if (ec) {
      out.ec = ec;
      break;
    }
    if (!n) {
      CHECK(p.consumed() == 0);
      CHECK(p.bytes_needed() > buffer.size());
      ++out.need_more;
      if (!feed_more()) break;
      continue;
    }
    REQUIRE(p.consumed() > 0);
    REQUIRE(p.consumed() <= buffer.size());
    if (!out.nodes.empty()) out.nodes += ' ';
    out.nodes += describe(*n, p.done());
    buffer.erase(0, p.consumed());
  }
  return out;
}

// Parses `input` whole, at every split point and byte by byte; all must match `expected`
// (and `expected_ec`). Returns the whole-buffer outcome.
outcome parse_everywhere(std::string_view input, std::string_view expected,
                         std::error_code expected_ec = {}, const resp::parser_limits& limits = {}) {
  const outcome whole = run(input, {}, limits);
  CHECK(whole.nodes == expected);
  CHECK(whole.ec == expected_ec);
  for (std::size_t cut = 0; cut < input.size(); ++cut) {
    const outcome split = run(input, {cut}, limits);
    INFO("split at " << cut);
    CHECK(split.nodes == expected);
    CHECK(split.ec == expected_ec);
    if (!expected_ec) CHECK(split.need_more >= 2);  // at the cut, and at the end
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  const outcome bytewise = run(input, every_byte, limits);
  CHECK(bytewise.nodes == expected);
  CHECK(bytewise.ec == expected_ec);
  return whole;
}

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
    INFO("fixture: " << f.name);
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

namespace {

struct bad_fixture {
  const char* name;
  std::string_view bytes;
  resp::parse_errc error;
  const char* nodes_before = "";  // nodes emitted before the error
};

const bad_fixture bad_fixtures[] = {
    {"invalid type byte", "X\r\n", resp::parse_errc::invalid_type_byte},
    {"invalid type byte without CRLF", "hello world", resp::parse_errc::invalid_type_byte},
    {"bare CRLF", "\r\n", resp::parse_errc::invalid_type_byte},
    {"NUL type byte", "\0\r\n"sv, resp::parse_errc::invalid_type_byte},
    {"streamed chunk marker", ";4\r\nabcd\r\n", resp::parse_errc::invalid_type_byte},
    {"streamed end marker", ".\r\n", resp::parse_errc::invalid_type_byte},
    {"integer with letters", ":12a\r\n", resp::parse_errc::invalid_integer},
    {"empty integer", ":\r\n", resp::parse_errc::invalid_integer},
    {"integer overflow", ":9223372036854775808\r\n", resp::parse_errc::invalid_integer},
    {"integer underflow", ":-9223372036854775809\r\n", resp::parse_errc::invalid_integer},
    {"integer two signs", ":+-1\r\n", resp::parse_errc::invalid_integer},
    {"integer lone sign", ":-\r\n", resp::parse_errc::invalid_integer},
    {"integer with space", ": 1\r\n", resp::parse_errc::invalid_integer},
    {"double garbage", ",abc\r\n", resp::parse_errc::invalid_double},
    {"empty double", ",\r\n", resp::parse_errc::invalid_double},
    {"double trailing junk", ",1.5x\r\n", resp::parse_errc::invalid_double},
    {"boolean x", "#x\r\n", resp::parse_errc::invalid_boolean},
    {"boolean empty", "#\r\n", resp::parse_errc::invalid_boolean},
    {"boolean tt", "#tt\r\n", resp::parse_errc::invalid_boolean},
    {"big number letters", "(12a\r\n", resp::parse_errc::invalid_big_number},
    {"big number lone sign", "(-\r\n", resp::parse_errc::invalid_big_number},
    {"null with payload", "_x\r\n", resp::parse_errc::invalid_length},
    {"blob length -2", "$-2\r\n", resp::parse_errc::invalid_length},
    {"array length -2", "*-2\r\n", resp::parse_errc::invalid_length},
    {"map length -1", "%-1\r\n", resp::parse_errc::invalid_length},
    {"set length -1", "~-1\r\n", resp::parse_errc::invalid_length},
    {"push length -1", ">-1\r\n", resp::parse_errc::invalid_length},
    {"attribute length -1", "|-1\r\n", resp::parse_errc::invalid_length},
    {"blob error null", "!-1\r\n", resp::parse_errc::invalid_length},
    {"verbatim null", "=-1\r\n", resp::parse_errc::invalid_length},
    {"blob length letters", "$abc\r\n", resp::parse_errc::invalid_length},
    {"blob length empty", "$\r\n", resp::parse_errc::invalid_length},
    {"blob length plus", "$+5\r\nhello\r\n", resp::parse_errc::invalid_length},
    {"blob length overflow", "$9223372036854775808\r\n", resp::parse_errc::invalid_length},
    {"blob length int64 max", "$9223372036854775807\r\n", resp::parse_errc::bulk_too_long},
    {"array of 2^32-1", "*4294967295\r\n", resp::parse_errc::aggregate_too_large},
    {"map of 2^32-1", "%4294967295\r\n", resp::parse_errc::aggregate_too_large},
    {"push of int64 max", ">9223372036854775807\r\n", resp::parse_errc::aggregate_too_large},
    {"blob missing CRLF", "$3\r\nfooXY", resp::parse_errc::missing_crlf},
    {"blob missing LF", "$3\r\nfoo\rX", resp::parse_errc::missing_crlf},
    {"blob shorter than announced", "$5\r\nfoo\r\n\r\r", resp::parse_errc::missing_crlf},
    {"verbatim without format", "=5\r\nhello\r\n", resp::parse_errc::invalid_verbatim},
    {"verbatim too short", "=3\r\ntxt\r\n", resp::parse_errc::invalid_verbatim},
    {"streamed blob", "$?\r\n;4\r\nabcd\r\n;0\r\n", resp::parse_errc::unsupported_streamed},
    {"streamed array", "*?\r\n:1\r\n.\r\n", resp::parse_errc::unsupported_streamed},
    {"streamed map", "%?\r\n", resp::parse_errc::unsupported_streamed},
    {"error inside array", "*2\r\n:1\r\n:x\r\n", resp::parse_errc::invalid_integer,
     "array[2]@0 integer@1=1"},
    {"garbage after a reply", "+OK\r\n?\r\n", resp::parse_errc::invalid_type_byte,
     "simple_string@0=OK!"},
};

}  // namespace

TEST_CASE("parser: malformed input fails the same way at every split point") {
  for (const auto& f : bad_fixtures) {
    INFO("fixture: " << f.name);
    parse_everywhere(f.bytes, f.nodes_before, f.error);
  }
}

TEST_CASE("parser: limits") {
  SUBCASE("max_bulk_length") {
    resp::parser_limits limits;
    limits.max_bulk_length = 4;
    parse_everywhere("$4\r\nabcd\r\n", "blob_string@0=abcd!", {}, limits);
    parse_everywhere("$5\r\nhello\r\n", "", resp::parse_errc::bulk_too_long, limits);
    parse_everywhere("!5\r\nERR x\r\n", "", resp::parse_errc::bulk_too_long, limits);
    parse_everywhere("=9\r\ntxt:hello\r\n", "", resp::parse_errc::bulk_too_long, limits);
  }
  SUBCASE("max_aggregate_size") {
    resp::parser_limits limits;
    limits.max_aggregate_size = 2;
    parse_everywhere("*2\r\n:1\r\n:2\r\n", "array[2]@0 integer@1=1 integer@1=2!", {}, limits);
    parse_everywhere("*3\r\n:1\r\n:2\r\n:3\r\n", "", resp::parse_errc::aggregate_too_large, limits);
    parse_everywhere("%3\r\n", "", resp::parse_errc::aggregate_too_large, limits);
  }
  SUBCASE("max_line_length counts the type byte, not the CRLF") {
    resp::parser_limits limits;
    limits.max_line_length = 16;
    const std::string at_limit = "+" + std::string(15, 'a') + "\r\n";
    parse_everywhere(at_limit, "simple_string@0=" + std::string(15, 'a') + "!", {}, limits);
    const std::string over = "+" + std::string(16, 'a') + "\r\n";
    parse_everywhere(over, "", resp::parse_errc::line_too_long, limits);
    const std::string endless = "+" + std::string(40, 'a');
    parse_everywhere(endless, "", resp::parse_errc::line_too_long, limits);
    parse_everywhere("*" + std::string(40, '1'), "", resp::parse_errc::line_too_long, limits);
    // a blob's body is not a line
    const std::string blob = "$40\r\n" + std::string(40, 'b') + "\r\n";
    parse_everywhere(blob, "blob_string@0=" + std::string(40, 'b') + "!", {}, limits);
  }
  SUBCASE("max_depth") {
    std::string nested;
    std::string expected;
    for (int i = 0; i < 1000; ++i) nested += "*1\r\n";
    nested += ":1\r\n";
    for (int i = 0; i < 32; ++i) expected += (i ? " array[1]@" : "array[1]@") + std::to_string(i);
    const outcome o = run(nested, {});
    CHECK(o.nodes == expected);
    CHECK(o.ec == resp::parse_errc::depth_exceeded);

    resp::parser_limits limits;
    limits.max_depth = 2;
    parse_everywhere("*1\r\n*1\r\n:1\r\n", "array[1]@0 array[1]@1 integer@2=1!", {}, limits);
    parse_everywhere("*1\r\n*1\r\n*1\r\n:1\r\n", "array[1]@0 array[1]@1",
                     resp::parse_errc::depth_exceeded, limits);
    // an empty aggregate at the limit has no children, so it is fine
    parse_everywhere("*1\r\n*1\r\n*0\r\n", "array[1]@0 array[1]@1 array[0]@2!", {}, limits);
    // attributes nest too
    parse_everywhere("*1\r\n|1\r\n*1\r\n:1\r\n:2\r\n:3\r\n", "array[1]@0 attribute[1]@1",
                     resp::parse_errc::depth_exceeded, limits);
  }
  SUBCASE("unlimited limits do not overflow") {
    resp::parser_limits limits;
    limits.max_line_length = static_cast<std::size_t>(-1);
    limits.max_depth = static_cast<std::size_t>(-1) / 2;  // must not reserve that much
    parse_everywhere("*1\r\n+OK\r\n", "array[1]@0 simple_string@1=OK!", {}, limits);
  }
}

TEST_CASE("parser: stays in error until reset()") {
  resp::parser p;
  std::error_code ec;
  CHECK_FALSE(p.consume(":x\r\n", ec));
  CHECK(ec == resp::parse_errc::invalid_integer);
  CHECK_FALSE(p.consume("+OK\r\n", ec));
  CHECK(ec == resp::parse_errc::invalid_integer);
  CHECK_FALSE(p.consume("", ec));
  CHECK(ec == resp::parse_errc::invalid_integer);
  p.reset();
  const auto n = p.consume("+OK\r\n", ec);
  CHECK_FALSE(ec);
  REQUIRE(n);
  CHECK(n->value == "OK");
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
    INFO("fixture: " << f.name);
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

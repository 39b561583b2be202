// Tests of lib/resp/parser.cpp on malformed input and against its limits. Each input is parsed
// whole, split at every byte offset and byte by byte (parser_harness.hpp): the error, and the
// nodes before it, must not depend on the split. Input that no further bytes can make valid
// must fail as soon as the bytes that prove it are in, not wait for a CRLF that may never come
// (a peer that sends it and then nothing would otherwise hang its client).

#include "parser_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/resp/parser.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

using namespace std::string_view_literals;
using parser_harness::outcome;
using parser_harness::parse_everywhere;
using parser_harness::run;
namespace resp = streamq::resp;

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
    {"blob length past int64", "$9223372036854775808\r\n", resp::parse_errc::bulk_too_long},
    {"blob length -0", "$-0\r\n\r\n", resp::parse_errc::invalid_length},
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
    // A CR inside a line that is not followed by LF (issue 9, 2.16: `+OK\rX\n` used to wait).
    {"bare CR in a simple string", "+OK\rX\n+OK\r\n", resp::parse_errc::missing_lf},
    {"bare CR in an error line", "-ERR x\ry\r\n", resp::parse_errc::missing_lf},
    {"CR CR LF", "+OK\r\r\n", resp::parse_errc::missing_lf},
    {"bare CR after an integer", ":1\r:2\r\n", resp::parse_errc::missing_lf},
    {"bare CR after a header", "*1\r\r\n:1\r\n", resp::parse_errc::missing_lf},
    {"bare CR inside an array", "*2\r\n+a\r\n+b\rc\r\n", resp::parse_errc::missing_lf,
     "array[2]@0 simple_string@1=a"},
};

// Truncated input, as a peer might send it and then nothing more: each is already invalid
// whatever follows, so it must fail with no CRLF in sight. (Before issue 9, 2.16, every one of
// these waited for more bytes.)
const bad_fixture never_valid[] = {
    {"bare CR", "+OK\rX", resp::parse_errc::missing_lf},
    {"bare CR after a header", "$3\r$", resp::parse_errc::missing_lf},
    {"integer with a letter", ":12a", resp::parse_errc::invalid_integer},
    {"integer past int64", ":92233720368547758070", resp::parse_errc::invalid_integer},
    {"integer below int64", ":-9223372036854775809", resp::parse_errc::invalid_integer},
    {"integer with two signs", ":+-", resp::parse_errc::invalid_integer},
    {"integer with a space", ": ", resp::parse_errc::invalid_integer},
    {"double with a letter", ",1.5x", resp::parse_errc::invalid_double},
    {"double with two dots", ",1.2.", resp::parse_errc::invalid_double},
    {"double exponent with a letter", ",1e+x", resp::parse_errc::invalid_double},
    {"double exponent before digits", ",e", resp::parse_errc::invalid_double},
    {"double misspelt inf", ",-inx", resp::parse_errc::invalid_double},
    {"double past infinity", ",infinityx", resp::parse_errc::invalid_double},
    {"double nan payload unclosed by junk", ",nan(a b", resp::parse_errc::invalid_double},
    {"boolean x", "#x", resp::parse_errc::invalid_boolean},
    {"boolean too long", "#tt", resp::parse_errc::invalid_boolean},
    {"big number with a letter", "(-12a", resp::parse_errc::invalid_big_number},
    {"null with payload", "_x", resp::parse_errc::invalid_length},
    {"blob length with a letter", "$1x", resp::parse_errc::invalid_length},
    {"blob length with a plus", "$+", resp::parse_errc::invalid_length},
    {"blob length -2", "$-2", resp::parse_errc::invalid_length},
    {"blob length -10", "$-10", resp::parse_errc::invalid_length},
    {"blob error length negative", "!-", resp::parse_errc::invalid_length},
    {"map length negative", "%-", resp::parse_errc::invalid_length},
    {"streamed blob", "$?", resp::parse_errc::unsupported_streamed},
    {"streamed push", ">?", resp::parse_errc::unsupported_streamed},
    {"blob length past max_bulk_length", "$92233720368547758070", resp::parse_errc::bulk_too_long},
    {"array count past max_aggregate_size", "*92233720368547758070",
     resp::parse_errc::aggregate_too_large},
    {"blob followed by no CR", "$3\r\nfooX", resp::parse_errc::missing_crlf},
    {"blob followed by CR and no LF", "$3\r\nfoo\rX", resp::parse_errc::missing_crlf},
    {"verbatim without format", "=9\r\nhell", resp::parse_errc::invalid_verbatim},
    {"verbatim shorter than a format", "=3\r\n", resp::parse_errc::invalid_verbatim},
    {"bad element inside an array", "*2\r\n:1\r\n:1x", resp::parse_errc::invalid_integer,
     "array[2]@0 integer@1=1"},
};

// Truncated input that more bytes can still make valid: it must wait, not fail.
const std::string_view still_possible[] = {
    "+OK\r",
    ":",
    ":-",
    ":+",
    ":9223372036854775807",
    ":-9223372036854775808",
    ",",
    ",-",
    ",1.",
    ",1e",
    ",1e-",
    ",i",
    ",INFINIT",
    ",-n",
    ",nan(",
    ",nan(x_1",
    "#",
    "#t",
    "(",
    "(-",
    "_",
    "$",
    "$-",
    "$-1",
    "$0",
    "$3\r\nfoo",
    "$3\r\nfoo\r",
    "*-",
    "*-1",
    "%0",
    "=4\r\ntxt",
    "=9\r\ntxt:",
    "*1\r\n:1\r",
};

}  // namespace

TEST_CASE("parser: malformed input fails the same way at every split point") {
  for (const auto& f : bad_fixtures) {
    INFO("fixture: " << std::string(f.name));
    parse_everywhere(f.bytes, f.nodes_before, f.error);
  }
}

TEST_CASE("parser: input no further byte can make valid fails at once, at every split point") {
  for (const auto& f : never_valid) {
    INFO("fixture: " << parser_harness::escape(f.bytes));
    parse_everywhere(f.bytes, f.nodes_before, f.error);
  }
}

TEST_CASE("parser: truncated input that can still become valid waits for more bytes") {
  for (const auto bytes : still_possible) {
    INFO("input: " << parser_harness::escape(bytes));
    const outcome o = run(bytes, {});
    CHECK_FALSE(o.ec);
    CHECK(o.need_more == 1);
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
    parse_everywhere("$5", "", resp::parse_errc::bulk_too_long, limits);  // at its first digit
    parse_everywhere("$40", "", resp::parse_errc::bulk_too_long, limits);
    // With no limit, a length past int64 is still malformed.
    limits.max_bulk_length = static_cast<std::size_t>(-1);
    parse_everywhere("$9223372036854775808\r\n", "", resp::parse_errc::invalid_length, limits);
    parse_everywhere("$92233720368547758070", "", resp::parse_errc::invalid_length, limits);
  }
  SUBCASE("max_aggregate_size") {
    resp::parser_limits limits;
    limits.max_aggregate_size = 2;
    parse_everywhere("*2\r\n:1\r\n:2\r\n", "array[2]@0 integer@1=1 integer@1=2!", {}, limits);
    parse_everywhere("*3\r\n:1\r\n:2\r\n:3\r\n", "", resp::parse_errc::aggregate_too_large, limits);
    parse_everywhere("%3\r\n", "", resp::parse_errc::aggregate_too_large, limits);
    // the count is over the limit at its first digit: no need to wait for the CRLF
    parse_everywhere("*3", "", resp::parse_errc::aggregate_too_large, limits);
    parse_everywhere("*1\r\n~10", "array[1]@0", resp::parse_errc::aggregate_too_large, limits);
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
    // a header that stays a possible count (leading zeros) until the limit
    parse_everywhere("*" + std::string(40, '0'), "", resp::parse_errc::line_too_long, limits);
    // a bare CR within the limit is reported as such; one past it is never read
    parse_everywhere("+" + std::string(15, 'a') + "\rx", "", resp::parse_errc::missing_lf, limits);
    parse_everywhere("+" + std::string(16, 'a') + "\rx", "", resp::parse_errc::line_too_long,
                     limits);
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
    // refused at the first digit that makes the count positive, not at the CRLF
    parse_everywhere("*1\r\n*1\r\n*1", "array[1]@0 array[1]@1", resp::parse_errc::depth_exceeded,
                     limits);
    parse_everywhere("*1\r\n*1\r\n%01", "array[1]@0 array[1]@1", resp::parse_errc::depth_exceeded,
                     limits);
    // an empty aggregate at the limit has no children, so it is fine; so is a null array
    parse_everywhere("*1\r\n*1\r\n*0\r\n", "array[1]@0 array[1]@1 array[0]@2!", {}, limits);
    parse_everywhere("*1\r\n*1\r\n*-1\r\n", "array[1]@0 array[1]@1 null@2!", {}, limits);
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

TEST_CASE("parser: missing_lf has its own message") {
  const std::error_code e = resp::parse_errc::missing_lf;
  CHECK(e.category() == resp::parse_category());
  CHECK(e.message() != resp::parse_category().message(9999));
  CHECK(e.message() != std::error_code(resp::parse_errc::missing_crlf).message());
}

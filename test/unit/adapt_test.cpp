// Tests of include/streamq/resp/adapt.hpp and response.hpp (lib/resp/response.cpp,
// lib/resp/value.cpp): replies are written as RESP bytes, parsed, then converted.

#include <streamq/resp/adapt.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>  // doctest prints std::error_code with it
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

using namespace std::string_view_literals;
namespace resp = streamq::resp;
using resp::adapt_errc;
using resp::server_errc;

namespace {

// Feeds `bytes` through a parser and an attribute filter into `adapter`, the way a connection
// does: reply index i for every node of the i-th top-level reply. Returns the reply count.
std::size_t feed(std::string_view bytes, resp::response_adapter& adapter) {
  resp::parser p;
  resp::attribute_filter attributes;
  std::size_t reply = 0;
  adapter.on_start();
  while (!bytes.empty()) {
    std::error_code ec;
    const auto n = p.consume(bytes, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(n);  // fixtures are complete
    bytes.remove_prefix(p.consumed());
    if (attributes.keep(*n)) adapter.on_node(reply, *n);
    if (p.done()) ++reply;
  }
  return reply;
}

// The value of one complete reply.
resp::value parse(std::string_view bytes) {
  resp::generic_response r;
  REQUIRE(feed(bytes, r) == 1);
  REQUIRE(r.values().size() == 1);
  return r.values().front();
}

// Converts the reply `bytes` to T; returns the error, the value through `out`.
template <class T>
std::error_code convert(std::string_view bytes, T& out) {
  std::error_code ec = make_error_code(std::errc::io_error);  // from_value must clear it
  resp::from_value(parse(bytes), out, ec);
  return ec;
}

template <class T>
T must_convert(std::string_view bytes) {
  T out{};
  const auto ec = convert(bytes, out);
  INFO(bytes);
  CHECK_FALSE(ec);
  return out;
}

template <class T>
std::error_code error_of(std::string_view bytes) {
  T out{};
  return convert(bytes, out);
}

}  // namespace

TEST_CASE("from_value: integers") {
  CHECK(must_convert<std::int64_t>(":42\r\n") == 42);
  CHECK(must_convert<std::int64_t>(":-9223372036854775808\r\n") == INT64_MIN);
  CHECK(must_convert<std::int64_t>("$3\r\n-17\r\n") == -17);
  CHECK(must_convert<int>("+5\r\n") == 5);
  CHECK(must_convert<int>(":+7\r\n") == 7);  // RESP allows an explicit plus sign
  CHECK(must_convert<std::int8_t>(":127\r\n") == 127);
  CHECK(must_convert<std::int8_t>(":-128\r\n") == -128);
  CHECK(must_convert<std::uint8_t>(":255\r\n") == 255);
  CHECK(must_convert<std::uint64_t>("$20\r\n18446744073709551615\r\n") == UINT64_MAX);
  CHECK(must_convert<unsigned>(":-0\r\n") == 0);
  CHECK(must_convert<long>("(123\r\n") == 123);

  CHECK(error_of<std::int8_t>(":128\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<std::int8_t>(":-129\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<std::uint8_t>(":256\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<std::uint8_t>(":-1\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<std::uint64_t>(":-9223372036854775808\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<std::uint64_t>("(-99999999999999999999999\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<std::uint32_t>(":4294967296\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<std::int64_t>("(123456789012345678901234567890\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<unsigned>("$2\r\n-x\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<unsigned>("$1\r\n-\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<int>("$3\r\n1.5\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<int>("$0\r\n\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<int>("$3\r\n 12\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<int>(",1.5\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<int>("_\r\n") == adapt_errc::unexpected_null);
  CHECK(error_of<int>("$-1\r\n") == adapt_errc::unexpected_null);
  CHECK(error_of<int>("*1\r\n:1\r\n") == adapt_errc::type_mismatch);
  CHECK(error_of<int>("#t\r\n") == adapt_errc::type_mismatch);
}

TEST_CASE("from_value: floating point") {
  CHECK(must_convert<double>(",3.25\r\n") == 3.25);
  CHECK(must_convert<double>(",+1.5\r\n") == 1.5);
  CHECK(must_convert<double>(",-2e-3\r\n") == doctest::Approx(-0.002));
  CHECK(must_convert<double>("$6\r\n2.5e+3\r\n") == 2500.0);
  CHECK(must_convert<double>(":10\r\n") == 10.0);
  CHECK(must_convert<float>(",0.5\r\n") == 0.5f);
  const double inf = must_convert<double>(",inf\r\n");
  CHECK((std::isinf(inf) && inf > 0));
  const double minus_inf = must_convert<double>(",-inf\r\n");
  CHECK((std::isinf(minus_inf) && minus_inf < 0));
  CHECK(std::isnan(must_convert<double>(",nan\r\n")));

  CHECK(error_of<double>(",1e999\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<float>(",1e300\r\n") == adapt_errc::out_of_range);
  CHECK(error_of<double>("$3\r\nabc\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<double>("$4\r\n1.5x\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<double>("$0\r\n\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<double>("_\r\n") == adapt_errc::unexpected_null);
  CHECK(error_of<double>("%0\r\n") == adapt_errc::type_mismatch);
}

TEST_CASE("from_value: booleans, RESP3 and RESP2") {
  CHECK(must_convert<bool>("#t\r\n"));
  CHECK_FALSE(must_convert<bool>("#f\r\n"));
  CHECK(must_convert<bool>(":1\r\n"));
  CHECK_FALSE(must_convert<bool>(":0\r\n"));
  CHECK(error_of<bool>(":2\r\n") == adapt_errc::type_mismatch);
  CHECK(error_of<bool>("+OK\r\n") == adapt_errc::type_mismatch);
  CHECK(error_of<bool>("_\r\n") == adapt_errc::unexpected_null);
  CHECK(error_of<bool>("-LOADING loading the dataset\r\n") == server_errc::loading);
}

TEST_CASE("from_value: strings") {
  CHECK(must_convert<std::string>("+OK\r\n") == "OK");
  CHECK(must_convert<std::string>("$7\r\na\r\nb\0c\r\r\n"sv) == std::string("a\r\nb\0c\r", 7));
  CHECK(must_convert<std::string>("=15\r\ntxt:Some string\r\n") == "Some string");
  CHECK(must_convert<std::string>(":42\r\n") == "42");
  CHECK(must_convert<std::string>(",1.5\r\n") == "1.5");
  CHECK(must_convert<std::string>("(99999999999999999999\r\n") == "99999999999999999999");
  CHECK(must_convert<std::string>("#t\r\n") == "t");
  CHECK(error_of<std::string>("_\r\n") == adapt_errc::unexpected_null);
  CHECK(error_of<std::string>("*0\r\n") == adapt_errc::type_mismatch);
  CHECK(error_of<std::string>("-ERR unknown command\r\n") == server_errc::generic);
  CHECK(error_of<std::string>("!21\r\nSYNTAX invalid syntax\r\n") == server_errc::generic);
}

TEST_CASE("response<std::string> takes a text reply over as from_value converts it") {
  // result<std::string> moves a text reply's bytes instead of converting a copy: the same
  // values and errors, whichever path a reply takes.
  const std::string_view replies[] = {
      "+OK\r\n",          "$7\r\na\r\nb\0c\r\r\n"sv, "=15\r\ntxt:Some string\r\n", ":42\r\n",
      ",1.5\r\n",         "(99999999999999999999\r\n",   "#t\r\n",                   "_\r\n",
      "*0\r\n",           "-ERR unknown command\r\n",    "!21\r\nSYNTAX invalid syntax\r\n",
      "$16\r\n1764657241234-17\r\n"};
  resp::response<std::string> r;  // reused, as connections reuse their adapters
  for (const auto bytes : replies) {
    INFO(bytes);
    std::string expected;
    const auto expected_ec = convert(bytes, expected);
    REQUIRE(feed(bytes, r) == 1);
    CHECK(r.get<0>().error() == expected_ec);
    if (!expected_ec) CHECK(r.get<0>().value() == expected);
  }
}

TEST_CASE("from_value: optional") {
  CHECK(must_convert<std::optional<int>>("_\r\n") == std::nullopt);
  CHECK(must_convert<std::optional<std::string>>("$-1\r\n") == std::nullopt);
  CHECK(must_convert<std::optional<std::string>>("*-1\r\n") == std::nullopt);
  CHECK(must_convert<std::optional<int>>(":5\r\n") == 5);
  std::optional<int> kept = 3;
  CHECK(convert("+x\r\n", kept) == adapt_errc::invalid_number);
  CHECK(error_of<std::optional<int>>("-WRONGTYPE Operation against a key\r\n") ==
        server_errc::wrongtype);
}

TEST_CASE("from_value: sequences") {
  using strings = std::vector<std::string>;
  CHECK(must_convert<strings>("*2\r\n$1\r\na\r\n+b\r\n") == strings{"a", "b"});
  CHECK(must_convert<strings>("~2\r\n+x\r\n+y\r\n") == strings{"x", "y"});
  CHECK(must_convert<strings>(">2\r\n+message\r\n+c\r\n") == strings{"message", "c"});
  CHECK(must_convert<strings>("*0\r\n").empty());
  CHECK(must_convert<std::vector<std::optional<std::string>>>("*3\r\n+a\r\n$-1\r\n_\r\n") ==
        std::vector<std::optional<std::string>>{"a", std::nullopt, std::nullopt});
  CHECK(must_convert<std::vector<std::vector<int>>>("*2\r\n*1\r\n:1\r\n*0\r\n") ==
        std::vector<std::vector<int>>{{1}, {}});
  strings reused{"old"};
  CHECK_FALSE(convert("*1\r\n+new\r\n", reused));
  CHECK(reused == strings{"new"});

  CHECK(error_of<strings>("_\r\n") == adapt_errc::unexpected_null);
  CHECK(error_of<strings>("*-1\r\n") == adapt_errc::unexpected_null);
  CHECK(error_of<strings>("%1\r\n+a\r\n+b\r\n") == adapt_errc::type_mismatch);
  CHECK(error_of<strings>("+a\r\n") == adapt_errc::type_mismatch);
  CHECK(error_of<strings>("*2\r\n+a\r\n-NOSCRIPT no script\r\n") == server_errc::noscript);
  CHECK(error_of<std::vector<int>>("*2\r\n:1\r\n+x\r\n") == adapt_errc::invalid_number);
}

TEST_CASE("from_value: maps, RESP3 and RESP2 flat arrays") {
  using ordered = std::map<std::string, int>;
  CHECK(must_convert<ordered>("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n") == ordered{{"a", 1}, {"b", 2}});
  CHECK(must_convert<ordered>("*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n") ==
        ordered{{"a", 1}, {"b", 2}});
  CHECK(must_convert<ordered>("%0\r\n").empty());
  CHECK(must_convert<ordered>("*0\r\n").empty());
  using unordered = std::unordered_map<std::string, std::string>;
  CHECK(must_convert<unordered>("%1\r\n+name\r\n$5\r\nstrea\r\n") == unordered{{"name", "strea"}});
  CHECK(must_convert<std::map<std::string, std::vector<int>>>("%1\r\n+k\r\n*2\r\n:1\r\n:2\r\n") ==
        std::map<std::string, std::vector<int>>{{"k", {1, 2}}});

  CHECK(error_of<ordered>("*3\r\n+a\r\n:1\r\n+b\r\n") == adapt_errc::type_mismatch);
  CHECK(error_of<ordered>("~2\r\n+a\r\n:1\r\n") == adapt_errc::type_mismatch);
  CHECK(error_of<ordered>("_\r\n") == adapt_errc::unexpected_null);
  CHECK(error_of<ordered>("%1\r\n+a\r\n+x\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<ordered>("%1\r\n+a\r\n-BUSY script running\r\n") == server_errc::busy);
}

TEST_CASE("from_value: pairs and tuples") {
  using pair = std::pair<std::string, int>;
  CHECK(must_convert<pair>("*2\r\n+a\r\n:1\r\n") == pair{"a", 1});
  CHECK(must_convert<pair>("%1\r\n+a\r\n:1\r\n") == pair{"a", 1});
  using triple = std::tuple<int, std::string, double>;
  CHECK(must_convert<triple>("*3\r\n:1\r\n+x\r\n,2.5\r\n") == triple{1, "x", 2.5});
  CHECK(must_convert<std::tuple<>>("*0\r\n") == std::tuple<>{});

  CHECK(error_of<pair>("*3\r\n+a\r\n:1\r\n:2\r\n") == adapt_errc::size_mismatch);
  CHECK(error_of<pair>("*1\r\n+a\r\n") == adapt_errc::size_mismatch);
  CHECK(error_of<pair>("*2\r\n+a\r\n+b\r\n") == adapt_errc::invalid_number);
  CHECK(error_of<triple>("_\r\n") == adapt_errc::unexpected_null);
  CHECK(error_of<triple>(":1\r\n") == adapt_errc::type_mismatch);
}

TEST_CASE("from_value: value keeps everything, errors included") {
  const auto v = must_convert<resp::value>("*2\r\n-ERR x\r\n%1\r\n+k\r\n_\r\n");
  REQUIRE(v.elements.size() == 2);
  CHECK(v.elements[0].is_error());
  CHECK(v.elements[1].data_type == resp::type::map);
  REQUIRE(v.elements[1].find("k"));
  CHECK(v.elements[1].find("k")->is_null());
  CHECK(v.elements[1].find("nope") == nullptr);
  CHECK(resp::to_string(v) == "[(error) ERR x, {\"k\": (nil)}]");
}

TEST_CASE("result: server errors are classified, with the server's text") {
  resp::result<std::int64_t> r;
  r.assign(parse("-NOGROUP No such key 's' or consumer group 'g'\r\n"));
  CHECK_FALSE(r.has_value());
  CHECK_FALSE(r);
  CHECK(r.error() == server_errc::nogroup);
  CHECK(r.diagnostic() == "NOGROUP No such key 's' or consumer group 'g'");
  try {
    (void)r.value();
    FAIL("value() must throw");
  } catch (const std::system_error& e) {
    CHECK(e.code() == server_errc::nogroup);
    CHECK(std::string(e.what()).find("No such key 's'") != std::string::npos);
  }

  r.assign(parse(":7\r\n"));
  CHECK(r.has_value());
  CHECK(r.value() == 7);
  CHECK(r.diagnostic().empty());

  r.assign(parse("+not a number\r\n"));
  CHECK(r.error() == adapt_errc::invalid_number);
  CHECK(r.diagnostic().empty());
  CHECK_THROWS_AS((void)r.value(), std::system_error);

  // an error inside an aggregate (EXEC, pipelines of scripts) still carries its text
  resp::result<std::vector<std::string>> nested;
  nested.assign(parse("*2\r\n+OK\r\n-WRONGTYPE Operation against a key\r\n"));
  CHECK(nested.error() == server_errc::wrongtype);
  CHECK(nested.diagnostic() == "WRONGTYPE Operation against a key");

  // a top-level error reply is an error even for a generic value target (regression: a
  // consumer once read NOGROUP as an empty XREADGROUP reply); nested ones stay data
  resp::result<resp::value> generic;
  generic.assign(parse("-NOGROUP No such key\r\n"));
  CHECK(generic.error() == server_errc::nogroup);
  CHECK(generic.diagnostic() == "NOGROUP No such key");
  generic.assign(parse("*1\r\n-ERR inside\r\n"));
  CHECK(generic.has_value());
  CHECK(generic.value().elements.at(0).is_error());

  // reset() leaves no stale value behind
  resp::result<std::string> s;
  s.assign(parse("+old\r\n"));
  s.reset();
  CHECK(s.has_value());
  CHECK(s.value().empty());
}

TEST_CASE("response: a pipeline's replies converted end to end") {
  resp::response<std::string, std::int64_t, std::vector<std::string>, std::optional<int>,
                 std::map<std::string, std::string>>
      r;
  CHECK(r.expected_replies() == 5);
  const std::string_view replies =
      "+OK\r\n"
      "|1\r\n+ttl\r\n:10\r\n:42\r\n"  // an attribute is not a reply
      "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
      "_\r\n"
      "%1\r\n+field\r\n|1\r\n+x\r\n+y\r\n$5\r\nvalue\r\n";
  CHECK(feed(replies, r) == 5);
  CHECK(r.get<0>().value() == "OK");
  CHECK(r.get<1>().value() == 42);
  CHECK(r.get<2>().value() == std::vector<std::string>{"a", "b"});
  CHECK(r.get<3>().value() == std::nullopt);
  CHECK(r.get<4>().value() == std::map<std::string, std::string>{{"field", "value"}});

  // reused: on_start() forgets the previous replies; an error is per reply
  CHECK(feed("+OK\r\n-ERR wrong number of arguments\r\n*0\r\n:1\r\n%0\r\n", r) == 5);
  CHECK(r.get<0>().has_value());
  CHECK(r.get<1>().error() == server_errc::generic);
  CHECK(r.get<1>().diagnostic() == "ERR wrong number of arguments");
  CHECK(r.get<2>().value().empty());
  CHECK(r.get<3>().value() == 1);
  CHECK(std::get<4>(r.results()).value().empty());
}

TEST_CASE("response: replies beyond its size are ignored, not a crash") {
  resp::response<int> r;
  CHECK(feed(":1\r\n:2\r\n", r) == 2);
  CHECK(r.get<0>().value() == 1);
}

TEST_CASE("generic_response: one value per reply, errors as values") {
  resp::generic_response r;
  CHECK(r.expected_replies() == resp::response_adapter::any_count);
  CHECK(feed("+OK\r\n-ERR bad\r\n*2\r\n:1\r\n*1\r\n_\r\n>1\r\n+p\r\n", r) == 4);
  REQUIRE(r.values().size() == 4);
  CHECK(resp::to_string(r.values()[0]) == "\"OK\"");
  CHECK(r.values()[1].is_error());
  CHECK(r.values()[1].text == "ERR bad");
  CHECK(resp::to_string(r.values()[2]) == "[(integer) 1, [(nil)]]");
  CHECK(r.values()[3].data_type == resp::type::push);
  CHECK(feed(":5\r\n", r) == 1);
  REQUIRE(r.values().size() == 1);
  CHECK(r.values()[0].text == "5");
}

TEST_CASE("ignore_response: remembers the first top-level error") {
  resp::ignore_response r;
  feed("+OK\r\n*1\r\n-ERR nested\r\n:1\r\n", r);
  CHECK_FALSE(r.first_error());
  CHECK(r.diagnostic().empty());

  feed("+OK\r\n-NOSCRIPT No matching script\r\n-ERR second\r\n", r);
  CHECK(r.first_error() == server_errc::noscript);
  CHECK(r.diagnostic() == "NOSCRIPT No matching script");

  feed("!19\r\nREADONLY You can't.\r\n", r);  // on_start cleared the last one
  CHECK(r.first_error() == server_errc::readonly);
  CHECK(r.diagnostic() == "READONLY You can't.");
}

// Tests of lib/resp/error.cpp (and the predicates of lib/redis/error.cpp that build on it).

#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/system/error_code.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints error codes with it
#include <set>
#include <string>
#include <string_view>
#include <system_error>

namespace resp = streamq::resp;
namespace redis = streamq::redis;
using resp::server_errc;

namespace {

struct prefix_case {
  std::string_view message;
  server_errc code;
  bool transient;
};

// One real message per code, as Redis 7 words them.
constexpr prefix_case prefix_cases[] = {
    {"ERR unknown command 'FOO'", server_errc::generic, false},
    {"BUSYGROUP Consumer Group name already exists", server_errc::busygroup, false},
    {"NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option",
     server_errc::nogroup, false},
    {"NOSCRIPT No matching script. Please use EVAL.", server_errc::noscript, false},
    {"READONLY You can't write against a read only replica.", server_errc::readonly, true},
    {"LOADING Redis is loading the dataset in memory", server_errc::loading, true},
    {"NOAUTH Authentication required.", server_errc::noauth, false},
    {"WRONGPASS invalid username-password pair or user is disabled.", server_errc::wrongpass,
     false},
    {"NOPERM User alice has no permissions to run the 'set' command", server_errc::noperm, false},
    {"OOM command not allowed when used memory > 'maxmemory'.", server_errc::oom, false},
    {"WRONGTYPE Operation against a key holding the wrong kind of value", server_errc::wrongtype,
     false},
    {"BUSY Redis is busy running a script.", server_errc::busy, true},
    {"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
     server_errc::masterdown, true},
    {"MOVED 3999 127.0.0.1:6381", server_errc::moved, false},
    {"ASK 3999 127.0.0.1:6381", server_errc::ask, false},
    {"TRYAGAIN Multiple keys request during rehashing of slot", server_errc::tryagain, true},
    {"CROSSSLOT Keys in request don't hash to the same slot", server_errc::crossslot, false},
    {"CLUSTERDOWN The cluster is down", server_errc::clusterdown, true},
    {"EXECABORT Transaction discarded because of previous errors.", server_errc::execabort, false},
    {"NOREPLICAS Not enough good replicas to write.", server_errc::noreplicas, true},
    {"UNKILLABLE Sorry the script already executed write commands against the dataset.",
     server_errc::unkillable, false},
    {"NOTBUSY No scripts in execution right now.", server_errc::notbusy, false},
    {"UNBLOCKED the stream key no longer exists", server_errc::unblocked, false},
};

}  // namespace

TEST_CASE("classify_server_error: every known prefix") {
  std::set<server_errc> seen;
  for (const auto& c : prefix_cases) {
    INFO(c.message);
    CHECK(resp::classify_server_error(c.message) == c.code);
    CHECK(resp::is_transient(c.code) == c.transient);
    // the bare word, without a message after it
    CHECK(resp::classify_server_error(c.message.substr(0, c.message.find(' '))) == c.code);
    seen.insert(c.code);
  }
  // the table covers every enumerator (generic = 1 .. unblocked)
  CHECK(seen.size() == static_cast<std::size_t>(server_errc::unblocked));
}

TEST_CASE("classify_server_error: the whole first word must match") {
  CHECK(resp::classify_server_error("") == server_errc::generic);
  CHECK(resp::classify_server_error(" NOGROUP leading space") == server_errc::generic);
  CHECK(resp::classify_server_error("BUSYKEY Target key name already exists.") ==
        server_errc::generic);
  CHECK(resp::classify_server_error("NOGROUPS x") == server_errc::generic);
  CHECK(resp::classify_server_error("BUSYGROUP") == server_errc::busygroup);
  CHECK(resp::classify_server_error("BUSY") == server_errc::busy);
  CHECK(resp::classify_server_error("nogroup lower case") == server_errc::generic);
  CHECK(resp::classify_server_error("MISCONF Redis is configured to save RDB snapshots") ==
        server_errc::generic);
  CHECK(resp::classify_server_error("Some text without a code") == server_errc::generic);
}

TEST_CASE("error categories: names and messages") {
  const std::error_category* categories[] = {&resp::parse_category(), &resp::adapt_category(),
                                             &resp::server_category()};
  std::set<std::string> names;
  for (const auto* c : categories) {
    CHECK(std::string_view(c->name()).size() > 0);
    names.insert(c->name());
    CHECK_FALSE(c->message(9999).empty());  // unknown values still say something
  }
  CHECK(names.size() == 3);

  for (int e = 1; e <= static_cast<int>(resp::parse_errc::unsupported_streamed); ++e) {
    const std::string m = resp::parse_category().message(e);
    CHECK(m != resp::parse_category().message(9999));
    CHECK_FALSE(m.empty());
  }
  for (int e = 1; e <= static_cast<int>(resp::adapt_errc::size_mismatch); ++e) {
    const std::string m = resp::adapt_category().message(e);
    CHECK(m != resp::adapt_category().message(9999));
    CHECK_FALSE(m.empty());
  }
  std::set<std::string> server_messages;
  for (const auto& c : prefix_cases) {
    const std::string m = std::error_code(c.code).message();
    CHECK(m != resp::server_category().message(9999));
    server_messages.insert(m);
  }
  CHECK(server_messages.size() == std::size(prefix_cases));  // all distinct
  CHECK(std::error_code(server_errc::notbusy).message().find("NOTBUSY") != std::string::npos);
}

TEST_CASE("error codes compare by category, not by value") {
  const std::error_code parse = resp::parse_errc::invalid_type_byte;  // value 1
  const std::error_code adapt = resp::adapt_errc::type_mismatch;      // value 1
  const std::error_code server = server_errc::generic;                // value 1
  CHECK(parse == resp::parse_errc::invalid_type_byte);
  CHECK(parse != adapt);
  CHECK(adapt != server);
  CHECK(server != resp::parse_errc::invalid_type_byte);
  CHECK(server == server_errc::generic);
  CHECK(&server.category() == &resp::server_category());
}

TEST_CASE("std::error_code travels inside boost::system::error_code unchanged") {
  const std::error_code codes[] = {resp::parse_errc::depth_exceeded, resp::adapt_errc::out_of_range,
                                   server_errc::nogroup, server_errc::loading};
  for (const auto& std_ec : codes) {
    const boost::system::error_code boost_ec = std_ec;
    CAPTURE(std_ec);
    CHECK(boost_ec.failed());
    CHECK(boost_ec == std_ec);
    // (boost_ec.value() is not std_ec.value(): Boost mixes the category's address into the
    // value of a wrapped std::error_code, so code that switches on value() must convert back
    // to std::error_code first.)
    CHECK(boost_ec.message() == std_ec.message());
    CHECK(std::error_code(boost_ec) == std_ec);
  }
  const boost::system::error_code nogroup = std::error_code(server_errc::nogroup);
  CHECK(nogroup == server_errc::nogroup);
  CHECK(nogroup != server_errc::noscript);
  CHECK(nogroup != resp::parse_errc::invalid_length);  // both are 3, categories differ
  const boost::system::error_code depth = std::error_code(resp::parse_errc::depth_exceeded);
  CHECK(depth == resp::parse_errc::depth_exceeded);
  CHECK(depth != resp::adapt_errc::out_of_range);
}

TEST_CASE("redis::is_retryable and is_fatal") {
  using redis::client_errc;
  auto boost_of = [](std::error_code e) { return boost::system::error_code(e); };

  CHECK(redis::is_retryable(client_errc::not_connected));
  CHECK(redis::is_retryable(client_errc::connect_timeout));
  CHECK(redis::is_retryable(client_errc::health_check_timeout));
  CHECK_FALSE(redis::is_retryable(client_errc::outcome_unknown));  // the caller decides
  CHECK_FALSE(redis::is_retryable(client_errc::shut_down));
  CHECK_FALSE(redis::is_retryable(client_errc::invalid_url));
  CHECK_FALSE(redis::is_retryable(client_errc::blocking_command_on_shared_connection));
  CHECK_FALSE(redis::is_retryable({}));

  for (const auto& c : prefix_cases)
    if (!c.transient) CHECK_FALSE(redis::is_retryable(boost_of(c.code)));
  CHECK_FALSE(redis::is_retryable(boost_of(resp::parse_errc::invalid_type_byte)));
  CHECK_FALSE(redis::is_retryable(boost_of(resp::adapt_errc::type_mismatch)));

  CHECK(redis::is_fatal(boost_of(server_errc::wrongpass)));
  CHECK(redis::is_fatal(boost_of(server_errc::noauth)));
  CHECK(redis::is_fatal(boost_of(server_errc::noperm)));
  CHECK(redis::is_fatal(client_errc::invalid_url));
  CHECK(redis::is_fatal(boost::system::error_code(1, boost::asio::error::get_ssl_category())));
  CHECK_FALSE(redis::is_fatal(boost_of(server_errc::loading)));
  CHECK_FALSE(redis::is_fatal(boost_of(server_errc::generic)));
  CHECK_FALSE(redis::is_fatal(client_errc::not_connected));
  CHECK_FALSE(redis::is_fatal(client_errc::outcome_unknown));
  CHECK_FALSE(redis::is_fatal(boost::asio::error::connection_reset));
  CHECK_FALSE(redis::is_fatal({}));

  // a client code is not confused with a resp code of the same value
  const boost::system::error_code not_connected = client_errc::not_connected;  // value 2
  CHECK(not_connected != server_errc::busygroup);                              // value 2
  CHECK(std::string(not_connected.category().name()) == "streamq.redis.client");
  CHECK_FALSE(not_connected.message().empty());
}

// Regression: a std::error_code wrapped in boost::system::error_code reports neither its
// category nor its value unchanged; is_retryable() must convert back before looking.
TEST_CASE("redis::is_retryable: transient server errors") {
  for (const auto& c : prefix_cases) {
    INFO(c.message);
    CHECK(redis::is_retryable(boost::system::error_code(std::error_code(c.code))) == c.transient);
  }
}

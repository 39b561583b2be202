// lib/redis/handshake_reply.*: the server's name and version read from a RESP3 HELLO reply,
// the handshake's first error, and parse_version / server_info::at_least.
#include "redis/handshake_reply.hpp"
#include "reply_harness.hpp"

#include <streamq/redis/server_info.hpp>
#include <streamq/resp/error.hpp>

#include <doctest/doctest.h>

#include <string>

namespace redis = streamq::redis;
namespace resp = streamq::resp;

namespace {
// HELLO 3 as redis-server 7.0.15 answers it (modules empty), and as valkey-server 8.0.1 does
// with a module listed (an aggregate value to skip).
const std::string redis_hello =
    "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"
    "$2\r\nid\r\n:5\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$7\r\nmodules\r\n*0\r\n";
const std::string valkey_hello_with_module =
    "%7\r\n$6\r\nserver\r\n$6\r\nvalkey\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n"
    "*1\r\n%2\r\n$4\r\nname\r\n$6\r\nserver\r\n$3\r\nver\r\n:1\r\n"
    "$7\r\nversion\r\n$5\r\n8.0.1\r\n$2\r\nid\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
    "$4\r\nrole\r\n$6\r\nmaster\r\n";
}  // namespace

TEST_CASE("handshake_reply reads the server's name and version from HELLO") {
  redis::handshake_reply reply(0);
  reply_harness::for_every_split(redis_hello, reply, [&] {
    CHECK_FALSE(reply.first_error());
    CHECK(reply.server().name == "redis");
    CHECK(reply.server().version == "7.0.15");
    CHECK(reply.server().major == 7);
    CHECK(reply.server().minor == 0);
    CHECK(reply.server().patch == 15);
  });
  // A module's own "name"/"server" fields, nested deeper, are not the server's.
  redis::handshake_reply valkey(0);
  reply_harness::for_every_split(valkey_hello_with_module, valkey, [&] {
    CHECK(valkey.server().name == "valkey");
    CHECK(valkey.server().version == "8.0.1");
    CHECK(valkey.server().at_least(8, 0, 1));
  });
}

TEST_CASE("handshake_reply: the first error of the handshake, and no HELLO to read") {
  // HELLO refused (an old server), then SELECT's +OK.
  redis::handshake_reply refused(0);
  reply_harness::for_every_split(
      "-ERR unknown command 'HELLO'\r\n+OK\r\n", refused,
      [&] {
        CHECK(refused.first_error() == resp::server_errc::generic);
        CHECK_FALSE(refused.server().known());
      },
      2);
  // RESP2 handshake (AUTH, CLIENT SETNAME): nothing is read as a HELLO.
  redis::handshake_reply resp2(redis::handshake_reply::npos);
  reply_harness::for_every_split("+OK\r\n+OK\r\n", resp2, [&] {
    CHECK_FALSE(resp2.first_error());
    CHECK_FALSE(resp2.server().known());
  }, 2);
}

TEST_CASE("parse_version and at_least") {
  unsigned major = 9, minor = 9, patch = 9;
  CHECK(redis::parse_version("7.0.15", major, minor, patch));
  CHECK((major == 7 && minor == 0 && patch == 15));
  CHECK(redis::parse_version("8.2", major, minor, patch));
  CHECK((major == 8 && minor == 2 && patch == 0));
  CHECK(redis::parse_version("7.4.2-rc1", major, minor, patch));
  CHECK(patch == 2);
  CHECK_FALSE(redis::parse_version("seven", major, minor, patch));
  CHECK_FALSE(redis::parse_version("7", major, minor, patch));
  CHECK_FALSE(redis::parse_version("", major, minor, patch));
  CHECK(major == 0);

  redis::server_info v;
  CHECK_FALSE(v.at_least(0, 0));  // unknown
  v.name = "redis";
  v.major = 7;
  v.minor = 2;
  v.patch = 4;
  CHECK(v.at_least(7, 2));
  CHECK(v.at_least(7, 2, 4));
  CHECK_FALSE(v.at_least(7, 2, 5));
  CHECK(v.at_least(6, 9, 99));
  CHECK_FALSE(v.at_least(7, 4));
  CHECK_FALSE(v.at_least(8, 0));
}

// scan_partition_key (lib/streams/sansio/envelope_scan.hpp) against libprotobuf: the key it
// finds in a serialized Envelope is the one a full parse gives, for envelopes with and without
// a key, every other field set, unknown fields, and repeated keys; malformed bytes are nullopt.
#include "streams/sansio/envelope_scan.hpp"

#include <streamq/streams/envelope.hpp>

#include <doctest/doctest.h>
#include <google/protobuf/stubs/logging.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace streamq::streams::detail;
namespace v1 = streamq::v1;

namespace {
v1::Envelope full(const std::string& key) {
  v1::Envelope e;
  e.set_message_id("m-1");
  e.set_type("shop.Order");
  e.set_payload(std::string(300, 'x'));
  e.set_created_at_unix_ms(1764657241234);
  e.set_attempt(3);
  (*e.mutable_headers())["traceparent"] = "00-abc-def-01";
  e.set_schema_version(2);
  e.set_idempotency_key("order-7");
  e.set_partition_key(key);
  e.set_sequence(~0ull);
  e.set_producer_id("p-1");
  return e;
}
}  // namespace

TEST_CASE("envelope scan: the partition key as libprotobuf reads it") {
  const std::vector<std::string> keys{"", "customer-42", std::string(200, 'k'), "\xc3\x84"};
  for (const auto& key : keys) {
    CAPTURE(key);
    const auto bytes = full(key).SerializeAsString();
    const auto found = scan_partition_key(bytes);
    REQUIRE(found.has_value());
    CHECK(*found == key);
  }
  CHECK(scan_partition_key("") == std::optional<std::string_view>(""));
  v1::Envelope only;
  only.set_partition_key("k");
  CHECK(scan_partition_key(only.SerializeAsString()) == std::optional<std::string_view>("k"));
}

TEST_CASE("envelope scan: the last key wins, unknown fields of every wire type are passed by") {
  std::string bytes = full("first").SerializeAsString();
  v1::Envelope later;
  later.set_partition_key("second");
  bytes += later.SerializeAsString();
  // Unknown fields 20 (varint), 21 (fixed64), 22 (length-delimited), 23 (fixed32).
  bytes += std::string("\xa0\x01\x96\x01", 4);
  bytes += std::string("\xa9\x01", 2) + std::string(8, '\x01');
  bytes += std::string("\xb2\x01\x03" "abc", 6);
  bytes += std::string("\xbd\x01", 2) + std::string(4, '\x02');
  v1::Envelope parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  CHECK(parsed.partition_key() == "second");
  CHECK(scan_partition_key(bytes) == std::optional<std::string_view>("second"));
}

TEST_CASE("envelope scan: groups are skipped as libprotobuf skips them, with a key inside") {
  // Field 9 as a group (start 0x4b ... end 0x4c) holding a field 9 string, then nested groups
  // of field 20: all unknown to an Envelope, skipped; the key is the one outside.
  std::string bytes = full("outside").SerializeAsString();
  bytes += std::string("\x4b\x4a\x02in\x4c", 6);
  bytes += std::string("\xa3\x01\xa3\x01\x08\x01\xa4\x01\xa4\x01", 10);
  v1::Envelope parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  CHECK(parsed.partition_key() == "outside");
  CHECK(scan_partition_key(bytes) == std::optional<std::string_view>("outside"));
}

TEST_CASE("envelope scan: malformed wire data is nullopt, never a key") {
  const auto bytes = full("customer-42").SerializeAsString();
  // Every truncation that cuts a field short.
  google::protobuf::LogSilencer quiet;
  int refused = 0;
  for (std::size_t n = 1; n < bytes.size(); ++n) {
    const std::string cut = bytes.substr(0, n);  // the key found is a view into it
    v1::Envelope parsed;
    const bool parses = parsed.ParseFromString(cut);
    const auto found = scan_partition_key(cut);
    CHECK(found.has_value() == parses);
    if (parses) CHECK(*found == parsed.partition_key());
    refused += found ? 0 : 1;
  }
  CHECK(refused > 0);
  CHECK_FALSE(scan_partition_key(std::string("\x4a\x05" "ab", 4)));          // length past the end
  CHECK_FALSE(scan_partition_key(std::string("\x4b", 1)));                  // an open group
  CHECK_FALSE(scan_partition_key(std::string("\x4c", 1)));                  // an end, no start
  CHECK_FALSE(scan_partition_key(std::string("\x4b\x54", 2)));              // ends another one
  CHECK_FALSE(scan_partition_key(std::string("\x4e", 1)));                  // wire type 6
  CHECK_FALSE(scan_partition_key(std::string("\x02\x00", 2)));              // field 0
  CHECK_FALSE(scan_partition_key(std::string(11, '\xff') + std::string(1, '\x01')));  // long varint
}

TEST_CASE("envelope scan: random bytes agree with libprotobuf whenever it parses them") {
  // libprotobuf logs each string field it refuses as invalid UTF-8: not this test's business.
  google::protobuf::LogSilencer quiet;
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 40);
  int parsed_count = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes;
    const int n = length(rng);
    for (int i = 0; i < n; ++i) bytes.push_back(static_cast<char>(byte(rng)));
    v1::Envelope parsed;
    if (!parsed.ParseFromString(bytes)) continue;
    ++parsed_count;
    const auto found = scan_partition_key(bytes);
    REQUIRE(found.has_value());
    CHECK(*found == parsed.partition_key());
  }
  CHECK(parsed_count > 100);
}

TEST_CASE("envelope scan: an entry's fields, with its version checked") {
  const auto e = full("k-1").SerializeAsString();
  const std::vector<std::string> entry{"v", "1", "e", e};
  CHECK(scan_entry_partition_key(entry) == std::optional<std::string_view>("k-1"));
  const std::vector<std::string> reversed{"e", e, "v", "1"};
  CHECK(scan_entry_partition_key(reversed) == std::optional<std::string_view>("k-1"));
  const std::vector<std::string> v2{"v", "2", "e", e};
  CHECK_FALSE(scan_entry_partition_key(v2));
  const std::vector<std::string> no_body{"v", "1"};
  CHECK_FALSE(scan_entry_partition_key(no_body));
  const std::vector<std::string> odd{"v", "1", "e"};
  CHECK_FALSE(scan_entry_partition_key(odd));
}

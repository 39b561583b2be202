// Tests of lib/admin/payload_json.* and descriptor_files.* (no server): payloads rendered
// through a descriptor set protoc built from testdata/shop.proto, and through the .proto
// itself; the payload bytes written by hand here (a tiny wire writer), so the expected JSON
// does not come from protobuf's own serializer; every way an operator's file can be wrong,
// as a typed error naming the file; envelopes with hostile strings as valid JSON.
#include <streamq/admin/error.hpp>
#include <streamq/admin/payload_json.hpp>

#include <boost/system/system_error.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace admin = streamq::admin;
namespace fs = std::filesystem;

namespace {

const fs::path testdata = STREAMQ_ADMIN_TESTDATA;
const fs::path descriptor_set = STREAMQ_ADMIN_DESCRIPTOR_SET;
const fs::path descriptor_set_without_imports = STREAMQ_ADMIN_DESCRIPTOR_SET_WITHOUT_IMPORTS;

// Protobuf's wire format, as far as the test needs it.
std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string number_field(int field, std::uint64_t v) { return varint(field << 3 | 0) + varint(v); }
std::string bytes_field(int field, const std::string& bytes) {
  return varint(field << 3 | 2) + varint(bytes.size()) + bytes;
}

// shop.v1.Order{order_id "A1", customer_number 2^53 + 1, status SHIPPED, one line of 3 "x"
// at EUR 5, labels {k: v}, placed_at 1 s after the epoch}.
std::string order_bytes() {
  const std::string money = bytes_field(1, "EUR") + number_field(2, 5);
  const std::string line = bytes_field(1, "x") + number_field(2, 3) + bytes_field(3, money);
  const std::string label = bytes_field(1, "k") + bytes_field(2, "v");
  return bytes_field(1, "A1") + number_field(2, 9007199254740993ULL) + number_field(3, 2) +
         bytes_field(4, line) + bytes_field(5, label) + bytes_field(6, number_field(1, 1));
}

const std::string order_json =
    R"({"order_id":"A1","customer_number":"9007199254740993","status":"SHIPPED",)"
    R"("lines":[{"sku":"x","quantity":3,"price":{"currency_code":"EUR","units":"5"}}],)"
    R"("labels":{"k":"v"},"placed_at":"1970-01-01T00:00:01Z"})";

// The typed error `call` throws, and its text.
template <class Call>
std::pair<boost::system::error_code, std::string> error_of(Call call) {
  try {
    call();
  } catch (const boost::system::system_error& e) {
    return {e.code(), e.what()};
  }
  FAIL("no exception");
  return {};
}

fs::path write_temp(const std::string& name, const std::string& bytes) {
  const auto path = fs::temp_directory_path() / ("streamq-admin-test-" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST_CASE("admin payload: a descriptor set renders a payload as protobuf's JSON mapping") {
  admin::payload_renderer r;
  CHECK_FALSE(r.knows("shop.v1.Order"));
  CHECK_FALSE(r.to_json("shop.v1.Order", order_bytes()));
  r.add_descriptor_set(descriptor_set);
  CHECK(r.knows("shop.v1.Order"));
  CHECK(r.knows("shop.v1.Order.Line"));
  CHECK(r.knows("common.Money"));
  CHECK(r.to_json("shop.v1.Order", order_bytes()) == order_json);
  CHECK(r.to_json("shop.v1.Order", "") == std::string("{}"));
  // Adding the same file again changes nothing.
  r.add_descriptor_set(descriptor_set);
  CHECK(r.to_json("shop.v1.Order", order_bytes()) == order_json);
  // A moved renderer keeps its types.
  admin::payload_renderer moved = std::move(r);
  CHECK(moved.to_json("common.Money", bytes_field(1, "EUR")) ==
        std::string(R"({"currency_code":"EUR"})"));
}

TEST_CASE("admin payload: an unknown type, a non-message name and bytes that do not parse") {
  admin::payload_renderer r;
  r.add_descriptor_set(descriptor_set);
  CHECK_FALSE(r.knows("shop.v1.Refund"));
  CHECK_FALSE(r.to_json("shop.v1.Refund", order_bytes()));
  CHECK_FALSE(r.knows("shop.v1.Order.Status"));  // an enum, not a message
  CHECK_FALSE(r.to_json("shop.v1.Order.Status", ""));
  CHECK_FALSE(r.to_json("", ""));
  // A length past the end, a varint cut short, an end-group tag with no group.
  CHECK_FALSE(r.to_json("shop.v1.Order", "\x0a\x05" "ab"));
  CHECK_FALSE(r.to_json("shop.v1.Order", "\xff\xff\xff"));
  CHECK_FALSE(r.to_json("shop.v1.Order", "\x0c"));
}

TEST_CASE("admin payload: a .proto file parsed at run time, imports and well-known types") {
  admin::payload_renderer r;
  r.add_proto(testdata / "shop.proto", {testdata});
  CHECK(r.knows("shop.v1.Order"));
  CHECK(r.to_json("shop.v1.Order", order_bytes()) == order_json);
  // The imports resolve against the file's own directory too; the same files again, and a
  // descriptor set holding them, change nothing.
  r.add_proto(testdata / "shop.proto", {});
  r.add_descriptor_set(descriptor_set);
  CHECK(r.to_json("shop.v1.Order", order_bytes()) == order_json);
}

TEST_CASE("admin payload: files that cannot be read are typed errors naming the file") {
  admin::payload_renderer r;
  const auto missing = testdata / "no-such.pb";
  auto [code, text] = error_of([&] { r.add_descriptor_set(missing); });
  CHECK(code == make_error_code(admin::errc::descriptor_unreadable));
  CHECK(text.find(missing.string()) != std::string::npos);
  std::tie(code, text) = error_of([&] { r.add_descriptor_set(testdata); });  // a directory
  CHECK(code == make_error_code(admin::errc::descriptor_unreadable));
  std::tie(code, text) = error_of([&] { r.add_proto(testdata / "no-such.proto", {}); });
  CHECK(code == make_error_code(admin::errc::descriptor_unreadable));
  CHECK(text.find("no-such.proto") != std::string::npos);
}

TEST_CASE("admin payload: garbage and incomplete descriptor sets are descriptor_invalid") {
  admin::payload_renderer r;
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"text.pb", "this is not a descriptor set\n"},
           {"empty.pb", ""},
           {"cut.pb", "\x0a\x7f\x0a"},
       }) {
    const auto path = write_temp(name, bytes);
    const auto [code, text] = error_of([&] { r.add_descriptor_set(path); });
    CHECK(code == make_error_code(admin::errc::descriptor_invalid));
    CHECK(text.find(path.string()) != std::string::npos);
    fs::remove(path);
  }
  // protoc without --include_imports: shop.proto's imports are not in it.
  const auto [code, text] = error_of([&] { r.add_descriptor_set(descriptor_set_without_imports); });
  CHECK(code == make_error_code(admin::errc::descriptor_invalid));
  CHECK(text.find(descriptor_set_without_imports.string()) != std::string::npos);
  CHECK(text.find("--include_imports") != std::string::npos);
  CHECK_FALSE(r.knows("shop.v1.Order"));
}

TEST_CASE("admin payload: a .proto that does not parse names the file, line and column") {
  admin::payload_renderer r;
  const auto broken = testdata / "broken.proto";
  auto [code, text] = error_of([&] { r.add_proto(broken, {}); });
  CHECK(code == make_error_code(admin::errc::proto_parse_failed));
  // Line 7 lacks the ';' that line 6 should end with: protoc reports where it expected it.
  CHECK(text.find(broken.string() + ":7:3: Expected \";\"") != std::string::npos);
  CHECK_FALSE(r.knows("shop.v1.Broken"));
  // An import that is nowhere: the importing line is named.
  const auto lonely = write_temp("lonely.proto",
                                 "syntax = \"proto3\";\nimport \"nowhere/missing.proto\";\n"
                                 "message Lonely { int32 a = 1; }\n");
  std::tie(code, text) = error_of([&] { r.add_proto(lonely, {}); });
  CHECK(code == make_error_code(admin::errc::proto_parse_failed));
  CHECK(text.find("nowhere/missing.proto") != std::string::npos);
  CHECK(text.find(lonely.string()) != std::string::npos);
  fs::remove(lonely);
}

TEST_CASE("admin payload: envelope_json - every field, hostile strings escaped, payload both ways") {
  streamq::v1::Envelope e;
  e.set_message_id("m-1");
  e.set_type("shop.v1.Order");
  e.set_payload(order_bytes());
  e.set_created_at_unix_ms(1700000000123);
  e.set_attempt(2);
  e.set_schema_version(1);
  e.set_sequence(18446744073709551615ULL);
  e.set_producer_id("p\"1");
  e.set_partition_key("caf\xc3\xa9");           // valid UTF-8 kept
  e.set_idempotency_key(std::string("k\0y", 3));  // a NUL byte
  (*e.mutable_headers())["z"] = "last";
  (*e.mutable_headers())["q\"uote\\"] = "line\nbreak\t\x01\x1f";
  (*e.mutable_headers())["bad"] = "\xff\xc3(";  // not UTF-8: one U+FFFD per byte
  const std::string fields =
      R"({"message_id":"m-1","type":"shop.v1.Order","created_at_ms":1700000000123,)"
      R"("attempt":2,"schema_version":1,"sequence":18446744073709551615,"producer_id":"p\"1",)"
      R"("headers":{"bad":")" "\xef\xbf\xbd\xef\xbf\xbd(" R"(","q\"uote\\":"line\nbreak\t\u0001\u001f",)"
      R"("z":"last"},"partition_key":"caf)" "\xc3\xa9" R"(","idempotency_key":"k\u0000y",)";
  const std::string base64 =
      "CgJBMRCBgICAgICAEBgCIg4KAXgQAxoHCgNFVVIQBSoGCgFrEgF2MgIIAQ==";
  CHECK(admin::envelope_json(e, nullptr) ==
        fields + R"("payload":null,"payload_base64":")" + base64 + "\"}");
  admin::payload_renderer r;
  r.add_descriptor_set(descriptor_set);
  CHECK(admin::envelope_json(e, &r) ==
        fields + R"("payload":)" + order_json + R"(,"payload_base64":")" + base64 + "\"}");
  // Bytes the type does not parse: null, still with the bytes.
  e.set_payload("\xff");
  CHECK(admin::envelope_json(e, &r).ends_with(R"("payload":null,"payload_base64":"/w=="})"));
  e.set_payload("ab");
  CHECK(admin::envelope_json(e, &r).ends_with(R"("payload":null,"payload_base64":"YWI="})"));
  CHECK(admin::json_string("\x7f") == "\"\x7f\"");
}

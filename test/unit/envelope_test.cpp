// Tests of lib/streams/wire/envelope.cpp: the stream entry format (fields v and e), its decoding
// errors and limits, dead-letter entries, make_envelope, the UTF-8 rule of string fields
// (refused when encoding, malformed when decoding, libprotobuf silent in both) and producer IDs.

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/message_id.hpp>

#include <test_legacy.pb.h>
#include <test_messages.pb.h>

#include <doctest/doctest.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <ostream>  // doctest prints error codes with it
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace streams = streamq::streams;
namespace v1 = streamq::v1;
using google::protobuf::util::MessageDifferencer;
using streams::errc;

namespace {

streamq::test::Order sample_order() {
  streamq::test::Order order;
  order.set_id("o-17");
  order.set_amount_cents(12'345);
  order.add_items("book");
  order.add_items(std::string("nul\0 crlf\r\n caf\xc3\xa9", 17));  // valid UTF-8
  return order;
}

v1::Envelope sample_envelope() {
  streams::envelope_options options;
  options.headers = {{"correlation-id", "c-1"},
                     {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                     {"tenant", "acme"}};
  options.schema_version = 3;
  options.idempotency_key = "order-o-17";
  options.partition_key = "customer-9";
  auto envelope = streams::make_envelope(sample_order(), options);
  envelope.set_attempt(2);
  envelope.set_sequence(41);
  envelope.set_producer_id("p-1");
  return envelope;
}

std::vector<std::string> fields_of(const streams::entry_fields& f) {
  return {f.begin(), f.end()};
}

// Counts what libprotobuf logs while it lives (all its logging goes through one handler).
struct protobuf_log_counter {
  static inline int count = 0;
  google::protobuf::LogHandler* previous;
  protobuf_log_counter() : previous(google::protobuf::SetLogHandler(&on_log)) { count = 0; }
  ~protobuf_log_counter() { google::protobuf::SetLogHandler(previous); }
  protobuf_log_counter(const protobuf_log_counter&) = delete;
  protobuf_log_counter& operator=(const protobuf_log_counter&) = delete;
  static void on_log(google::protobuf::LogLevel, const char*, int, const std::string&) { ++count; }
};

}  // namespace

TEST_CASE("make_envelope fills type, payload, ID, time and options") {
  const auto before = std::chrono::system_clock::now();
  const auto envelope = sample_envelope();
  const auto after = std::chrono::system_clock::now();
  CHECK(envelope.type() == "streamq.test.Order");
  streamq::test::Order decoded;
  REQUIRE(decoded.ParseFromString(envelope.payload()));
  CHECK(MessageDifferencer::Equals(decoded, sample_order()));
  CHECK(envelope.message_id().size() == streams::message_id_length);
  const auto ms = [](auto t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  CHECK(envelope.created_at_unix_ms() >= ms(before));
  CHECK(envelope.created_at_unix_ms() <= ms(after));
  CHECK(envelope.headers().size() == 3);
  CHECK(envelope.headers().at("tenant") == "acme");
  CHECK(envelope.schema_version() == 3);
  CHECK(envelope.idempotency_key() == "order-o-17");
  CHECK(envelope.partition_key() == "customer-9");
  // a given ID and time are kept
  streams::envelope_options options;
  options.message_id = "my-id";
  options.created_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1234));
  const auto fixed = streams::make_envelope(sample_order(), options);
  CHECK(fixed.message_id() == "my-id");
  CHECK(fixed.created_at_unix_ms() == 1234);
  CHECK(fixed.attempt() == 0);
  CHECK(fixed.sequence() == 0);
}

TEST_CASE("make_envelope refuses a message with missing required fields") {
  streamq::test::Legacy legacy;  // proto2, `id` required
  CHECK_THROWS_AS((void)streams::make_envelope(legacy), std::invalid_argument);
  legacy.set_id("x");
  CHECK(streams::make_envelope(legacy).type() == "streamq.test.Legacy");
}

TEST_CASE("an envelope with headers round-trips through entry fields") {
  const auto envelope = sample_envelope();
  const auto encoded = streams::encode_entry(envelope);
  CHECK(encoded[0] == "v");
  CHECK(encoded[1] == "1");
  CHECK(encoded[2] == "e");
  CHECK(encoded[3].size() == envelope.ByteSizeLong());

  v1::Envelope decoded;
  REQUIRE(streams::decode_entry(std::span<const std::string>(encoded), decoded) ==
          streams::error_code());
  CHECK(MessageDifferencer::Equals(decoded, envelope));

  auto result = streams::decode_entry(std::span<const std::string>(encoded));
  REQUIRE(result.has_value());
  CHECK(MessageDifferencer::Equals(*result, envelope));

  const std::vector<std::string_view> views(encoded.begin(), encoded.end());
  v1::Envelope from_views;
  REQUIRE_FALSE(streams::decode_entry(std::span<const std::string_view>(views), from_views));
  CHECK(MessageDifferencer::Equals(from_views, envelope));
}

TEST_CASE("field order does not matter and unknown fields are ignored") {
  const auto envelope = sample_envelope();
  const auto encoded = streams::encode_entry(envelope);
  const std::vector<std::string> fields{"trace", "x", "e", encoded[3], "note", "", "v", "1"};
  v1::Envelope decoded;
  REQUIRE_FALSE(streams::decode_entry(fields, decoded));
  CHECK(MessageDifferencer::Equals(decoded, envelope));
}

TEST_CASE("entries that are not streamq messages are malformed") {
  const auto e = streams::encode_entry(sample_envelope())[3];
  const std::vector<std::vector<std::string>> cases{
      {},                                    // no fields at all
      {"v", "1"},                            // no e
      {"e", e},                              // no v
      {"v", "1", "e"},                       // odd count
      {"v", "1", "e", e, "e", e},            // e twice
      {"v", "1", "v", "1", "e", e},          // v twice
      {"payload", "hello", "type", "text"},  // a foreign writer
  };
  for (const auto& fields : cases) {
    CAPTURE(fields.size());
    v1::Envelope out;
    CHECK(streams::decode_entry(fields, out) == errc::malformed_entry);
  }
}

TEST_CASE("an unknown envelope version is reported as such, whatever the other fields") {
  const auto e = streams::encode_entry(sample_envelope())[3];
  for (const std::vector<std::string>& fields :
       std::vector<std::vector<std::string>>{{"v", "2", "e", e},
                                             {"v", "2"},
                                             {"v", "", "e", e},
                                             {"v", "1 ", "e", e},
                                             {"v", "01", "e", e},
                                             {"v", "2", "x", "future layout"}}) {
    CAPTURE(fields[1]);
    v1::Envelope out;
    CHECK(streams::decode_entry(fields, out) == errc::unknown_envelope_version);
  }
}

TEST_CASE("corrupted envelope bytes fail to decode") {
  const auto good = streams::encode_entry(sample_envelope())[3];
  std::vector<std::string> corrupt{
      good.substr(0, good.size() - 1),  // the last field (producer_id) cut short
      good.substr(0, 1),                // a tag without its value
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),  // varint too long
      std::string("\x0a\x7f") + "abc",     // string field longer than the data
      std::string("\x07", 1),              // wire type 7 does not exist
      std::string("\x0a\x02\xc3\x28", 4),  // message_id not valid UTF-8
  };
  const protobuf_log_counter logs;  // the UTF-8 case is found before protobuf could log it
  for (const auto& bytes : corrupt) {
    CAPTURE(bytes.size());
    v1::Envelope out;
    CHECK(streams::decode_entry(std::vector<std::string>{"v", "1", "e", bytes}, out) ==
          errc::malformed_entry);
  }
  // empty bytes are a valid (all-default) envelope: nothing to reject at this layer
  v1::Envelope empty;
  CHECK_FALSE(streams::decode_entry(std::vector<std::string>{"v", "1", "e", ""}, empty));
  CHECK(logs.count == 0);
}

TEST_CASE("size limits: envelope bytes before parsing, payload after") {
  auto envelope = sample_envelope();
  envelope.set_payload(std::string(1000, 'p'));
  const auto encoded = streams::encode_entry(envelope);
  const std::vector<std::string> fields(encoded.begin(), encoded.end());
  v1::Envelope out;

  streams::entry_limits exact;
  exact.max_payload_bytes = 1000;
  exact.max_metadata_bytes = encoded[3].size() - 1000;
  CHECK_FALSE(streams::decode_entry(fields, out, exact));
  CHECK_FALSE(streams::check_limits(envelope, exact));

  auto small_payload = exact;
  small_payload.max_payload_bytes = 999;
  small_payload.max_metadata_bytes += 1;  // the whole envelope still fits
  CHECK(streams::decode_entry(fields, out, small_payload) == errc::message_too_large);
  CHECK(streams::check_limits(envelope, small_payload) == errc::message_too_large);

  auto small_envelope = exact;
  small_envelope.max_metadata_bytes -= 1;
  CHECK(streams::decode_entry(fields, out, small_envelope) == errc::message_too_large);
  CHECK(streams::check_limits(envelope, small_envelope) == errc::message_too_large);
  // checked before parsing: garbage that long is too large, not malformed
  const std::vector<std::string> garbage{"v", "1", "e", std::string(encoded[3].size(), '\xff')};
  CHECK(streams::decode_entry(garbage, out, small_envelope) == errc::message_too_large);

  // the defaults take 1 MiB payloads and refuse more
  envelope.set_payload(std::string(streams::entry_limits{}.max_payload_bytes, 'p'));
  CHECK_FALSE(streams::check_limits(envelope));
  envelope.mutable_payload()->push_back('p');
  CHECK(streams::check_limits(envelope) == errc::message_too_large);
}

TEST_CASE("dead-letter entries round-trip through fields v and d") {
  v1::DeadLetter dead;
  dead.set_original_entry_id("1700000000000-0");
  dead.set_topic("orders");
  dead.set_group("billing");
  dead.set_attempts(5);
  dead.set_last_error("card declined");
  dead.set_error_code("streamq.streams:10");
  dead.set_consumer("host-1");
  dead.set_dead_lettered_at_unix_ms(1700000001000);
  *dead.mutable_envelope() = sample_envelope();
  auto* raw = dead.add_raw_fields();
  raw->set_name("payload");
  raw->set_value(std::string("\0\1", 2));

  const auto encoded = streams::encode_dead_letter(dead);
  CHECK(fields_of(encoded) == std::vector<std::string>{"v", "1", "d", encoded[3]});
  v1::DeadLetter decoded;
  REQUIRE_FALSE(streams::decode_dead_letter(std::span<const std::string>(encoded), decoded));
  CHECK(MessageDifferencer::Equals(decoded, dead));

  // a topic entry is not a dead letter, nor the other way round
  const auto entry = streams::encode_entry(sample_envelope());
  CHECK(streams::decode_dead_letter(std::span<const std::string>(entry), decoded) ==
        errc::malformed_entry);
  v1::Envelope envelope;
  CHECK(streams::decode_entry(std::span<const std::string>(encoded), envelope) ==
        errc::malformed_entry);
  const std::vector<std::string_view> future{"v", "2", "d", "x"};
  CHECK(streams::decode_dead_letter(std::span<const std::string_view>(future), decoded) ==
        errc::unknown_envelope_version);
}

TEST_CASE("is_valid_utf8 accepts exactly what protobuf accepts in a string field") {
  std::size_t checked = 0;
  std::string first_mismatch;
  auto compare = [&](const std::string& text) {
    ++checked;
    const bool ours = streams::is_valid_utf8(text);
    const bool theirs = google::protobuf::internal::IsStructurallyValidUTF8(
        text.data(), static_cast<int>(text.size()));
    if (ours != theirs && first_mismatch.empty()) first_mismatch = text;
  };
  auto bytes = [](std::initializer_list<unsigned> values) {
    std::string out;
    for (unsigned v : values) out += static_cast<char>(v);
    return out;
  };
  // Every sequence of one and two bytes, every three-byte one led by a non-ASCII byte; each
  // also behind eight ASCII bytes (the word-at-a-time path) and before them (a cut tail).
  for (unsigned a = 0; a < 256; ++a)
    for (unsigned b = 0; b < 256; ++b) {
      const std::string two = bytes({a, b});
      compare(bytes({a}));
      compare(two);
      compare("abcdefgh" + two);
      compare(two + "abcdefgh");
      if (a < 0x80) continue;
      for (unsigned c = 0; c < 256; ++c) compare(bytes({a, b, c}));
    }
  // Four-byte sequences: every lead and second byte, the edges of the others.
  for (unsigned a = 0xe0; a < 256; ++a)
    for (unsigned b = 0; b < 256; ++b)
      for (unsigned c : {0x00u, 0x7fu, 0x80u, 0xbfu, 0xc0u})
        for (unsigned d : {0x41u, 0x80u, 0xbfu, 0xc0u, 0xffu}) {
          compare(bytes({a, b, c, d}));
          compare("0123456789" + bytes({a, b, c, d}) + "x");
        }
  compare("");
  compare(std::string(1000, 'a') + "\xe2\x82\xac");  // the euro sign after a long ASCII run
  CAPTURE(first_mismatch.size());
  CHECK(first_mismatch.empty());
  CHECK(checked == 256 * 256 * 4 + 128 * 256 * 256 + 32 * 256 * 5 * 5 * 2 + 2);
}

TEST_CASE("validate_envelope_strings names the string field that is not UTF-8") {
  const std::string bad = "caf\xc3(";  // a two-byte sequence cut by '('
  using setter = void (*)(v1::Envelope&, const std::string&);
  const std::vector<std::pair<setter, std::string>> cases{
      {[](v1::Envelope& e, const std::string& s) { e.set_message_id(s); }, "message_id"},
      {[](v1::Envelope& e, const std::string& s) { e.set_type(s); }, "type"},
      {[](v1::Envelope& e, const std::string& s) { e.set_idempotency_key(s); }, "idempotency_key"},
      {[](v1::Envelope& e, const std::string& s) { e.set_partition_key(s); }, "partition_key"},
      {[](v1::Envelope& e, const std::string& s) { e.set_producer_id(s); }, "producer_id"},
      {[](v1::Envelope& e, const std::string& s) { (*e.mutable_headers())["tenant"] = s; },
       "headers[\"tenant\"] value"},
      {[](v1::Envelope& e, const std::string& s) { (*e.mutable_headers())[s] = "v"; },
       "headers key \"caf\\xc3(\""},
  };
  const protobuf_log_counter logs;
  for (const auto& [set, name] : cases) {
    CAPTURE(name);
    auto envelope = sample_envelope();
    std::string field = "untouched";
    REQUIRE_FALSE(streams::validate_envelope_strings(envelope, &field));
    CHECK(field == "untouched");
    set(envelope, bad);
    CHECK(streams::validate_envelope_strings(envelope, &field) == errc::invalid_utf8);
    CHECK(field == name);
    CHECK(streams::validate_envelope_strings(envelope) == errc::invalid_utf8);
    // encode_entry refuses it as well, before protobuf could log about it.
    try {
      (void)streams::encode_entry(envelope);
      FAIL("encode_entry accepted it");
    } catch (const boost::system::system_error& e) {
      CHECK(e.code() == errc::invalid_utf8);
      CHECK(std::string(e.what()).find(name) != std::string::npos);
    }
  }
  CHECK(logs.count == 0);
  const streams::error_code ec = errc::invalid_utf8;
  CHECK(ec.value() == 18);  // recorded in dead letters: fixed forever
  CHECK(ec.message().find("UTF-8") != std::string::npos);
  CHECK_FALSE(streams::is_permanent(ec));  // a publish-side refusal, never a delivery outcome
}

TEST_CASE("an entry with a string that is not UTF-8 is malformed, and protobuf says nothing") {
  // Valid placeholders ("\xc3\xa9" is é) replaced in the serialized bytes by a cut sequence.
  auto envelope = sample_envelope();
  envelope.set_message_id("ID-\xc3\xa9-1");
  envelope.set_partition_key("PK-\xc3\xa9-2");
  (*envelope.mutable_headers())["HK-\xc3\xa9-3"] = "x";
  (*envelope.mutable_headers())["tenant"] = "HV-\xc3\xa9-4";
  envelope.set_producer_id("PR-\xc3\xa9-5");
  const std::string good = streams::encode_entry(envelope)[3];
  auto spoiled = [&](const std::string& marker) {
    std::string bytes = good;
    const auto at = bytes.find(marker + "\xc3\xa9");
    REQUIRE(at != std::string::npos);
    bytes[at + marker.size() + 1] = '(';
    return bytes;
  };
  const protobuf_log_counter logs;
  v1::Envelope out;
  REQUIRE_FALSE(streams::decode_entry(std::vector<std::string>{"v", "1", "e", good}, out));
  for (const std::string marker : {"ID-", "PK-", "HK-", "HV-", "PR-"}) {
    CAPTURE(marker);
    CHECK(streams::decode_entry(std::vector<std::string>{"v", "1", "e", spoiled(marker)}, out) ==
          errc::malformed_entry);
    // inside a dead letter's envelope too: field 9, its length as a two-byte varint
    v1::DeadLetter letter;
    letter.set_topic("orders");
    const std::string inner = spoiled(marker);
    REQUIRE(inner.size() >= 0x80);
    REQUIRE(inner.size() < 0x4000);
    const std::string letter_bytes = letter.SerializeAsString() + '\x4a' +
                                     static_cast<char>((inner.size() & 0x7f) | 0x80) +
                                     static_cast<char>(inner.size() >> 7) + inner;
    v1::DeadLetter dead;
    CHECK(streams::decode_dead_letter(std::vector<std::string>{"v", "1", "d", letter_bytes},
                                      dead) == errc::malformed_entry);
  }
  // Bytes protobuf does not check stay accepted: an unknown field, a known number with another
  // wire type, a group (all kept as unknown fields).
  const std::vector<std::string> unchecked{
      std::string("\xa2\x01\x02\xc3(", 5),              // field 20, length-delimited
      std::string("\x08\x05", 2),                       // field 1 (a string) as a varint
      std::string("\xa3\x01\x0a\x02\xc3(\xa4\x01", 8),  // group 20 holding "field 1"
  };
  for (const auto& extra : unchecked) {
    CAPTURE(extra.size());
    CHECK_FALSE(streams::decode_entry(std::vector<std::string>{"v", "1", "e", good + extra}, out));
  }
  CHECK(logs.count == 0);
}

TEST_CASE("a dead letter with error text that is not UTF-8 is written with \\xNN instead") {
  v1::DeadLetter letter;
  letter.set_topic("orders");
  letter.set_last_error("handler threw: caf\xc3( \xff end");
  *letter.mutable_envelope() = sample_envelope();
  const protobuf_log_counter logs;
  const auto encoded = streams::encode_dead_letter(letter);
  v1::DeadLetter decoded;
  REQUIRE_FALSE(streams::decode_dead_letter(std::span<const std::string>(encoded), decoded));
  CHECK(decoded.last_error() == "handler threw: caf\\xc3( \\xff end");
  CHECK(decoded.topic() == "orders");
  CHECK(MessageDifferencer::Equals(decoded.envelope(), letter.envelope()));
  CHECK(logs.count == 0);
}

TEST_CASE("producer IDs: a new one per call, and configured ones are checked") {
  const auto a = streams::new_producer_id();
  const auto b = streams::new_producer_id();
  CHECK(a != b);
  CHECK(a.size() == streams::message_id_length);
  CHECK(streams::producer_id_problem(a).empty());
  CHECK(streams::producer_id_problem("billing-7@host:1").empty());
  CHECK(streams::producer_id_problem(std::string(128, 'p')).empty());
  CHECK_FALSE(streams::producer_id_problem("").empty());
  CHECK_FALSE(streams::producer_id_problem(std::string(129, 'p')).empty());
  CHECK_FALSE(streams::producer_id_problem("two words").empty());
  CHECK_FALSE(streams::producer_id_problem("caf\xc3\xa9").empty());
  CHECK_FALSE(streams::producer_id_problem("tab\there").empty());
}

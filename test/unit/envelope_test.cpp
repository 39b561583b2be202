// Tests of lib/streams/envelope.cpp: the stream entry format (fields v and e), its decoding
// errors and limits, dead-letter entries, and make_envelope.

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/message_id.hpp>

#include <test_legacy.pb.h>
#include <test_messages.pb.h>

#include <doctest/doctest.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

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
  const google::protobuf::LogSilencer quiet;  // protobuf logs the UTF-8 case as an error
  for (const auto& bytes : corrupt) {
    CAPTURE(bytes.size());
    v1::Envelope out;
    CHECK(streams::decode_entry(std::vector<std::string>{"v", "1", "e", bytes}, out) ==
          errc::malformed_entry);
  }
  // empty bytes are a valid (all-default) envelope: nothing to reject at this layer
  v1::Envelope empty;
  CHECK_FALSE(streams::decode_entry(std::vector<std::string>{"v", "1", "e", ""}, empty));
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

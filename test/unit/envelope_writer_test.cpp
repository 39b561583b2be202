// Tests of lib/streams/publish/envelope_writer.hpp and its envelope_draft (envelope.cpp): the
// Envelope written from its parts is what libprotobuf writes for the same values (byte for
// byte when the order of headers cannot differ, equal once parsed otherwise, the same size),
// and a typed publish's draft is what make_envelope + check_for_publish + numbering +
// encode_checked_entry give, refusals and their texts included, in one allocation.
//
// This file replaces the global operator new/delete (malloc and free, counted) to count the
// allocations of a draft; nothing else changes for the other tests of its binary.

#include "streams/publish/envelope_writer.hpp"
#include "streams/publish/publishing.hpp"

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/message_id.hpp>

#include <test_legacy.pb.h>
#include <test_messages.pb.h>

#include <doctest/doctest.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <new>
#include <ostream>  // doctest prints error codes with it
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace streams = streamq::streams;
namespace detail = streamq::streams::detail;
namespace v1 = streamq::v1;
using google::protobuf::util::MessageDifferencer;
using streams::errc;

namespace {

constexpr auto u64_max = std::numeric_limits<std::uint64_t>::max();
constexpr auto u32_max = std::numeric_limits<std::uint32_t>::max();
constexpr auto i64_min = std::numeric_limits<std::int64_t>::min();
constexpr auto i64_max = std::numeric_limits<std::int64_t>::max();

// Random envelope parts: strings empty, short, at varint length boundaries or long, ASCII or
// not (always valid UTF-8: a parser refuses anything else), integers zero, extreme or random.
struct parts_source {
  std::mt19937_64 rng;

  explicit parts_source(std::uint64_t seed) : rng(seed) {}

  std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng() % n); }
  bool one_in(std::size_t n) { return below(n) == 0; }

  std::string text() {
    using namespace std::string_literals;
    static const std::vector<std::string> pieces{
        "a", "Z", "7", "-", ":", "\0"s, "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    static const std::vector<std::size_t> boundaries{0, 1, 15, 16, 127, 128, 16383, 16384};
    const std::size_t kind = below(4);
    const std::size_t length = kind == 0   ? 0
                               : kind == 1 ? below(40)
                               : kind == 2 ? boundaries[below(boundaries.size())]
                                           : 100 + below(300);
    const bool ascii = one_in(2);
    std::string out;
    while (out.size() < length) {
      out +=
          ascii ? std::string(1, static_cast<char>('a' + below(26))) : pieces[below(pieces.size())];
    }
    return out;
  }

  std::map<std::string, std::string> headers() {
    std::map<std::string, std::string> out;
    const std::size_t count = one_in(3) ? 0 : below(6);
    while (out.size() < count) out[one_in(5) ? std::string() : text()] = text();
    return out;
  }

  std::int64_t int64() {
    static const std::vector<std::int64_t> picks{0, 1, -1, 127, 128, i64_min, i64_max};
    return one_in(2) ? picks[below(picks.size())] : static_cast<std::int64_t>(rng());
  }
  std::uint32_t uint32() {
    static const std::vector<std::uint32_t> picks{0, 1, 127, 128, 16384, u32_max};
    return one_in(2) ? picks[below(picks.size())] : static_cast<std::uint32_t>(rng());
  }
  std::uint64_t uint64() {
    static const std::vector<std::uint64_t> picks{0, 1, 127, 128, u64_max};
    return one_in(2) ? picks[below(picks.size())] : rng() >> below(64);
  }

  // A payload message: empty (serializes to nothing), small, or over 16 KiB.
  streamq::test::Order payload() {
    streamq::test::Order order;
    switch (below(3)) {
      case 0:
        break;
      case 1:
        order.set_id(text());
        order.set_amount_cents(int64());
        break;
      default:
        order.set_id("big");
        order.add_items(std::string(16 * 1024 + below(8 * 1024), 'x'));
        order.add_items(text());
        break;
    }
    return order;
  }
};

// Everything the writer is given, owned.
struct owned_parts {
  std::string message_id, type, idempotency_key, partition_key, producer_id;
  std::int64_t created_at = 0;
  std::uint32_t attempt = 0, schema_version = 0;
  std::uint64_t sequence = 0;
  std::map<std::string, std::string> headers;
  streamq::test::Order payload;

  static owned_parts random(parts_source& in) {
    owned_parts p;
    p.message_id = in.text();
    p.type = in.text();
    p.created_at = in.int64();
    p.attempt = in.uint32();
    p.headers = in.headers();
    p.schema_version = in.uint32();
    p.idempotency_key = in.text();
    p.partition_key = in.text();
    p.sequence = in.uint64();
    p.producer_id = in.text();
    p.payload = in.payload();
    return p;
  }

  detail::envelope_head head() const {
    detail::envelope_head h;
    h.message_id = message_id;
    h.type = type;
    h.created_at_unix_ms = created_at;
    h.attempt = attempt;
    h.headers = &headers;
    h.schema_version = schema_version;
    h.idempotency_key = idempotency_key;
    h.partition_key = partition_key;
    return h;
  }

  // The Envelope libprotobuf would serialize.
  v1::Envelope envelope() const {
    v1::Envelope e;
    e.set_message_id(message_id);
    e.set_type(type);
    e.set_payload(payload.SerializeAsString());
    e.set_created_at_unix_ms(created_at);
    e.set_attempt(attempt);
    for (const auto& [name, value] : headers) (*e.mutable_headers())[name] = value;
    e.set_schema_version(schema_version);
    e.set_idempotency_key(idempotency_key);
    e.set_partition_key(partition_key);
    e.set_sequence(sequence);
    e.set_producer_id(producer_id);
    return e;
  }
};

// The lines libprotobuf logs while `run` runs (all its logging goes through one handler).
template <class Run>
int protobuf_logs_during(Run run) {
  static int lines = 0;
  lines = 0;
  auto* const previous = google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) { ++lines; });
  run();
  google::protobuf::SetLogHandler(previous);
  return lines;
}

// Today's typed publish, step by step: make_envelope, check_for_publish, numbering,
// encode_checked_entry.
struct reference_publish {
  v1::Envelope envelope;
  streams::error_code refusal;
  std::string what;
  streams::entry_fields fields;

  reference_publish(const google::protobuf::Message& message,
                    const streams::envelope_options& options, const std::string& producer_id,
                    const streams::entry_limits& limits, std::uint64_t sequence)
      : envelope(streams::make_envelope(message, options)) {
    bool unnumbered = false;
    refusal = detail::check_for_publish(envelope, producer_id, limits, what, unnumbered);
    if (refusal) return;
    REQUIRE(unnumbered);
    envelope.set_sequence(sequence);
    fields = detail::encode_checked_entry(envelope);
  }
};

// Random options of a typed publish: explicit ID and time (the reference must see the same),
// headers, keys, schema version.
streams::envelope_options random_options(parts_source& in) {
  streams::envelope_options o;
  o.message_id = in.one_in(8) ? std::string("m") : in.text();
  if (o.message_id.empty()) o.message_id = "id";  // empty: a new random ID (tested apart)
  // Within about 60 years of 1970 either way (nanoseconds in a system_clock time point).
  const auto ms = static_cast<std::int64_t>(in.rng() % 4'000'000'000'000) - 2'000'000'000'000;
  o.created_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  o.headers = in.headers();
  o.schema_version = in.uint32();
  o.idempotency_key = in.one_in(2) ? std::string() : in.text();
  o.dedup_by_content = in.one_in(2);
  o.partition_key = in.text();
  return o;
}

// The draft's entry against the reference's: same fields, same envelope (byte for byte when
// the headers' order cannot differ), same idempotency key.
void check_same_entry(detail::envelope_draft& draft, const reference_publish& ref,
                      std::uint64_t sequence) {
  REQUIRE_FALSE(draft.refusal());
  REQUIRE_FALSE(ref.refusal);
  const auto fields = draft.number(sequence);
  CHECK(fields[0] == ref.fields[0]);
  CHECK(fields[1] == ref.fields[1]);
  CHECK(fields[2] == ref.fields[2]);
  CHECK(fields[3].size() == ref.envelope.ByteSizeLong());
  if (ref.envelope.headers_size() <= 1) CHECK(fields[3] == ref.fields[3]);
  v1::Envelope parsed;
  REQUIRE(parsed.ParseFromString(fields[3]));
  CHECK(MessageDifferencer::Equals(parsed, ref.envelope));
  CHECK(draft.idempotency_key(fields[3]) == ref.envelope.idempotency_key());
}

}  // namespace

TEST_CASE("varints: sizes and bytes as protobuf writes them") {
  const std::vector<std::pair<std::uint64_t, std::string>> cases{
      {0, std::string(1, '\0')},
      {1, "\x01"},
      {127, "\x7f"},
      {128, "\x80\x01"},
      {300, "\xac\x02"},
      {16383, "\xff\x7f"},
      {16384, "\x80\x80\x01"},
      {u64_max, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"}};
  for (const auto& [value, bytes] : cases) {
    CAPTURE(value);
    CHECK(detail::varint_size(value) == bytes.size());
    std::string out(10, '?');
    const char* const end = detail::put_varint(out.data(), value);
    CHECK(std::string(out.c_str(), end) == bytes);
  }
}

TEST_CASE("envelope_writer writes what libprotobuf writes, for random envelopes") {
  parts_source in(20261202);
  std::size_t identical = 0, with_headers = 0;
  for (int i = 0; i < 1500; ++i) {
    CAPTURE(i);
    const auto parts = owned_parts::random(in);
    const auto expected = parts.envelope();
    const std::size_t payload_size = parts.payload.ByteSizeLong();
    const detail::envelope_writer writer(parts.head(), payload_size);
    const std::size_t size =
        writer.head_size() + detail::envelope_writer::tail_size(parts.sequence, parts.producer_id);
    CHECK(size == expected.ByteSizeLong());

    std::string out;
    out.reserve(size);
    const char* const buffer = out.data();
    writer.append_head(out, parts.payload);
    CHECK(out.size() == writer.head_size());
    detail::envelope_writer::append_tail(out, parts.sequence, parts.producer_id);
    CHECK(out.data() == buffer);  // written within the reservation
    CHECK(out.size() == size);
    CHECK(out.substr(writer.payload_offset(), payload_size) == expected.payload());
    CHECK(out.substr(writer.idempotency_key_offset(), parts.idempotency_key.size()) ==
          parts.idempotency_key);

    v1::Envelope parsed;
    REQUIRE(parsed.ParseFromString(out));
    CHECK(MessageDifferencer::Equals(parsed, expected));
    if (parts.headers.size() <= 1) {
      CHECK(out == expected.SerializeAsString());
      ++identical;
    } else {
      ++with_headers;
    }

    // The payload given as bytes is written the same.
    std::string from_bytes;
    writer.append_head(from_bytes, expected.payload());
    detail::envelope_writer::append_tail(from_bytes, parts.sequence, parts.producer_id);
    CHECK(from_bytes == out);
  }
  // Both kinds were met often.
  CHECK(identical > 300);
  CHECK(with_headers > 300);
}

TEST_CASE("envelope_writer refuses a payload that is not the size it measured") {
  streamq::test::Order order;
  order.set_id("abc");
  detail::envelope_head head;
  head.type = "t";
  const detail::envelope_writer writer(head, order.ByteSizeLong());
  order.set_id("abcdef");  // changed after it was measured: its cached size is stale
  (void)order.ByteSizeLong();
  std::string out;
  CHECK_THROWS_AS(writer.append_head(out, order), std::logic_error);
  CHECK_THROWS_AS(writer.append_head(out, std::string_view("abc")), std::logic_error);
  CHECK(out.empty());
}

TEST_CASE("a typed publish's draft is today's envelope, numbered, for random messages") {
  parts_source in(95);
  int compared = 0, keyed = 0;
  for (int i = 0; i < 600; ++i) {
    CAPTURE(i);
    const auto message = in.payload();
    const auto options = random_options(in);
    std::string producer_id = in.text();
    if (producer_id.empty()) producer_id = "p";
    const std::uint64_t sequence = in.uint64() | 1;  // a publisher's numbers start at 1
    const streams::entry_limits limits{.max_payload_bytes = 64 * 1024,
                                       .max_metadata_bytes = 256 * 1024};
    const reference_publish ref(message, options, producer_id, limits, sequence);
    detail::envelope_draft draft(message, options, producer_id, limits);
    CHECK(draft.refusal() == ref.refusal);
    CHECK(draft.what() == ref.what);
    if (ref.refusal) continue;
    check_same_entry(draft, ref, sequence);
    ++compared;
    keyed += ref.envelope.idempotency_key().empty() ? 0 : 1;
  }
  CHECK(compared > 400);
  CHECK(keyed > 200);
}

TEST_CASE("a draft without options: a new ID, the current time, in one allocation") {
  const auto message = [] {
    streamq::test::Order order;
    order.set_id("o-1");
    order.add_items(std::string(20 * 1024, 'i'));
    return order;
  }();
  const std::string producer_id = "producer-1";
  const auto before = std::chrono::system_clock::now();
  detail::envelope_draft draft(message, {}, producer_id, {});
  const auto after = std::chrono::system_clock::now();
  const auto fields = draft.number(7);
  v1::Envelope parsed;
  REQUIRE(parsed.ParseFromString(fields[3]));
  CHECK(parsed.message_id().size() == streams::message_id_length);
  const auto ms = [](auto t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  CHECK(parsed.created_at_unix_ms() >= ms(before));
  CHECK(parsed.created_at_unix_ms() <= ms(after));
  CHECK(parsed.type() == "streamq.test.Order");
  CHECK(parsed.payload() == message.SerializeAsString());
  CHECK(parsed.sequence() == 7);
  CHECK(parsed.producer_id() == producer_id);
  CHECK(parsed.headers().empty());
  CHECK(parsed.idempotency_key().empty());
  CHECK(draft.idempotency_key(fields[3]).empty());

  // With its ID and time given, the draft allocates its one string and numbering none (the
  // entry's other fields are short strings); a new ID (new_message_id()) may take one more.
  streams::envelope_options options;
  options.message_id = "01HZXKQ6V9D8W3G5N7RTB2C4MA";
  options.created_at = before;
  options.headers = {{"traceparent", std::string(55, 't')}};
  options.partition_key = std::string(40, 'k');
  const std::size_t at_start = allocations.load();
  detail::envelope_draft given(message, options, producer_id, {});
  const std::size_t after_draft = allocations.load();
  auto numbered = given.number(u64_max);
  const std::size_t after_number = allocations.load();
  CHECK(after_draft - at_start == 1);
  CHECK(after_number - after_draft == 0);
  CHECK(numbered[3].size() + 9 >= numbered[3].capacity());  // reserved for the widest number
  const std::size_t before_new_id = allocations.load();
  detail::envelope_draft fresh(message, {}, producer_id, {});
  CHECK(allocations.load() - before_new_id <= 2);
}

TEST_CASE("a draft refuses what check_for_publish refuses, with the same error and text") {
  const std::vector<std::string> bad{"caf\xc3(", "\xff", "\xed\xa0\x80", "\xc0\xaf",
                                     std::string(200, 'a') + "\xf4\x90\x80\x80"};
  const std::string producer_id = "p-1";
  streamq::test::Order message;
  message.set_id("o");
  using option_setter = void (*)(streams::envelope_options&, const std::string&);
  const std::vector<std::pair<option_setter, std::string>> fields{
      {[](streams::envelope_options& o, const std::string& s) { o.message_id = s; }, "message_id"},
      {[](streams::envelope_options& o, const std::string& s) { o.headers["tenant"] = s; },
       "headers[\"tenant\"] value"},
      {[](streams::envelope_options& o, const std::string& s) { o.headers[s] = "v"; },
       "headers key \""},
      {[](streams::envelope_options& o, const std::string& s) { o.idempotency_key = s; },
       "idempotency_key"},
      {[](streams::envelope_options& o, const std::string& s) { o.partition_key = s; },
       "partition_key"},
  };
  const int logged = protobuf_logs_during([&] {
    for (const auto& text : bad)
      for (const auto& [set, name] : fields) {
        CAPTURE(name);
        CAPTURE(text);
        streams::envelope_options options;
        options.message_id = "m";
        options.headers = {{"a", "b"}};
        set(options, text);
        const reference_publish ref(message, options, producer_id, {}, 1);
        detail::envelope_draft draft(message, options, producer_id, {});
        CHECK(ref.refusal == errc::invalid_utf8);
        CHECK(draft.refusal() == errc::invalid_utf8);
        CHECK(draft.what() == ref.what);
        CHECK(draft.what().find(name) != std::string::npos);
        // Numbering a refused draft raises its refusal.
        try {
          (void)draft.number(1);
          FAIL("a refused draft was numbered");
        } catch (const boost::system::system_error& e) {
          CHECK(e.code() == errc::invalid_utf8);
          CHECK(std::string(e.what()).find(name) != std::string::npos);
        }
      }
  });
  CHECK(logged == 0);
}

TEST_CASE("a draft's size limits: the payload, and the envelope with the widest sequence") {
  streamq::test::Order message;
  message.set_id("o");
  message.add_items(std::string(1000, 'x'));
  streams::envelope_options options;
  options.message_id = "m-1";
  options.created_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(5));
  options.headers = {{"h", "v"}};
  options.partition_key = "part";
  const std::string producer_id = "producer";
  const std::size_t payload = message.ByteSizeLong();

  // The envelope as check_for_publish measures it: sequence 2^64 - 1, this producer.
  auto widest = streams::make_envelope(message, options);
  widest.set_producer_id(producer_id);
  widest.set_sequence(u64_max);
  const std::size_t envelope = widest.ByteSizeLong();

  struct limit_case {
    streams::entry_limits limits;
    bool refused;
  };
  const std::vector<limit_case> cases{
      {{.max_payload_bytes = payload, .max_metadata_bytes = envelope - payload}, false},
      {{.max_payload_bytes = payload, .max_metadata_bytes = envelope - payload - 1}, true},
      {{.max_payload_bytes = payload - 1, .max_metadata_bytes = 1 << 20}, true},
      {{.max_payload_bytes = payload + 1, .max_metadata_bytes = envelope - payload - 1}, false},
      {{.max_payload_bytes = payload + 1, .max_metadata_bytes = envelope - payload - 2}, true},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    const auto& [limits, refused] = cases[i];
    const reference_publish ref(message, options, producer_id, limits, 1);
    detail::envelope_draft draft(message, options, producer_id, limits);
    CHECK(static_cast<bool>(ref.refusal) == refused);
    CHECK(draft.refusal() == ref.refusal);
    CHECK(draft.what() == ref.what);
    if (refused) {
      CHECK(draft.refusal() == errc::message_too_large);
      CHECK(draft.what() == "message of " + std::to_string(payload) + " payload bytes");
    } else {
      // Passed with the widest number: any number fits.
      check_same_entry(draft, ref, 1);
    }
  }
}

TEST_CASE("a draft refuses what make_envelope refuses: required fields, over 2 GiB") {
  const std::string producer_id = "p";
  streamq::test::Legacy legacy;  // proto2, `id` required
  CHECK_THROWS_WITH_AS(detail::envelope_draft(legacy, {}, producer_id, {}),
                       doctest::Contains("lacks required fields: id"), std::invalid_argument);
  legacy.set_id("x");
  detail::envelope_draft made(legacy, {}, producer_id, {});
  CHECK_FALSE(made.refusal());

  // 1 + 5 + (INT_MAX - 5) bytes: one over protobuf's limit. Refused before any copy, and
  // libprotobuf, never asked to serialize it, logs nothing.
  streamq::test::Order huge;
  huge.set_id(std::string(std::size_t{INT_MAX} - 5, 'x'));
  CHECK(huge.ByteSizeLong() == std::size_t{INT_MAX} + 1);
  const std::string too_large =
      "streamq: message of type streamq.test.Order is too large to serialize (over 2 GiB - 1)";
  const int logged = protobuf_logs_during([&] {
    CHECK_THROWS_WITH_AS(detail::envelope_draft(huge, {}, producer_id, {}), too_large.c_str(),
                         std::length_error);
    CHECK_THROWS_WITH_AS((void)streams::make_envelope(huge), too_large.c_str(), std::length_error);
  });
  CHECK(logged == 0);
}

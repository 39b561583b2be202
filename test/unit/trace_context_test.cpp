// Tests of include/streamq/streams/tracing.hpp (lib/streams/wire/trace_context.cpp): W3C Trace
// Context level 1 traceparent parsing and formatting with the specification's valid and
// invalid forms, the tracestate limits, new IDs; and the trace headers a publish writes
// (make_envelope, and the typed publish's envelope_draft in publish/envelope_writer.hpp).

#include "streams/publish/envelope_writer.hpp"

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/tracing.hpp>

#include <test_messages.pb.h>

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace sq = streamq::streams;

namespace {

constexpr std::string_view w3c_example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view trace_hex = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view parent_hex = "00f067aa0ba902b7";

std::string with_version(std::string_view version, std::string_view rest = "-01") {
  return std::string(version) + "-" + std::string(trace_hex) + "-" + std::string(parent_hex) +
         std::string(rest);
}

streamq::v1::Envelope parsed(const sq::entry_fields& fields) {
  streamq::v1::Envelope envelope;
  REQUIRE(envelope.ParseFromString(fields[3]));
  return envelope;
}

}  // namespace

TEST_CASE("trace_context: the W3C example traceparent is read field by field") {
  const auto context = sq::parse_traceparent(w3c_example, "congo=t61rcWkgMzE");
  REQUIRE(context.has_value());
  CHECK(context->trace_id_hex() == trace_hex);
  CHECK(context->span_id_hex() == parent_hex);
  CHECK(context->flags == 0x01);
  CHECK(context->sampled());
  CHECK(context->valid());
  CHECK(context->tracestate == "congo=t61rcWkgMzE");
  CHECK(sq::format_traceparent(*context) == w3c_example);

  const auto unsampled = sq::parse_traceparent(with_version("00", "-00"));
  REQUIRE(unsampled.has_value());
  CHECK_FALSE(unsampled->sampled());
  CHECK(sq::format_traceparent(*unsampled) == with_version("00", "-00"));
}

TEST_CASE("trace_context: each kind of invalid traceparent is refused") {
  const std::string zero_trace(32, '0');
  const std::string zero_parent(16, '0');
  const std::vector<std::string> invalid{
      "",
      "00",
      std::string(w3c_example.substr(0, 54)),                      // one character short
      std::string(w3c_example) + "-",                               // version 00 has no more
      std::string(w3c_example) + "0",                               // nor a longer one
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // uppercase trace-id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",    // uppercase parent-id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",    // uppercase flags
      "00-" + zero_trace + "-" + std::string(parent_hex) + "-01",  // all-zero trace-id
      "00-" + std::string(trace_hex) + "-" + zero_parent + "-01",  // all-zero parent-id
      with_version("ff"),                                           // version ff
      with_version("0g"),                                           // version not hex
      with_version("0A"),                                           // version uppercase
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separators
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
      with_version("cc", "-01.what-the-future-will-be-like"),      // a later version: no '-'
  };
  for (const auto& text : invalid) {
    CAPTURE(text);
    CHECK_FALSE(sq::parse_traceparent(text).has_value());
  }
}

TEST_CASE("trace_context: a later version is read by its first four fields") {
  for (const std::string& text :
       {with_version("cc"), with_version("cc", "-01-what-the-future-will-be-like"),
        with_version("01", "-09-")}) {
    CAPTURE(text);
    const auto context = sq::parse_traceparent(text);
    REQUIRE(context.has_value());
    CHECK(context->trace_id_hex() == trace_hex);
    CHECK(context->span_id_hex() == parent_hex);
    // Written back as the version this build knows.
    CHECK(sq::format_traceparent(*context).substr(0, 3) == "00-");
  }
}

TEST_CASE("trace_context: a tracestate is kept within 512 characters and 32 members") {
  std::string members;
  for (int i = 0; i < 32; ++i) members += (i == 0 ? "" : ",") + ("k" + std::to_string(i) + "=v");
  CHECK(sq::valid_tracestate(members));
  CHECK(sq::parse_traceparent(w3c_example, members)->tracestate == members);
  const std::string too_many = members + ",k32=v";
  CHECK_FALSE(sq::valid_tracestate(too_many));
  CHECK(sq::parse_traceparent(w3c_example, too_many)->tracestate.empty());
  // Empty members (allowed by W3C) are not counted.
  CHECK(sq::valid_tracestate(members + ", ,"));

  const std::string longest = "a=" + std::string(sq::max_tracestate_bytes - 2, 'b');
  CHECK(sq::valid_tracestate(longest));
  CHECK_FALSE(sq::valid_tracestate(longest + "b"));
  CHECK(sq::parse_traceparent(w3c_example, longest + "b")->tracestate.empty());
  CHECK_FALSE(sq::valid_tracestate("a=b\nc=d"));
  CHECK_FALSE(sq::valid_tracestate("a=\xc3\xa9"));
  CHECK(sq::valid_tracestate(""));
}

TEST_CASE("trace_context: new traces and child spans") {
  std::set<std::string> traces;
  std::set<std::string> spans;
  constexpr int draws = 1000;
  for (int i = 0; i < draws; ++i) {
    const auto context = sq::new_trace();
    CHECK(context.valid());
    CHECK(context.sampled());
    CHECK(context.tracestate.empty());
    traces.insert(context.trace_id_hex());
    spans.insert(context.span_id_hex());
  }
  CHECK(traces.size() == draws);
  CHECK(spans.size() == draws);

  const auto parent = *sq::parse_traceparent(with_version("00", "-00"), "congo=t61rcWkgMzE");
  const auto child = sq::child_of(parent);
  CHECK(child.trace_id == parent.trace_id);
  CHECK(child.span_id != parent.span_id);
  CHECK(child.flags == parent.flags);
  CHECK(child.tracestate == parent.tracestate);
  CHECK(child.valid());
}

TEST_CASE("trace_context: make_envelope writes envelope_options::trace into the headers") {
  streamq::test::Order order;
  order.set_id("o-1");
  sq::envelope_options options;
  options.headers["tenant"] = "acme";
  CHECK_FALSE(sq::make_envelope(order, options).headers().contains("traceparent"));
  options.trace = sq::parse_traceparent(w3c_example, "congo=t61rcWkgMzE");
  const auto envelope = sq::make_envelope(order, options);
  CHECK(envelope.headers().at("traceparent") == w3c_example);
  CHECK(envelope.headers().at("tracestate") == "congo=t61rcWkgMzE");
  CHECK(envelope.headers().at("tenant") == "acme");
}

TEST_CASE("trace_context: a typed publish's draft writes the trace headers in place of its own") {
  streamq::test::Order order;
  order.set_id("o-2");
  order.set_amount_cents(1250);
  sq::envelope_options options;
  options.headers["a-first"] = "1";
  options.headers["traceparent"] = "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-00";
  options.headers["tracestate"] = "old=1";
  options.headers["z-last"] = "2";
  const std::string producer_id = "producer-1";
  const sq::entry_limits limits;

  SUBCASE("traced, with a tracestate") {
    sq::detail::envelope_draft draft(order, options, producer_id, limits, true, "congo=t61");
    CHECK(draft.message_id().size() > 0);
    const auto context = sq::child_of(*sq::parse_traceparent(w3c_example, "congo=t61"));
    draft.set_trace(context);
    const std::string message_id(draft.message_id());
    const auto envelope = parsed(draft.number(7));
    CHECK(envelope.message_id() == message_id);
    CHECK(envelope.headers().size() == 4);
    CHECK(envelope.headers().at("traceparent") == sq::format_traceparent(context));
    CHECK(envelope.headers().at("tracestate") == "congo=t61");
    CHECK(envelope.headers().at("a-first") == "1");
    CHECK(envelope.headers().at("z-last") == "2");
    streamq::test::Order back;
    REQUIRE(back.ParseFromString(envelope.payload()));
    CHECK(back.amount_cents() == 1250);
    CHECK(envelope.sequence() == 7);
    CHECK(envelope.producer_id() == producer_id);
  }
  SUBCASE("traced, without a tracestate: the options' one is not written either") {
    sq::detail::envelope_draft draft(order, options, producer_id, limits, true, "");
    const auto context = sq::new_trace();
    draft.set_trace(context);
    const auto envelope = parsed(draft.number(1));
    CHECK(envelope.headers().at("traceparent") == sq::format_traceparent(context));
    CHECK_FALSE(envelope.headers().contains("tracestate"));
    CHECK(envelope.headers().size() == 3);
  }
  SUBCASE("not traced: the options' headers as they are") {
    sq::detail::envelope_draft draft(order, options, producer_id, limits);
    draft.set_trace(sq::new_trace());  // nothing to fill in
    const auto envelope = parsed(draft.number(1));
    CHECK(envelope.headers().at("traceparent") == options.headers.at("traceparent"));
    CHECK(envelope.headers().at("tracestate") == "old=1");
  }
}

// Links and runs each layer of the installed package without a server: the RESP parser
// (streamq::resp), URL parsing (streamq::redis), an envelope's encode/decode round trip with
// the packaged wire-format code (streamq::streams). Exits 0 when every check holds.
#include <streamq/redis/config.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/streams/envelope.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test_package: FAILED: %s\n", what);
    ++failures;
  }
}

void resp_layer() {
  const std::string_view reply = "*2\r\n$5\r\nhello\r\n:42\r\n";
  streamq::resp::parser parser;
  std::vector<streamq::resp::node> nodes;
  std::size_t offset = 0;
  std::error_code ec;
  while (offset < reply.size()) {
    const auto node = parser.consume(reply.substr(offset), ec);
    if (!node) break;
    offset += parser.consumed();
    nodes.push_back(*node);
  }
  check(!ec && offset == reply.size(), "the RESP reply parses whole");
  check(nodes.size() == 3 && nodes[0].data_type == streamq::resp::type::array &&
            nodes[0].aggregate_size == 2,
        "an array of two");
  check(nodes.size() == 3 && nodes[1].value == "hello" && nodes[2].value == "42",
        "its elements \"hello\" and 42");
}

void redis_layer() {
  const auto config = streamq::redis::parse_url("redis://worker@10.1.2.3:6390/2");
  check(config.host == "10.1.2.3" && config.port == 6390, "host and port from the URL");
  check(config.username == "worker" && config.database == 2, "user and database from the URL");
}

void streams_layer() {
  streamq::v1::DeadLetter payload;
  payload.set_topic("orders");
  payload.set_attempts(3);
  streamq::streams::envelope_options options;
  options.idempotency_key = "order-17";
  const streamq::v1::Envelope envelope = streamq::streams::make_envelope(payload, options);
  check(envelope.type() == "streamq.v1.DeadLetter", "the envelope names the payload's type");

  const streamq::streams::entry_fields fields = streamq::streams::encode_entry(envelope);
  streamq::v1::Envelope decoded;
  const auto ec = streamq::streams::decode_entry(fields, decoded);
  check(!ec, "the encoded entry decodes");
  streamq::v1::DeadLetter back;
  check(back.ParseFromString(decoded.payload()) && back.topic() == "orders" &&
            back.attempts() == 3 && decoded.idempotency_key() == "order-17",
        "the payload and metadata survive the round trip");
}

}  // namespace

int main() {
  resp_layer();
  redis_layer();
  streams_layer();
  if (failures != 0) return 1;
  std::printf("test_package: resp, redis and streams layers work\n");
  return 0;
}

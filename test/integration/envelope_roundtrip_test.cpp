// The entry format against a real redis-server: an encoded envelope written with XADD through
// streamq::client comes back from XRANGE byte for byte and decodes to the same message.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>

#include <test_messages.pb.h>

#include <doctest/doctest.h>
#include <google/protobuf/util/message_differencer.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
namespace streams = streamq::streams;
using namespace std::chrono_literals;
using google::protobuf::util::MessageDifferencer;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;

namespace {

// XRANGE's reply: [[id, [field, value, ...]], ...].
using entries = std::vector<std::tuple<std::string, std::vector<std::string>>>;

// A topic of its own per test: the unique key prefix with ':' (not allowed) turned into '.'.
std::string unique_topic() {
  auto name = streamq::test::unique_key_prefix(doctest::getContextOptions()->currentTest->m_name);
  std::replace(name.begin(), name.end(), ':', '.');
  return name.substr(0, name.size() - 1);
}

// Runs `body` with a client connected to `server`; ends the client when the body ends.
void with_client(const streamq::test::redis_server& server,
                 const std::function<asio::awaitable<void>(streamq::client&)>& body) {
  streamq::test::run_coroutine([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    streamq::client client(co_await asio::this_coro::executor, server.url());
    co_await (client.async_run(asio::as_tuple(asio::use_awaitable)) || body(client));
  });
}

streamq::test::Order sample_order() {
  streamq::test::Order order;
  order.set_id("o-1");
  order.set_amount_cents(999);
  order.add_items("lamp");
  order.add_items(std::string("\0\r\n$3\r\n*", 9));  // RESP framing bytes inside the payload
  return order;
}

}  // namespace

TEST_CASE("an envelope written with XADD reads back from XRANGE and decodes") {
  streamq::test::redis_server server;
  const streams::topic_keys keys(unique_topic());
  with_client(server, [&](streamq::client& client) -> asio::awaitable<void> {
    streams::envelope_options options;
    options.headers = {{"correlation-id", "c-42"}, {"traceparent", "00-01-02-01"}};
    options.partition_key = "customer-7";
    const auto envelope = streams::make_envelope(sample_order(), options);

    request add;
    add.push("XADD", key{keys.stream()}, "*", streams::encode_entry(envelope));
    add.push("XRANGE", key{keys.stream()}, "-", "+");
    response<std::string, entries> reply;
    co_await streamq::with_deadline(client.async_exec(add, reply), 5s);
    const auto& id = reply.get<0>().value();
    const auto& read = reply.get<1>().value();
    REQUIRE(read.size() == 1);
    CHECK(std::get<0>(read[0]) == id);
    const auto& fields = std::get<1>(read[0]);
    CHECK(fields.size() == 4);
    CHECK(fields[0] == "v");
    CHECK(fields[1] == "1");
    CHECK(fields[2] == "e");

    auto decoded = streams::decode_entry(fields);
    REQUIRE(decoded.has_value());
    CHECK(MessageDifferencer::Equals(*decoded, envelope));
    CHECK(decoded->type() == "streamq.test.Order");
    streamq::test::Order order;
    REQUIRE(order.ParseFromString(decoded->payload()));
    CHECK(MessageDifferencer::Equals(order, sample_order()));
    CHECK(decoded->headers().at("correlation-id") == "c-42");
  });
}

TEST_CASE("entries written by other writers decode to typed errors") {
  streamq::test::redis_server server;
  const streams::topic_keys keys(unique_topic());
  with_client(server, [&](streamq::client& client) -> asio::awaitable<void> {
    const auto good = streams::encode_entry(streams::make_envelope(sample_order()));
    request add;
    add.push("XADD", key{keys.stream()}, "*", "payload", "hello");         // foreign
    add.push("XADD", key{keys.stream()}, "*", "v", "2", "e", good[3]);     // newer format
    add.push("XADD", key{keys.stream()}, "*", "v", "1", "e", "\x0a\x7f");  // truncated
    add.push("XADD", key{keys.stream()}, "*", "e", good[3], "v", "1");     // reordered: fine
    add.push("XRANGE", key{keys.stream()}, "-", "+");
    response<std::string, std::string, std::string, std::string, entries> reply;
    co_await streamq::with_deadline(client.async_exec(add, reply), 5s);
    const auto& read = reply.get<4>().value();
    REQUIRE(read.size() == 4);
    streamq::v1::Envelope out;
    CHECK(streams::decode_entry(std::get<1>(read[0]), out) == streams::errc::malformed_entry);
    CHECK(streams::decode_entry(std::get<1>(read[1]), out) ==
          streams::errc::unknown_envelope_version);
    CHECK(streams::decode_entry(std::get<1>(read[2]), out) == streams::errc::malformed_entry);
    CHECK_FALSE(streams::decode_entry(std::get<1>(read[3]), out));
    CHECK(out.type() == "streamq.test.Order");
  });
}

// A publish the caller gives up on (a timeout, a sibling in ||) must still say whether it may
// have been added: once its XADD was written it is errc::publish_indeterminate, like a reply
// lost to a dropped connection, so the caller knows a retry needs the idempotency key.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"
#include "support/stream_checks.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>

#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::test::redis_server;
using streamq::test::sleep_for;

TEST_CASE("a publish abandoned after its XADD was written fails as publish_indeterminate") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    streamq::streams::publisher pub(c);
    streamq::test::Order order;
    order.set_id("abandoned");
    boost::system::error_code why;
    auto publish = [&]() -> asio::awaitable<void> {
      try {
        co_await pub.publish(topic, order);
      } catch (const boost::system::system_error& e) {
        why = e.code();
      }
    };
    // Writes wait in the server for 300 ms: the XADD is written and unanswered when the
    // caller gives up after 50 ms.
    CHECK(server.command({"CLIENT", "PAUSE", "300", "WRITE"}) == "+OK\r\n");
    co_await (publish() || sleep_for(50ms));
    CHECK(why == streamq::streams::errc::publish_indeterminate);
    CHECK(pub.stats().indeterminate == 1);
    // It did run once the pause ended: exactly the case the error warns about.
    co_await sleep_for(400ms);
    const auto entries = co_await streamq::test::read_topic(c, topic);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].order.id() == "abandoned");
  });
}

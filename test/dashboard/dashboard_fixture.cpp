// The dashboard tests' fixture: see dashboard_fixture.hpp.
#include "dashboard_fixture.hpp"

#include "support/async_test.hpp"

#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <unistd.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>

namespace streamq::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

Order order(int i) {
  Order o;
  o.set_id("order-" + std::to_string(i));
  o.set_amount_cents(100 + i);
  return o;
}

asio::awaitable<resp::value> command(client& c, resp::request req) {
  resp::generic_response reply;
  co_await c.async_exec(req, reply);
  REQUIRE_FALSE(reply.values().empty());
  const auto v = reply.values().front();
  INFO(v.text);
  REQUIRE_FALSE(v.is_error());
  co_return v;
}

// Runs `cons` until `done` holds (REQUIREd within `limit`), then stops it gracefully.
asio::awaitable<void> run_consumer_until(streams::consumer& cons, std::function<bool()> done,
                                         std::chrono::milliseconds limit) {
  std::exception_ptr failure;
  auto until_done = [&]() -> asio::awaitable<void> {
    try {
      co_await wait_until(done, limit);
    } catch (...) {
      failure = std::current_exception();
    }
  };
  co_await run_until(cons.run(), until_done());
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

namespace {

// test_messages.proto as a descriptor set (what protoc --descriptor_set_out writes), taken from
// the compiled-in descriptors: one file per test process, removed when it exits.
struct descriptor_file {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("streamq-dashboard-test-" + std::to_string(::getpid()) + ".desc");
  descriptor_file() {
    google::protobuf::FileDescriptorSet set;
    Order::descriptor()->file()->CopyTo(set.add_file());
    std::ofstream(path, std::ios::binary) << set.SerializeAsString();
  }
  ~descriptor_file() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

}  // namespace

dashboard::dashboard_config test_dashboard_config() {
  static const descriptor_file descriptors;
  dashboard::dashboard_config config;
  config.token = test_token;
  config.descriptor_sets = {descriptors.path};
  return config;
}

void with_dashboard(const std::string& redis_url, dashboard::dashboard_config config,
                    const std::function<asio::awaitable<void>(served_dashboard&)>& body) {
  run_with_client(redis_url, [&](client& c) -> asio::awaitable<void> {
    http::endpoint_config ec;
    ec.request_timeout = 5s;
    http::endpoint ep(co_await asio::this_coro::executor, ec);
    dashboard::dashboard board(c, ep, config);
    served_dashboard served{c, ep, board, ep.port()};
    auto serve = [&]() -> asio::awaitable<void> { co_await (ep.async_run() && board.async_run()); };
    co_await run_until(serve(), body(served));
  });
}

asio::awaitable<seeded> seed(client& c) {
  seeded s;
  s.topic = unique_topic();
  s.partitioned = s.topic + "-parts";
  streams::publisher pub(c);
  std::vector<std::string> ids;
  for (int i = 0; i < seeded_orders; ++i) ids.push_back(co_await pub.publish(s.topic, order(i)));
  s.first_entry_id = ids.front();
  s.dead_entry_id = ids[1];

  // billing: everything handled, order-1 dead-lettered at once (a permanent failure).
  streams::consumer_config billing_config{.group = "billing", .name = "b1"};
  streams::consumer billing(c, billing_config);
  billing.subscribe<Order>(s.topic, [](const Order& o, streams::message_context&) -> asio::awaitable<void> {
    if (o.id() == "order-1")
      throw boost::system::system_error(streams::errc::permanent_failure, "card declined");
    co_return;
  });
  co_await run_consumer_until(
      billing,
      [&] {
        const auto st = billing.stats();
        return st.acked + st.dead_lettered == seeded_orders;
      },
      20s);
  streams::dead_letters letters(c, s.topic, "billing");
  const auto dead = co_await letters.list();
  REQUIRE(dead.size() == 1);
  s.dead_letter_id = dead.front().id;

  // audit: two entries read and never acknowledged, owned by consumer "auditor".
  const streams::topic_keys keys(s.topic);
  resp::request create;
  create.push("XGROUP", "CREATE", resp::key{keys.stream()}, "audit", "0");
  co_await command(c, std::move(create));
  resp::request read;
  read.push("XREADGROUP", "GROUP", "audit", "auditor", "COUNT", "2", "STREAMS",
            resp::key{keys.stream()}, ">");
  co_await command(c, std::move(read));

  streams::scheduler sched(c, streams::scheduler_config{});
  s.delayed_id = co_await sched.publish_in(s.topic, order(100), std::chrono::hours(1));
  const auto every_minute = streams::schedule::parse("every:60000ms@0");
  co_await sched.upsert_recurring(s.topic, "nightly", every_minute, order(200),
                                  streams::missed_policy::skip);

  co_await streams::set_partitions(c, s.partitioned, 2);
  for (std::uint32_t p = 0; p < 2; ++p) {
    const auto part = streams::partition_topic(s.partitioned, p);
    co_await pub.publish(part, order(300 + static_cast<int>(p)));
    resp::request group;
    group.push("XGROUP", "CREATE", resp::key{streams::topic_keys(part).stream()}, "p-group", "0");
    co_await command(c, std::move(group));
  }
  co_return s;
}

asio::awaitable<std::string> data_digest(client& c) {
  resp::request req;
  req.push("DEBUG", "DIGEST");
  const auto v = co_await command(c, std::move(req));
  co_return v.text;
}

asio::awaitable<void> consume_acks(client& c, const std::string& topic, const std::string& group,
                                   std::uint64_t acks) {
  streams::consumer_config config{.group = group, .name = "again"};
  config.retry_poll_interval = 50ms;
  streams::consumer cons(c, config);
  cons.subscribe<Order>(topic, [](const Order&, streams::message_context&) -> asio::awaitable<void> {
    co_return;
  });
  co_await run_consumer_until(cons, [&] { return cons.stats().acked >= acks; }, 20s);
}

}  // namespace streamq::test

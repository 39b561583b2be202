// Publishing from several std::threads onto one client whose io_context runs on a thread of
// its own (publisher.hpp: publish() may be called from several threads; connection.hpp:
// async_exec from another thread is dispatched onto the connection's executor).
//
// Built to be meaningful under ThreadSanitizer: the test threads share nothing but the
// publisher, the client's executor, a std::latch and futures; each thread writes only its
// own result slot, which the main thread reads after joining it.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/publisher.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <future>
#include <latch>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::streams::publisher;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::redis_server;

namespace {

constexpr int thread_count = 4;
constexpr int per_thread = 2000;
constexpr std::size_t total = std::size_t{thread_count} * per_thread;
constexpr std::size_t window = 64;  // publishes each thread keeps in flight
constexpr auto op_limit = 30s;      // no single wait in this test is longer

using entries = std::vector<std::pair<std::string, std::vector<std::string>>>;

std::string order_id(int thread, int i) {
  return "t" + std::to_string(thread) + "-" + std::to_string(i);
}

Order make_order(int thread, int i) {
  Order order;
  order.set_id(order_id(thread, i));
  order.set_amount_cents(i);
  return order;
}

// Owned by one worker thread until it is joined.
struct thread_result {
  std::vector<std::string> ids;  // stream entry IDs returned by publish
  std::string failure;           // what went wrong, if anything
};

// A client running on an io_context that runs on a thread of its own.
class client_thread {
 public:
  explicit client_thread(const std::string& url) : client_(io_.get_executor(), url) {
    client_.async_run([this](streamq::redis::error_code) { run_done_.set_value(); });
    thread_ = std::thread([this] {
      io_.run();
      io_done_.set_value();
    });
  }
  ~client_thread() { stop(); }
  client_thread(const client_thread&) = delete;
  client_thread& operator=(const client_thread&) = delete;

  client& get() noexcept { return client_; }

  // Cancels the client on its own executor and joins the thread, within bounded waits.
  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] { client_.cancel(); });
    const bool run_ended = run_future_.wait_for(op_limit) == std::future_status::ready;
    if (io_future_.wait_for(op_limit) != std::future_status::ready) io_.stop();
    thread_.join();
    CHECK_MESSAGE(run_ended, "the client's run() did not end after cancel()");
  }

 private:
  asio::io_context io_;
  client client_;
  std::promise<void> run_done_;
  std::future<void> run_future_ = run_done_.get_future();
  std::promise<void> io_done_;
  std::future<void> io_future_ = io_done_.get_future();
  std::thread thread_;
};

// Waits for a future with the test's limit; throws instead of hanging.
template <class T>
T get_bounded(std::future<T>& f) {
  if (f.wait_for(op_limit) != std::future_status::ready)
    throw std::runtime_error("no result within the time limit");
  return f.get();
}

// Worker body, variant 1: each publish runs as its own coroutine on the client's executor
// (co_spawn ... use_future), `window` of them in flight.
void publish_via_co_spawn(client& c, publisher& pub, const std::string& topic, int thread,
                          std::latch& start, thread_result& out) {
  try {
    start.arrive_and_wait();
    std::deque<std::future<std::string>> in_flight;
    for (int i = 0; i < per_thread; ++i) {
      in_flight.push_back(asio::co_spawn(
          c.get_executor(), pub.publish(topic, make_order(thread, i)), asio::use_future));
      if (in_flight.size() >= window) {
        out.ids.push_back(get_bounded(in_flight.front()));
        in_flight.pop_front();
      }
    }
    while (!in_flight.empty()) {
      out.ids.push_back(get_bounded(in_flight.front()));
      in_flight.pop_front();
    }
  } catch (const std::exception& e) {
    out.failure = e.what();
  }
}

// One of several coroutines a worker runs on its own io_context: publish() awaited there,
// with the client's executor on another thread.
asio::awaitable<void> publish_lane(publisher& pub, const std::string& topic, int thread, int lane,
                                   int lanes, std::vector<std::string>& ids) {
  for (int i = lane; i < per_thread; i += lanes) {
    const Order order = make_order(thread, i);
    ids.push_back(co_await pub.publish(topic, order));
  }
}

// Worker body, variant 2: the thread runs its own io_context and awaits publish() in
// `window` coroutines there.
void publish_from_own_context(publisher& pub, const std::string& topic, int thread,
                              std::latch& start, thread_result& out) {
  try {
    asio::io_context own;
    constexpr int lanes = static_cast<int>(window);
    int finished = 0;
    std::exception_ptr failure;
    for (int lane = 0; lane < lanes; ++lane)
      asio::co_spawn(own, publish_lane(pub, topic, thread, lane, lanes, out.ids),
                     [&](std::exception_ptr e) {
                       if (e && !failure) failure = e;
                       ++finished;
                     });
    start.arrive_and_wait();
    const auto give_up = std::chrono::steady_clock::now() + op_limit;
    while (finished < lanes && std::chrono::steady_clock::now() < give_up) {
      own.run_for(50ms);
      if (own.stopped()) own.restart();
    }
    if (failure) std::rethrow_exception(failure);
    if (finished < lanes) throw std::runtime_error("publishing did not finish in time");
  } catch (const std::exception& e) {
    out.failure = e.what();
  }
}

struct stream_contents {
  std::int64_t length = 0;
  entries all;
};

// XLEN, then every entry in pages (runs on the client's executor).
asio::awaitable<stream_contents> read_stream(client& c, topic_keys keys) {
  stream_contents contents;
  request len;
  len.push("XLEN", key{keys.stream()});
  response<std::int64_t> n;
  co_await c.async_exec(len, n);
  contents.length = n.get<0>().value();
  std::string from = "-";
  while (true) {
    request req;
    req.push("XRANGE", key{keys.stream()}, from, "+", "COUNT", 1000);
    response<entries> page;
    co_await c.async_exec(req, page);
    const auto& got = page.get<0>().value();
    if (got.empty()) break;
    from = "(" + got.back().first;
    contents.all.insert(contents.all.end(), got.begin(), got.end());
  }
  co_return contents;
}

// Everything published is in the stream exactly once, with a unique sequence each.
void check_stream(client_thread& ct, publisher& pub, const std::string& topic,
                  const std::vector<thread_result>& results) {
  std::set<std::string> returned_ids;
  for (const auto& r : results) {
    CHECK_MESSAGE(r.failure.empty(), r.failure);
    CHECK(r.ids.size() == static_cast<std::size_t>(per_thread));
    returned_ids.insert(r.ids.begin(), r.ids.end());
  }
  CHECK(returned_ids.size() == total);

  auto read = asio::co_spawn(ct.get().get_executor(), read_stream(ct.get(), topic_keys(topic)),
                             asio::use_future);
  const stream_contents contents = get_bounded(read);
  CHECK(contents.length == static_cast<std::int64_t>(total));
  REQUIRE(contents.all.size() == total);

  std::map<std::string, int> orders;  // order ID -> times seen
  std::set<std::uint64_t> sequences;
  std::set<std::string> stream_ids;
  for (const auto& [id, fields] : contents.all) {
    stream_ids.insert(id);
    streamq::v1::Envelope envelope;
    REQUIRE_FALSE(streamq::streams::decode_entry(fields, envelope));
    Order order;
    REQUIRE(order.ParseFromString(envelope.payload()));
    ++orders[order.id()];
    CHECK(sequences.insert(envelope.sequence()).second);  // no sequence twice
  }
  CHECK(stream_ids == returned_ids);
  CHECK(orders.size() == total);
  for (int t = 0; t < thread_count; ++t)
    for (int i = 0; i < per_thread; ++i) {
      const auto it = orders.find(order_id(t, i));
      const int seen = it == orders.end() ? 0 : it->second;
      if (seen != 1) FAIL_CHECK("order " << order_id(t, i) << " is in the stream " << seen << "x");
    }
  // one publisher: its sequence numbers are exactly 1..total
  CHECK(sequences.size() == total);
  if (!sequences.empty()) {
    CHECK(*sequences.begin() == 1);
    CHECK(*sequences.rbegin() == total);
  }
  const auto stats = pub.stats();
  CHECK(stats.published == total);
  CHECK(stats.failed == 0);
  CHECK(stats.indeterminate == 0);
}

}  // namespace

TEST_SUITE_BEGIN("publisher_thread");

TEST_CASE("threads publish through co_spawn onto the client's executor") {
  redis_server server;
  const std::string topic = streamq::test::unique_topic();
  client_thread ct(server.url());
  publisher pub(ct.get());
  std::vector<thread_result> results(thread_count);
  {
    std::latch start(thread_count);
    std::vector<std::jthread> workers;
    for (int t = 0; t < thread_count; ++t)
      workers.emplace_back([&, t] {
        publish_via_co_spawn(ct.get(), pub, topic, t, start, results[static_cast<std::size_t>(t)]);
      });
  }  // joined here
  check_stream(ct, pub, topic, results);
  ct.stop();
}

TEST_CASE("threads await publish() on their own io_contexts") {
  redis_server server;
  const std::string topic = streamq::test::unique_topic();
  client_thread ct(server.url());
  publisher pub(ct.get());
  std::vector<thread_result> results(thread_count);
  {
    std::latch start(thread_count);
    std::vector<std::jthread> workers;
    for (int t = 0; t < thread_count; ++t)
      workers.emplace_back([&, t] {
        publish_from_own_context(pub, topic, t, start, results[static_cast<std::size_t>(t)]);
      });
  }  // joined here
  check_stream(ct, pub, topic, results);
  ct.stop();
}

TEST_SUITE_END();

TEST_CASE("a publish awaited after its topic string and message are gone still publishes") {
  redis_server server;
  const auto topic = streamq::test::unique_topic();
  streamq::test::run_with_client(server.url(), [&](client& c) -> asio::awaitable<void> {
    publisher pub(c);
    // Awaitables start lazily: the temporaries below die before the publish runs.
    auto publish_later = pub.publish(std::string(topic) + "", Order());
    auto envelope_later =
        pub.publish_envelope(std::string(topic), streamq::streams::make_envelope(Order()));
    co_await std::move(publish_later);
    co_await std::move(envelope_later);
    request req;
    req.push("XLEN", key{topic_keys(topic).stream()});
    response<std::size_t> len;
    co_await c.async_exec(req, len);
    CHECK(len.get<0>().value() == 2);
  });
}

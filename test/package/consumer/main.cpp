// streamq-consumer: the program of the consumer project (CMakeLists.txt beside it). Publishes
// one incidents.v1.IncidentReport, a message type of the application's own, to a fresh topic
// and consumes it in a consumer group. Exits 0 only when the report consumed has the content
// of the one published; 1 with the reason on stderr otherwise; 2 without STREAMQ_REDIS_URL.
#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <incident.pb.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace asio = boost::asio;
namespace streams = streamq::streams;
using incidents::v1::IncidentReport;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

IncidentReport make_report() {
  IncidentReport report;
  report.set_note("payment handler rejected order 17 after a schema change");
  report.set_severity(3);
  streamq::v1::DeadLetter& dead = *report.mutable_dead_letter();
  dead.set_original_entry_id("1700000000000-0");
  dead.set_topic("orders");
  dead.set_group("billing");
  dead.set_attempts(4);
  dead.set_last_error("amount_cents is negative");
  streamq::v1::Envelope& envelope = *dead.mutable_envelope();
  envelope.set_type("shop.v1.Order");
  envelope.set_payload(std::string("\x08\x11\x10\x00\xff", 5));  // bytes, NUL and 0xff included
  (*envelope.mutable_headers())["correlation-id"] = "c-17";
  return report;
}

// Protobuf's wire bytes of a message, in a deterministic field order, for comparing contents.
std::string wire_bytes(const IncidentReport& report) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!report.SerializeToCodedStream(&coded)) throw std::runtime_error("cannot serialize");
  }
  return out;
}

asio::awaitable<void> round_trip(streamq::client& client, const std::string& topic,
                                 std::optional<IncidentReport>& received) {
  streams::consumer_config config;
  config.group = "package-consumer";
  config.name = "package-consumer-1";
  config.shutdown_grace = 2s;
  streams::consumer consumer(client, config);
  consumer.subscribe<IncidentReport>(
      topic, [&](const IncidentReport& report, streams::message_context&) -> asio::awaitable<void> {
        received = report;
        co_return;  // acknowledges
      });
  streams::publisher publisher(client);

  auto publish_and_wait = [&]() -> asio::awaitable<void> {
    const std::string entry_id = co_await publisher.publish(topic, make_report());
    std::printf("published an IncidentReport to %s as entry %s\n", topic.c_str(),
                entry_id.c_str());
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (consumer.stats().acked == 0) {
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
  };
  // The consumer runs until the report is acknowledged; then run_until stops it.
  co_await streamq::run_until(consumer.run(), publish_and_wait());
}

}  // namespace

int main() {
  const char* url = std::getenv("STREAMQ_REDIS_URL");
  if (url == nullptr) {
    std::fprintf(stderr, "streamq-consumer: set STREAMQ_REDIS_URL (e.g. redis://127.0.0.1:6379)\n");
    return 2;
  }
  // A topic of its own on every run: a long-lived server may hold earlier runs' entries.
  const std::string topic =
      "package-consumer-" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  try {
    asio::io_context io;
    streamq::client client(io.get_executor(), url);
    std::optional<IncidentReport> received;
    std::exception_ptr failure;
    auto body = [&]() -> asio::awaitable<void> {
      try {
        co_await streamq::with_deadline(round_trip(client, topic, received), 30s);
      } catch (...) {
        failure = std::current_exception();
      }
    };
    // The client's owner operation runs until the body ends.
    asio::co_spawn(io, client.async_run(asio::as_tuple(asio::use_awaitable)) || body(),
                   asio::detached);
    io.run();
    if (failure) std::rethrow_exception(failure);
    if (!received) throw std::runtime_error("no IncidentReport was consumed");
    if (wire_bytes(*received) != wire_bytes(make_report()))
      throw std::runtime_error("the IncidentReport consumed differs from the one published: " +
                               received->ShortDebugString());
    std::printf("consumed it back unchanged: %s\n", received->note().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamq-consumer FAILED: %s\n", e.what());
    return 1;
  }
  return 0;
}

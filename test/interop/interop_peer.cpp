// streamq-interop-peer: the C++ side of the cross-language tests (test/interop, driven by
// run_interop.sh), using only streamq's public API:
//
//   streamq-interop-peer publish TOPIC N [--corrupt blob|amount|header]
//   streamq-interop-peer consume TOPIC GROUP N
//   streamq-interop-peer retry-consume TOPIC GROUP N
//
// Messages are those of interop_sample.proto's specification, built here independently of the
// Node program. `consume` expects the N messages the Node program published; `retry-consume`
// joins a group in which the Node program acknowledged the even messages and scheduled
// retries of the odd ones, and runs exactly those retries. Redis: STREAMQ_REDIS_URL.
// Exit status: 0 all checks passed, 1 a content or protocol check failed (each one printed),
// 2 anything else (usage, Redis unreachable, timeout).
#include <streamq/client.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/run_until.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/publisher.hpp>

#include <interop_sample.pb.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <google/protobuf/util/message_differencer.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace streams = streamq::streams;
using streamq::interop::v1::Sample;
using namespace std::chrono_literals;

constexpr int exit_mismatch = 1;
constexpr int exit_error = 2;

// What failed a check; printed at the end, each line starting with MISMATCH.
std::vector<std::string> problems;

// --- interop_sample.proto's specification --------------------------------------------------

Sample sample_of(std::uint32_t i) {
  Sample s;
  s.set_index(i);
  s.set_text("Zażółć gęślą jaźń — 東京 🚀 #" + std::to_string(i));
  std::string blob(256 + i, '\0');
  for (std::size_t k = 0; k < blob.size(); ++k)
    blob[k] = static_cast<char>((37 * k + i) % 256);
  s.set_blob(blob);
  s.set_amount(-9007199254740993LL - static_cast<std::int64_t>(i));
  s.set_big(UINT64_MAX - i);
  for (std::uint32_t k = 0; k <= i % 3; ++k) s.add_tags("tag-" + std::to_string(k) + "-ü");
  (*s.mutable_attributes())["kind"] = "sample-" + std::to_string(i);
  (*s.mutable_attributes())["ключ"] = "значение-" + std::to_string(i);
  s.set_flag(i % 2 == 1);
  return s;
}

// The Envelope of message i, payload aside.
streamq::v1::Envelope envelope_of(std::uint32_t i, const std::string& producer_id, bool old_attempt) {
  streamq::v1::Envelope e;
  e.set_message_id("msg-" + std::to_string(i));
  e.set_type(Sample::descriptor()->full_name());
  e.set_created_at_unix_ms(1700000000000LL + i);
  e.set_attempt(old_attempt && i == 1 ? 2 : 0);
  (*e.mutable_headers())["correlation-id"] = "corr-" + std::to_string(i);
  (*e.mutable_headers())["x-note"] = "ünïcødé ✓ " + std::to_string(i);
  e.set_schema_version(2);
  if (i % 2 == 0) e.set_idempotency_key("key-" + std::to_string(i));
  e.set_partition_key("part-" + std::to_string(i % 3));
  e.set_sequence(i == 0 ? 1 : i + 2);
  e.set_producer_id(producer_id);
  return e;
}

// --- checks --------------------------------------------------------------------------------

void check(bool ok, const std::string& what) {
  if (!ok) problems.push_back(what);
}

// Every field of `actual` against `expected` (but `ignored`); the differences are named.
void compare(const google::protobuf::Message& actual, const google::protobuf::Message& expected,
             const std::string& what, const google::protobuf::FieldDescriptor* ignored = nullptr) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  differencer.set_report_ignores(false);
  if (ignored != nullptr) differencer.IgnoreField(ignored);
  if (differencer.Compare(actual, expected)) return;
  // One line per problem (the report escapes strings and bytes itself).
  std::string shown = what + ": ";
  for (const char c : report) shown += c == '\n' ? std::string("; ") : std::string(1, c);
  problems.push_back(shown);
}

asio::awaitable<void> wait_until(const std::function<bool()>& done, const char* what) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (const auto give_up = std::chrono::steady_clock::now() + 15s; !done();) {
    if (std::chrono::steady_clock::now() >= give_up)
      throw std::runtime_error(std::string("timed out waiting for ") + what);
    timer.expires_after(20ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// --- commands ------------------------------------------------------------------------------

asio::awaitable<void> publish(streamq::client& client, std::string topic, std::uint32_t n,
                              std::string corrupt) {
  streams::publisher_config config;
  config.producer_id = "interop-cpp";
  streams::publisher publisher(client, config);
  auto publish_one = [&](std::uint32_t i) -> asio::awaitable<std::string> {
    Sample sample = sample_of(i);
    const streamq::v1::Envelope meta = envelope_of(i, "interop-cpp", false);
    streams::envelope_options options;
    options.message_id = meta.message_id();
    options.created_at = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(meta.created_at_unix_ms()));
    options.headers.insert(meta.headers().begin(), meta.headers().end());
    options.schema_version = meta.schema_version();
    options.idempotency_key = meta.idempotency_key();
    options.partition_key = meta.partition_key();
    if (i == 3 && corrupt == "blob") (*sample.mutable_blob())[100] ^= 0x01;
    if (i == 3 && corrupt == "amount") sample.set_amount(sample.amount() + 1);
    if (i == 3 && corrupt == "header") options.headers["x-note"] = "unicode ✓ 3";
    co_return co_await publisher.publish(topic, sample, options);
  };
  const std::string first = co_await publish_one(0);
  const std::string again = co_await publish_one(0);
  check(again == first, "second publish of key-0 gave " + again + ", expected " + first);
  for (std::uint32_t i = 1; i < n; ++i) co_await publish_one(i);
  check(publisher.stats().duplicates == 1, "publisher counted no duplicate");
}

// Runs a consumer of `group` until each of `expected` was handled (and acknowledged) once.
// `check_one` checks a delivery and returns its index.
asio::awaitable<void> consume_each(
    streamq::client& client, const std::string& topic, const std::string& group,
    const std::set<std::uint32_t>& expected, std::uint64_t stream_length,
    const std::function<std::uint32_t(const Sample&, const streams::message_context&)>& check_one) {
  streams::consumer_config config;
  config.group = group;
  config.name = "cpp-" + group;
  config.block = 100ms;
  config.retry_poll_interval = 50ms;
  config.shutdown_grace = 2s;
  streams::consumer consumer(client, config);
  std::set<std::uint32_t> seen;
  consumer.subscribe<Sample>(
      topic, [&](const Sample& sample, streams::message_context& ctx) -> asio::awaitable<void> {
        const std::uint32_t i = check_one(sample, ctx);
        check(expected.contains(i), "message " + std::to_string(i) + " was not expected here");
        check(seen.insert(i).second, "message " + std::to_string(i) + " handled twice");
        co_return;
      });
  auto all_acked = [&] { return seen == expected && consumer.stats().acked >= expected.size(); };
  co_await streamq::run_until(consumer.run(), wait_until(all_acked, "every message"));
  const streams::consumer_stats stats = consumer.stats();
  check(stats.acked == expected.size() && stats.dead_lettered == 0 && stats.delivered == expected.size(),
        "consumer stats: " + std::to_string(stats.delivered) + " delivered, " +
            std::to_string(stats.acked) + " acked, " + std::to_string(stats.dead_lettered) +
            " dead-lettered");
  for (const streams::topic_status& status : co_await consumer.inspect()) {
    check(status.pending == 0, std::to_string(status.pending) + " entries left pending");
    check(status.length == stream_length, "stream length " + std::to_string(status.length));
  }
}

// The N messages the Node program published, each delivered once, on its first attempt.
asio::awaitable<void> consume(streamq::client& client, std::string topic, std::string group,
                              std::uint32_t n) {
  std::set<std::uint32_t> all;
  for (std::uint32_t i = 0; i < n; ++i) all.insert(i);
  co_await consume_each(client, topic, group, all, n,
                        [](const Sample& sample, const streams::message_context& ctx) {
    const std::uint32_t i = sample.index();
    const std::string what = "message " + std::to_string(i);
    compare(sample, sample_of(i), what + " payload");
    compare(*ctx.envelope, envelope_of(i, "interop-node", false), what + " envelope",
            streamq::v1::Envelope::descriptor()->FindFieldByName("payload"));
    check(ctx.attempt == 0 && ctx.deliveries == 1,
          what + ": attempt " + std::to_string(ctx.attempt) + ", deliveries " +
              std::to_string(ctx.deliveries));
    return i;
  });
}

// The odd messages, which the Node consumer failed into the group's retry set: each is run
// once more, by this consumer, as the envelope's attempt + 1 (second delivery).
asio::awaitable<void> retry_consume(streamq::client& client, std::string topic, std::string group,
                                    std::uint32_t n) {
  std::set<std::uint32_t> odd;
  for (std::uint32_t i = 1; i < n; i += 2) odd.insert(i);
  co_await consume_each(client, topic, group, odd, n,
                        [](const Sample& sample, const streams::message_context& ctx) {
    const std::uint32_t i = sample.index();
    const std::string what = "message " + std::to_string(i);
    const streamq::v1::Envelope expected = envelope_of(i, "interop-node", true);
    compare(sample, sample_of(i), what + " payload");
    compare(*ctx.envelope, expected, what + " envelope",
            streamq::v1::Envelope::descriptor()->FindFieldByName("payload"));
    check(ctx.attempt == expected.attempt() + 1 && ctx.deliveries == 2,
          what + ": attempt " + std::to_string(ctx.attempt) + ", deliveries " +
              std::to_string(ctx.deliveries) + ", expected attempt " +
              std::to_string(expected.attempt() + 1) + " on delivery 2");
    return i;
  });
}

// Runs `body` next to the client's owner operation; the client stops when the body ends.
int run(const std::function<asio::awaitable<void>(streamq::client&)>& body) {
  const char* url = std::getenv("STREAMQ_REDIS_URL");
  if (url == nullptr) {
    std::fprintf(stderr, "STREAMQ_REDIS_URL is not set\n");
    return exit_error;
  }
  asio::io_context io;
  streamq::client client(io.get_executor(), url);
  std::exception_ptr failure;
  auto client_loop = [&]() -> asio::awaitable<void> {
    co_await client.async_run(asio::as_tuple(asio::use_awaitable));
  };
  auto guarded = [&]() -> asio::awaitable<void> {
    try {
      co_await streamq::with_deadline(body(client), 30s);
    } catch (...) {
      failure = std::current_exception();
    }
  };
  asio::co_spawn(io, streamq::run_until(client_loop(), guarded()), asio::detached);
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "streamq-interop-peer: %s\n", e.what());
    }
    return exit_error;
  }
  for (const std::string& p : problems) std::fprintf(stderr, "MISMATCH %s\n", p.c_str());
  return problems.empty() ? 0 : exit_mismatch;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto count = [&](std::size_t k) {
    return static_cast<std::uint32_t>(std::stoul(args.at(k)));
  };
  int status = exit_error;
  try {
    if (args.size() >= 3 && args[0] == "publish") {
      const std::string corrupt = args.size() == 5 && args[3] == "--corrupt" ? args[4] : "";
      if (args.size() != 3 && !std::set<std::string>{"blob", "amount", "header"}.contains(corrupt))
        throw std::invalid_argument("--corrupt takes blob, amount or header");
      status = run([&](streamq::client& c) { return publish(c, args[1], count(2), corrupt); });
    } else if (args.size() == 4 && args[0] == "consume") {
      status = run([&](streamq::client& c) { return consume(c, args[1], args[2], count(3)); });
    } else if (args.size() == 4 && args[0] == "retry-consume") {
      status = run([&](streamq::client& c) { return retry_consume(c, args[1], args[2], count(3)); });
    } else {
      std::fprintf(stderr, "usage: %s publish TOPIC N [--corrupt blob|amount|header] | "
                           "consume TOPIC GROUP N | retry-consume TOPIC GROUP N\n", argv[0]);
      return exit_error;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamq-interop-peer: %s\n", e.what());
    return exit_error;
  }
  std::printf("streamq-interop-peer %s: %s\n", args[0].c_str(),
              status == 0 ? "OK" : status == exit_mismatch ? "MISMATCH" : "ERROR");
  return status;
}

// Tests of lib/streams/consume/partition_stats.*'s pure parts: how a partitioned_consumer sums
// its partition consumers' counters and picks its last failure. No server.
#include "streams/consume/partition_stats.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/streams/error.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace streamq::streams;
using namespace streamq::streams::detail;

namespace {
topic_consumer_stats counts(std::uint64_t base) {
  topic_consumer_stats t;
  t.topic = "orders#" + std::to_string(base);
  t.delivered = base + 1;
  t.acked = base + 2;
  t.retried = base + 3;
  t.dead_lettered = base + 4;
  t.claimed = base + 5;
  t.lost = base + 6;
  t.in_flight = base + 7;
  t.handler_latency_log2_us[0] = base + 8;
  t.handler_latency_log2_us[31] = base + 9;
  t.handler_latency_sum_us = base + 10;
  return t;
}
}  // namespace

TEST_CASE("partition stats: counters add up, in-flight only from running consumers, the topic kept") {
  topic_consumer_stats total;
  total.topic = "orders";
  add_counts(total, counts(10), true);
  add_counts(total, counts(100), false);  // retired: its in-flight is not current
  CHECK(total.topic == "orders");
  CHECK(total.delivered == 11 + 101);
  CHECK(total.acked == 12 + 102);
  CHECK(total.retried == 13 + 103);
  CHECK(total.dead_lettered == 14 + 104);
  CHECK(total.claimed == 15 + 105);
  CHECK(total.lost == 16 + 106);
  CHECK(total.in_flight == 17);
  CHECK(total.handler_latency_log2_us[0] == 18 + 108);
  CHECK(total.handler_latency_log2_us[1] == 0);
  CHECK(total.handler_latency_log2_us[31] == 19 + 109);
  CHECK(total.handler_latency_sum_us == 20 + 110);
}

TEST_CASE("partition stats: consumer_stats add up field by field") {
  consumer_stats a, b;
  a.acked = 3;
  a.errors = 1;
  a.in_flight = 2;
  a.outputs_relayed = 5;
  a.handler_latency_log2_us[4] = 6;
  b.acked = 4;
  b.errors = 2;
  b.in_flight = 1;
  b.outputs_relayed = 7;
  b.handler_latency_log2_us[4] = 1;
  add_counts(a, b);
  CHECK(a.acked == 7);
  CHECK(a.errors == 3);
  CHECK(a.in_flight == 3);
  CHECK(a.outputs_relayed == 12);
  CHECK(a.handler_latency_log2_us[4] == 7);
}

TEST_CASE("partition stats: the latest failure is kept, no failure never replaces one") {
  const auto t0 = std::chrono::system_clock::now();
  failure_note last;
  keep_latest(last, {});  // nothing failed
  CHECK_FALSE(last.code);
  const failure_note older{make_error_code(errc::invalid_argument), "older", t0};
  const failure_note newer{make_error_code(streamq::redis::client_errc::timeout), "newer",
                           t0 + std::chrono::seconds(1)};
  keep_latest(last, older);
  CHECK(last.detail == "older");
  keep_latest(last, newer);
  CHECK(last.detail == "newer");
  keep_latest(last, older);  // came earlier: the newer stays
  CHECK(last.detail == "newer");
  keep_latest(last, {{}, "no code", t0 + std::chrono::seconds(2)});
  CHECK(last.detail == "newer");
  CHECK(last.code == make_error_code(streamq::redis::client_errc::timeout));
}

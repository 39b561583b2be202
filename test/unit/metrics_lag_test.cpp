// Tests of lib/streams/sansio/lag.* (the lag rules, pure): each rule with the figures redis-server
// 7.0.15 reported in the situations where its own `lag` is null or wrong (measured: 10 entries,
// 3 delivered, XTRIM MAXLEN 5, then one more read: Redis said entries-read 4 and lag 6 while
// 4 entries were undelivered).
#include "sansio/lag.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using streamq::streams::detail::counted_lag;
using streamq::streams::detail::id_age_seconds;
using streamq::streams::detail::lag_plan;
using streamq::streams::detail::plan_lag;
using streamq::streams::detail::group_position;
using streamq::streams::detail::stream_summary;

namespace {
// Entries 1-0 .. 10-0 added; `first` still there; `deleted`: the highest XDEL'd ID.
stream_summary stream(std::uint64_t length, std::string first, std::string deleted = "0-0") {
  return {length, "10-0", std::move(deleted), 10, std::move(first)};
}
group_position at(std::string last_delivered, std::optional<std::uint64_t> entries_read) {
  return {0, std::move(last_delivered), entries_read, std::nullopt};
}
}  // namespace

TEST_CASE("lag: an empty stream and a group at the end are 0 without counting") {
  CHECK(plan_lag(stream(0, ""), at("0-0", 0)) == lag_plan{0, {}});
  CHECK(plan_lag(stream(10, "1-0"), at("10-0", 10)) == lag_plan{0, {}});
  // Past the last generated ID (an ID set by XGROUP SETID beyond it): nothing to deliver.
  CHECK(plan_lag(stream(10, "1-0"), at("11-0", std::nullopt)) == lag_plan{0, {}});
}

TEST_CASE("lag: a group behind the first entry (trimmed past it) lags by the whole length") {
  // 3 delivered, XTRIM MAXLEN 5: entries 6..10 remain; Redis 7.0 says 7.
  CHECK(plan_lag(stream(5, "6-0"), at("3-0", 3)) == lag_plan{5, {}});
}

TEST_CASE("lag: otherwise the entries after the group's position are counted") {
  // After the trim and one more read Redis says entries-read 4 (so lag 6): not used.
  CHECK(plan_lag(stream(5, "6-0"), at("6-0", 4)) == lag_plan{std::nullopt, "6-0"});
  // An XDEL ahead of the group (Redis: lag null).
  CHECK(plan_lag(stream(4, "6-0", "9-0"), at("6-0", std::nullopt)) ==
        lag_plan{std::nullopt, "6-0"});
  // No trimming at all: still counted (nothing tells a poisoned entries-read apart).
  CHECK(plan_lag(stream(10, "1-0"), at("3-0", 3)) == lag_plan{std::nullopt, "3-0"});
}

TEST_CASE("lag: an unreadable position counts every entry") {
  CHECK(plan_lag(stream(7, "4-0"), at("garbage", 2)) == lag_plan{7, {}});
}

TEST_CASE("lag: a complete count is the lag, capped at the length") {
  CHECK(counted_lag(stream(5, "6-0"), at("6-0", 4), 4, true, 100) == 4);
  CHECK(counted_lag(stream(5, "6-0"), at("6-0", 4), 0, true, 100) == 0);
  // Entries added between the sample and the count: no more than the sampled length.
  CHECK(counted_lag(stream(5, "6-0"), at("6-0", 4), 9, true, 100) == 5);
}

TEST_CASE("lag: past the limit, Redis's estimate clamped to [limit, length]") {
  // Estimate 10 - 2 = 8 within [3, 9].
  CHECK(counted_lag(stream(9, "2-0"), at("2-0", 2), 3, false, 3) == 8);
  // A poisoned entries-read under the limit: the limit is the floor.
  CHECK(counted_lag(stream(9, "2-0"), at("2-0", 9), 3, false, 3) == 3);
  // An estimate over the length: the length.
  CHECK(counted_lag(stream(4, "2-0"), at("2-0", 0), 3, false, 3) == 4);
  // No entries-read: the length.
  CHECK(counted_lag(stream(9, "2-0"), at("2-0", std::nullopt), 3, false, 3) == 9);
  // A limit over the length: the length.
  CHECK(counted_lag(stream(2, "2-0"), at("2-0", std::nullopt), 2, false, 50) == 2);
}

TEST_CASE("lag: the age of an entry ID") {
  CHECK(id_age_seconds("1000-0", 3500) == doctest::Approx(2.5));
  CHECK(id_age_seconds("4000-7", 3500) == 0);  // in the future: clock skew
  CHECK(id_age_seconds("not-an-id", 3500) == 0);
  CHECK(id_age_seconds("1000-0", -1) == 0);
}

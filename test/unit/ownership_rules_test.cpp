// Tests of lib/streams/sansio/ownership.*: the spread of partitions over a group's members,
// one tick's plan, and how long a lease may be relied on. No server.
#include "streams/sansio/ownership.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

using namespace streamq::streams::detail;
using u32s = std::vector<std::uint32_t>;

TEST_CASE("ownership: partitions spread by name order, every one owned once, shares within one") {
  const std::vector<std::string> members{"c", "a", "b"};  // any order
  CHECK(assigned_partitions(members, "a", 8) == u32s{0, 3, 6});
  CHECK(assigned_partitions(members, "b", 8) == u32s{1, 4, 7});
  CHECK(assigned_partitions(members, "c", 8) == u32s{2, 5});
  for (std::uint32_t partitions : {1u, 2u, 7u, 8u, 64u}) {
    for (std::size_t m = 1; m <= 9; ++m) {
      std::vector<std::string> names;
      for (std::size_t i = 0; i < m; ++i) names.push_back("member-" + std::to_string(i));
      std::multiset<std::uint32_t> all;
      std::size_t least = partitions, most = 0;
      for (const auto& name : names) {
        const auto mine = assigned_partitions(names, name, partitions);
        all.insert(mine.begin(), mine.end());
        least = std::min(least, mine.size());
        most = std::max(most, mine.size());
      }
      CAPTURE(partitions);
      CAPTURE(m);
      CHECK(all.size() == partitions);
      CHECK(std::set<std::uint32_t>(all.begin(), all.end()).size() == partitions);
      CHECK(most - least <= 1);
    }
  }
}

TEST_CASE("ownership: a member not in the list owns nothing, a repeated name counts once") {
  const std::vector<std::string> members{"a", "b"};
  CHECK(assigned_partitions(members, "z", 4).empty());
  CHECK(assigned_partitions({}, "a", 4).empty());
  const std::vector<std::string> twice{"a", "b", "a"};
  CHECK(assigned_partitions(twice, "a", 4) == u32s{0, 2});
  CHECK(assigned_partitions(members, "a", 0).empty());
}

TEST_CASE("ownership: one tick takes the new, gives up the old, renews the rest") {
  const auto plan = plan_ownership(u32s{5, 1, 3}, u32s{3, 7, 1});
  CHECK(plan.acquire == u32s{5});
  CHECK(plan.release == u32s{7});
  CHECK(plan.renew == u32s{1, 3});
  const auto start = plan_ownership(u32s{0, 2}, u32s{});
  CHECK(start.acquire == u32s{0, 2});
  CHECK(start.release.empty());
  const auto leave = plan_ownership(u32s{}, u32s{4});
  CHECK(leave.release == u32s{4});
  CHECK(leave.acquire.empty());
  CHECK(leave.renew.empty());
}

TEST_CASE("ownership: a lease is relied on from its request's send, less a margin") {
  const auto sent = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
  CHECK(lease_valid_until(sent, std::chrono::milliseconds(10000), std::chrono::milliseconds(2000)) ==
        sent + std::chrono::milliseconds(8000));
}

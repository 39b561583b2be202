// Tests of lib/streams/sansio/partitioning.* and partition_for_key (partitions.hpp): the key
// hash other languages must reproduce (the vectors are docs/wire-format.md's), the built-in
// partitioners, and a batch grouped by partition. No server.
#include "streams/sansio/partitioning.hpp"

#include <streamq/streams/partitions.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

using namespace streamq::streams;
using namespace streamq::streams::detail;

TEST_CASE("partitioning: FNV-1a 32 of the key's bytes, modulo the count (wire-format vectors)") {
  CHECK(fnv1a_32("") == 2166136261u);
  CHECK(fnv1a_32("a") == 3826002220u);
  CHECK(fnv1a_32("order-1") == 729795949u);
  CHECK(fnv1a_32("customer-42") == 4268273086u);
  CHECK(fnv1a_32("\xc3\x84") == 966660930u);  // "Ä" in UTF-8: bytes, not characters
  CHECK(partition_for_key("order-1", 8) == 5);
  CHECK(partition_for_key("order-1", 16) == 13);
  CHECK(partition_for_key("customer-42", 8) == 6);
  CHECK(partition_for_key("a", 1) == 0);
  CHECK(partition_for_key("a", 0) == 0);  // no partitions: nothing to choose, never a division by 0
}

TEST_CASE("partitioning: keys spread evenly enough over the partitions") {
  constexpr std::uint32_t partitions = 8;
  std::map<std::uint32_t, int> per;
  for (int i = 0; i < 8000; ++i) ++per[partition_for_key("key-" + std::to_string(i), partitions)];
  REQUIRE(per.size() == partitions);
  for (const auto& [p, n] : per) {
    CAPTURE(p);
    CHECK(n > 800);  // 1000 each on average
    CHECK(n < 1200);
  }
}

TEST_CASE("partitioning: by_key hashes a key and sends a keyless message round robin") {
  CHECK(choose_partition(partitioner::kind::by_key, "order-1", 8, 3) == 5);
  CHECK(choose_partition(partitioner::kind::by_key, "order-1", 8, 4) == 5);  // the ticket is unused
  CHECK(choose_partition(partitioner::kind::by_key, "", 8, 3) == 3);
  CHECK(choose_partition(partitioner::kind::by_key, "", 8, 11) == 3);
}

TEST_CASE("partitioning: round_robin ignores the key") {
  std::vector<std::uint32_t> seen;
  for (std::uint64_t t = 0; t < 6; ++t)
    seen.push_back(choose_partition(partitioner::kind::round_robin, "order-1", 3, t));
  CHECK(seen == std::vector<std::uint32_t>{0, 1, 2, 0, 1, 2});
  CHECK(choose_partition(partitioner::kind::round_robin, "x", 0, 5) == 0);
}

TEST_CASE("partitioning: a batch grouped by partition keeps message order within each") {
  const std::vector<std::uint32_t> chosen{2, 0, 2, 1, 2, 0};
  const auto groups = group_by_partition(chosen, 4);
  REQUIRE(groups.size() == 4);
  CHECK(groups[0] == std::vector<std::size_t>{1, 5});
  CHECK(groups[1] == std::vector<std::size_t>{3});
  CHECK(groups[2] == std::vector<std::size_t>{0, 2, 4});
  CHECK(groups[3].empty());
  CHECK(group_by_partition({}, 2) == std::vector<std::vector<std::size_t>>(2));
}

TEST_CASE("partitioned_publisher_config: a positive refresh and a custom partitioner's function") {
  partitioned_publisher_config config;
  CHECK_NOTHROW(config.validate());
  config.refresh_interval = std::chrono::milliseconds(0);
  CHECK_THROWS_AS(config.validate(), std::invalid_argument);
  config.refresh_interval = std::chrono::milliseconds(10);
  config.partitioning = partitioner::custom({});
  CHECK_THROWS_AS(config.validate(), std::invalid_argument);
  config.partitioning = partitioner::custom([](const streamq::v1::Envelope&, std::uint32_t) { return 0u; });
  CHECK_NOTHROW(config.validate());
}

// Tests of lib/streams/sansio/growth.*: when a partition a growth made may start (its old
// partition drained past the cut), entry IDs compared as numbers, and the count a publisher
// routes with after a partition refused it. No server, no io_context.
#include "streams/sansio/growth.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>

using namespace streamq::streams::detail;

TEST_CASE("growth rules: entry IDs read as numbers, so 10-0 is after 9-5 and text order lies") {
  CHECK(parse_entry_id("0-0") == entry_id{0, 0});
  CHECK(parse_entry_id("1700000000000-17") == entry_id{1700000000000ull, 17});
  CHECK(parse_entry_id("18446744073709551615-18446744073709551615") ==
        entry_id{18446744073709551615ull, 18446744073709551615ull});
  CHECK(*parse_entry_id("10-0") > *parse_entry_id("9-5"));
  CHECK(*parse_entry_id("5-10") > *parse_entry_id("5-9"));
  for (const char* wrong : {"", "-", "1-", "-1", "1", "a-1", "1-b", "1-2-3",
                            "18446744073709551616-0", " 1-2", "1-2 ", "+1-2"}) {
    CAPTURE(wrong);
    CHECK_FALSE(parse_entry_id(wrong));
  }
}

TEST_CASE("growth rules: a new partition waits until its old partition is drained past the cut") {
  const std::optional<std::string> none;
  const std::optional<std::string> pending_at_cut{"100-3"};
  // Nothing was in the old partition when it was cut: no question to ask.
  CHECK(nothing_to_drain("0-0"));
  CHECK_FALSE(nothing_to_drain("0-1"));
  CHECK_FALSE(nothing_to_drain("garbage"));
  CHECK(decide_drain("0-0", false, "", none) == drain_state::drained);
  // The old partition's consumer has not created the group there yet.
  CHECK(decide_drain("100-3", false, "", none) == drain_state::no_group);
  // Delivered up to an entry below the cut (the same millisecond, then an earlier one).
  CHECK(decide_drain("100-3", true, "100-2", none) == drain_state::undelivered);
  CHECK(decide_drain("100-3", true, "99-7", none) == drain_state::undelivered);
  CHECK(decide_drain("100-3", true, "0-0", none) == drain_state::undelivered);
  // Delivered past the cut, but an entry at or below it still pending (running, or waiting
  // for a retry: retries stay pending).
  CHECK(decide_drain("100-3", true, "100-3", pending_at_cut) == drain_state::pending);
  CHECK(decide_drain("100-3", true, "250-0", std::optional<std::string>{"7-0"}) ==
        drain_state::pending);
  // Delivered up to the cut exactly, or past it, and nothing pending there: drained.
  CHECK(decide_drain("100-3", true, "100-3", none) == drain_state::drained);
  CHECK(decide_drain("100-3", true, "101-0", none) == drain_state::drained);
  // Numbers, not text: "99-9" sorts after "100-3" as text but is before it.
  CHECK(decide_drain("100-3", true, "99-9", none) == drain_state::undelivered);
  // What cannot be read never opens the gate.
  CHECK(decide_drain("100-3", true, "not-an-id", none) == drain_state::undelivered);
  CHECK(decide_drain("cut?", true, "200-0", none) == drain_state::undelivered);
}

TEST_CASE("growth rules: a refused publish goes again with the next newer count, for itself only") {
  // Mid-growth 4 to 8: the topic still shows 4 while the cut partition names 8.
  CHECK(reroute_count(4, 4, 8) == 8u);
  // The growth finished meanwhile: the topic's count.
  CHECK(reroute_count(4, 8, 8) == 8u);
  // Two growths, the second under way: first the finished one (the key's partition among 8
  // may not be cut for 16 yet, and then takes it), then, if refused again, the reported one.
  CHECK(reroute_count(4, 8, 16) == 8u);
  CHECK(reroute_count(8, 8, 16) == 16u);
  // Nothing newer than what it was routed with: no progress, give up.
  CHECK_FALSE(reroute_count(8, 8, 8));
  CHECK_FALSE(reroute_count(8, 4, 4));
  CHECK(max_reroutes > 1);  // two growths in a row within one refresh still get through
}

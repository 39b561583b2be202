// The rules of an effectively-once commit (lib/streams/sansio/commit_plan.hpp), with no server.
#include <streams/sansio/commit_plan.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace streamq::streams::detail;

TEST_CASE("commit plan: same slot and unpartitioned goes into the commit, the rest via the outbox") {
  const std::vector<output_target> targets{{7, 0}, {8, 0}, {7, 4}, {7, 0}, {9, 2}};
  const auto plan = plan_commit(7, targets);
  CHECK(plan.direct == std::vector<std::size_t>{0, 3});
  CHECK(plan.outbox == std::vector<std::size_t>{1, 2, 4});
  CHECK(plan_commit(7, {}) == commit_plan{});
  // Every output lands in exactly one of the two.
  const auto other = plan_commit(8, targets);
  CHECK(other.direct.size() + other.outbox.size() == targets.size());
  CHECK(other.direct == std::vector<std::size_t>{1});
}

TEST_CASE("commit plan: output IDs name the group and the input's message key") {
  CHECK(output_id_prefix("billing", "order-7") == "eo:billing:order-7");
  CHECK(output_id_prefix("billing", "order-7") != output_id_prefix("email", "order-7"));
  CHECK(output_id_prefix("g", "") == "eo:g:");
}

TEST_CASE("commit plan: outbox batches per topic in outbox order, at most max_batch each") {
  const std::vector<std::string> topics{"a", "b", "a", "a", "c", "b", "a"};
  using batches = std::vector<std::vector<std::size_t>>;
  CHECK(outbox_batches(topics, 100) == batches{{0, 2, 3, 6}, {1, 5}, {4}});
  CHECK(outbox_batches(topics, 2) == batches{{0, 2}, {1, 5}, {3, 6}, {4}});
  CHECK(outbox_batches(topics, 0) == outbox_batches(topics, 1));
  CHECK(outbox_batches(topics, 1).size() == topics.size());
  CHECK(outbox_batches({}, 5).empty());
}

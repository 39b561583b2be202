#pragma once
// Topics placed on a test cluster (redis_cluster.hpp) for the queue layer's cluster tests: the
// master serving a topic, one topic per master, the URL a client reaches the cluster by, and
// a fault injected on its own thread while work goes on.

#include "support/redis_cluster.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace streamq::test {

// The master serving `topic` now (all its keys share the topic's hash tag).
std::size_t master_of(const redis_cluster& c, const std::string& topic);

// One topic per master ("<base>-<n>", n counting up until every master has one), in the order
// of the masters' indexes.
std::vector<std::string> topic_per_master(const redis_cluster& c, const std::string& base);

// The cluster's first node with cluster=on.
std::string cluster_url(const redis_cluster& c);

// Runs `fault` on a thread of its own (the fixture's calls block) while `work(still)` runs on
// the caller's executor; `still()` holds until `fault` has returned. Rethrows what either
// threw, the thread joined first.
boost::asio::awaitable<void> during_fault(
    const std::function<void()>& fault,
    const std::function<boost::asio::awaitable<void>(const std::function<bool()>& still)>& work);

}  // namespace streamq::test

#pragma once
// Topics placed on a test cluster (redis_cluster.hpp) for the queue layer's cluster tests: the
// master serving a topic, one topic per master, and the URL a client reaches the cluster by.

#include "support/redis_cluster.hpp"

#include <cstddef>
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

}  // namespace streamq::test

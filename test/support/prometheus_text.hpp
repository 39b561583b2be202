#pragma once
// Reading a Prometheus text exposition back in tests: each sample line as its name, labels and
// value, and the value of one series picked by its labels.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace streamq::test {

using labels = std::map<std::string, std::string>;

// One series of a text exposition: its name, labels and value.
struct series {
  std::string name;
  labels with;
  double value = 0;
};

// The sample lines of `text` (comments skipped). Label values are topic and group names,
// fixed words and numbers: no quotes or commas inside.
std::vector<series> parse(const std::string& text);

// The value of the one series `name` whose labels include `want` (a histogram's buckets only
// when `want` names "le"); nothing if none. Fails the test if several match.
std::optional<double> value_of(const std::string& text, const std::string& name,
                               const labels& want);

}  // namespace streamq::test

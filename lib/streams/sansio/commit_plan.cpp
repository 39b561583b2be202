#include "commit_plan.hpp"

namespace streamq::streams::detail {

commit_plan plan_commit(std::uint16_t input_slot, std::span<const output_target> targets) {
  commit_plan plan;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].slot == input_slot && targets[i].partitions == 0)
      plan.direct.push_back(i);
    else
      plan.outbox.push_back(i);
  }
  return plan;
}

std::string output_id_prefix(std::string_view group, std::string_view message_key) {
  std::string prefix = "eo:";
  prefix += group;
  prefix += ':';
  prefix += message_key;
  return prefix;
}

std::vector<std::vector<std::size_t>> outbox_batches(std::span<const std::string> topics,
                                                     std::size_t max_batch) {
  if (max_batch == 0) max_batch = 1;
  std::vector<std::vector<std::size_t>> batches;
  std::vector<std::size_t> open;  // per topic seen: its batch being filled in `batches`
  std::vector<std::size_t> firsts;  // per topic seen: the index that named it
  for (std::size_t i = 0; i < topics.size(); ++i) {
    std::size_t t = 0;
    while (t < firsts.size() && topics[firsts[t]] != topics[i]) ++t;
    if (t == firsts.size()) {
      firsts.push_back(i);
      open.push_back(batches.size());
      batches.emplace_back();
    } else if (batches[open[t]].size() >= max_batch) {
      open[t] = batches.size();
      batches.emplace_back();
    }
    batches[open[t]].push_back(i);
  }
  return batches;
}

}  // namespace streamq::streams::detail

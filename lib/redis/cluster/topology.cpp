#include "topology.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

namespace streamq::redis::cluster {
namespace {

class cluster_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "streamq.redis.cluster"; }
  std::string message(int ev) const override {
    switch (static_cast<cluster_errc>(ev)) {
      case cluster_errc::malformed_topology:
        return "cluster topology reply is malformed or contradicts itself";
      case cluster_errc::malformed_redirection:
        return "MOVED/ASK redirection is not '<kind> <slot> <endpoint>:<port>'";
    }
    return "unknown cluster error";
  }
};

// Checks and sorts a shard's ranges, merging adjacent ones; false for a range out of
// 0..16383, ending before it starts, or overlapping another.
bool normalise_ranges(std::vector<slot_range>& ranges) {
  for (const auto& r : ranges)
    if (r.first > r.last || r.last >= slot_count) return false;
  std::sort(ranges.begin(), ranges.end(),
            [](const slot_range& a, const slot_range& b) { return a.first < b.first; });
  std::vector<slot_range> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().last) return false;
    if (!merged.empty() && merged.back().last + 1 == r.first)
      merged.back().last = r.last;
    else
      merged.push_back(r);
  }
  ranges = std::move(merged);
  return true;
}

bool node_order(const node& a, const node& b) {
  return std::tie(a.address.host, a.address.port, a.id) <
         std::tie(b.address.host, b.address.port, b.id);
}

// Shards serving slots by their first slot; the others after them, by master.
bool shard_order(const shard& a, const shard& b) {
  if (a.slots.empty() != b.slots.empty()) return b.slots.empty();
  if (!a.slots.empty()) return a.slots.front().first < b.slots.front().first;
  return node_order(a.master, b.master);
}

// Equal but for replication offsets, which change with every write and route nothing.
bool same_node(const node& a, const node& b) {
  return a.id == b.id && a.address == b.address && a.known == b.known && a.role == b.role &&
         a.health == b.health;
}

bool same_routing(const std::vector<shard>& a, const std::vector<shard>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const shard& x, const shard& y) {
    return x.slots == y.slots && same_node(x.master, y.master) &&
           std::equal(x.replicas.begin(), x.replicas.end(), y.replicas.begin(), y.replicas.end(),
                      same_node);
  });
}

}  // namespace

const std::error_category& cluster_category() noexcept {
  static const cluster_category_impl instance;
  return instance;
}

std::string to_string(const node_address& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  std::string out;
  out.reserve(a.host.size() + 8);
  if (v6) out += '[';
  out += a.host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(a.port);
  return out;
}

slot_map::slot_map() {
  owner_.fill(no_shard);
}

std::error_code slot_map::assign(std::vector<shard> shards) {
  if (shards.size() >= no_shard) return cluster_errc::malformed_topology;
  for (auto& s : shards) {
    if (!normalise_ranges(s.slots)) return cluster_errc::malformed_topology;
    std::sort(s.replicas.begin(), s.replicas.end(), node_order);
  }
  // Servers list shards in no fixed order: sorted, one topology is one content.
  std::sort(shards.begin(), shards.end(), shard_order);
  std::array<std::uint16_t, slot_count> owner;
  owner.fill(no_shard);
  std::size_t covered = 0;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (const auto& r : shards[i].slots) {
      for (std::size_t s = r.first; s <= r.last; ++s) {
        if (owner[s] != no_shard) return cluster_errc::malformed_topology;
        owner[s] = static_cast<std::uint16_t>(i);
        ++covered;
      }
    }
  }
  const bool changed = !same_routing(shards, shards_);
  shards_ = std::move(shards);
  owner_ = owner;
  covered_ = covered;
  if (changed) ++version_;
  return {};
}

const shard* slot_map::owner(std::uint16_t slot) const noexcept {
  if (slot >= slot_count || owner_[slot] == no_shard) return nullptr;
  return &shards_[owner_[slot]];
}

const shard* slot_map::find_master(const node_address& address) const noexcept {
  for (const auto& s : shards_)
    if (s.master.known && s.master.address == address) return &s;
  return nullptr;
}

bool slot_map::apply_moved(std::uint16_t slot, const node_address& target) {
  if (slot >= slot_count) return false;
  std::size_t index = 0;
  if (const shard* s = find_master(target)) {
    index = static_cast<std::size_t>(s - shards_.data());
    if (owner_[slot] == index) return false;
  } else {
    if (shards_.size() + 1 >= no_shard) return false;
    index = shards_.size();
    shard fresh;
    fresh.master.address = target;
    shards_.push_back(std::move(fresh));
  }
  if (owner_[slot] == no_shard) ++covered_;
  owner_[slot] = static_cast<std::uint16_t>(index);
  rebuild_ranges();
  ++version_;
  return true;
}

void slot_map::rebuild_ranges() {
  for (auto& s : shards_) s.slots.clear();
  for (std::size_t slot = 0; slot < slot_count; ++slot) {
    const auto o = owner_[slot];
    if (o == no_shard) continue;
    auto& ranges = shards_[o].slots;
    const auto s16 = static_cast<std::uint16_t>(slot);
    if (!ranges.empty() && static_cast<std::size_t>(ranges.back().last) + 1 == slot)
      ranges.back().last = s16;
    else
      ranges.push_back({s16, s16});
  }
}

}  // namespace streamq::redis::cluster

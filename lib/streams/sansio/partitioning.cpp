#include "sansio/partitioning.hpp"

namespace streamq::streams {

std::uint32_t partition_for_key(std::string_view key, std::uint32_t partitions) noexcept {
  if (partitions == 0) return 0;
  return detail::fnv1a_32(key) % partitions;
}

}  // namespace streamq::streams

namespace streamq::streams::detail {

std::uint32_t fnv1a_32(std::string_view bytes) noexcept {
  std::uint32_t h = 2166136261u;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;  // unsigned: wraps modulo 2^32, as the specification says
  }
  return h;
}

std::uint32_t choose_partition(partitioner::kind how, std::string_view key,
                               std::uint32_t partitions, std::uint64_t ticket) noexcept {
  if (partitions == 0) return 0;
  if (how == partitioner::kind::by_key && !key.empty()) return partition_for_key(key, partitions);
  return static_cast<std::uint32_t>(ticket % partitions);
}

std::vector<std::vector<std::size_t>> group_by_partition(std::span<const std::uint32_t> chosen,
                                                         std::uint32_t partitions) {
  std::vector<std::vector<std::size_t>> groups(partitions);
  for (std::size_t i = 0; i < chosen.size(); ++i) groups.at(chosen[i]).push_back(i);
  return groups;
}

}  // namespace streamq::streams::detail

#pragma once
// How a fuzz target cuts its input into the reads a socket would give, from a seed byte: seed 0
// gives everything at once, any other seed chunks of 1 to seed % 32 + 1 bytes drawn from it.

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace fuzz {

class chunker {
 public:
  explicit chunker(std::uint8_t seed) noexcept : seed_(seed), state_(seed * 2654435761u + 1) {}

  // The size of the next chunk when `remaining` bytes are left (at least 1 when any are).
  std::size_t next(std::size_t remaining) noexcept {
    if (seed_ == 0) return remaining;
    state_ = state_ * 1103515245u + 12345u;
    return std::min<std::size_t>(1 + (state_ >> 16) % (seed_ % 32 + 1), remaining);
  }

 private:
  std::uint8_t seed_;
  std::uint32_t state_;
};

}  // namespace fuzz

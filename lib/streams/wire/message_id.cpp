#include <streamq/streams/message_id.hpp>

#include <atomic>
#include <cstdint>
#include <random>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif

namespace streamq::streams {
namespace {

constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// Bumped in the child after fork(), which would otherwise repeat the parent's random stream.
std::atomic<unsigned> fork_generation{0};

struct thread_generator {
  std::mt19937_64 engine;
  unsigned generation = 0;
  bool seeded = false;
};

std::mt19937_64& generator() {
#if defined(__unix__) || defined(__APPLE__)
  static const int registered = pthread_atfork(
      nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
  static_cast<void>(registered);
#endif
  thread_local thread_generator g;
  const unsigned generation = fork_generation.load(std::memory_order_relaxed);
  if (!g.seeded || g.generation != generation) {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    g.engine.seed(seed);
    g.generation = generation;
    g.seeded = true;
  }
  return g.engine;
}

// Writes the low 5 * count bits of `bits` as `count` base32 digits, most significant first.
void put_base32(char* out, std::uint64_t bits, int count) {
  for (int i = count - 1; i >= 0; --i) {
    out[i] = crockford[bits & 31u];
    bits >>= 5;
  }
}

}  // namespace

std::string new_message_id(std::chrono::system_clock::time_point now) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::uint64_t time = ms.count() < 0 ? 0 : static_cast<std::uint64_t>(ms.count());
  auto& engine = generator();
  const std::uint64_t random_high = engine();       // 64 random bits
  const std::uint64_t random_low = engine() >> 48;  // 16 more
  std::string id(message_id_length, '0');
  put_base32(id.data(), time & ((std::uint64_t{1} << 48) - 1), 10);
  // 80 random bits: the first 40 from random_high's top, the last 40 from the rest.
  put_base32(id.data() + 10, random_high >> 24, 8);
  put_base32(id.data() + 18, ((random_high & 0xffffffu) << 16) | random_low, 8);
  return id;
}

std::string new_message_id() {
  return new_message_id(std::chrono::system_clock::now());
}

}  // namespace streamq::streams

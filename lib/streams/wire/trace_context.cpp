// W3C Trace Context level 1: traceparent parsing and formatting, tracestate limits, and the IDs
// of new traces and spans (include/streamq/streams/tracing.hpp).
#include <streamq/streams/tracing.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>

namespace streamq::streams {

namespace {

constexpr std::size_t version_00_size = traceparent_size;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
constexpr char hex_digits[] = "0123456789abcdef";

// Each byte's value as a lowercase hex digit, or -1: W3C refuses uppercase in every field. A
// table, as every consumed message's traceparent is read (a branchy digit test was ~5% of a
// consumer's CPU).
constexpr std::array<std::int8_t, 256> hex_values = [] {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (int c = '0'; c <= '9'; ++c)
    table[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c)
    table[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'a' + 10);
  return table;
}();

int hex_value(char c) noexcept { return hex_values[static_cast<unsigned char>(c)]; }

// Reads 2 * out.size() hex digits from `text` into `out`; false on a non-hex character.
bool read_hex(std::string_view text, std::span<std::uint8_t> out) noexcept {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = hex_value(text[2 * i]);
    const int low = hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>((high << 4) | low);
  }
  return true;
}

// Each byte's two hex digits, so writing a traceparent (every publish) is one copy per byte.
constexpr std::array<std::array<char, 2>, 256> hex_pairs = [] {
  std::array<std::array<char, 2>, 256> table{};
  for (std::size_t b = 0; b < 256; ++b) table[b] = {hex_digits[b >> 4], hex_digits[b & 0x0f]};
  return table;
}();

void write_hex(std::span<const std::uint8_t> bytes, char* out) noexcept {
  for (const std::uint8_t b : bytes) {
    std::memcpy(out, hex_pairs[b].data(), 2);
    out += 2;
  }
}

template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& bytes) {
  std::string out(2 * N, '\0');
  write_hex(bytes, out.data());
  return out;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

// One generator per thread: publishers on several threads never share (or lock) it. Seeded
// once from the system's entropy source, so that processes started together differ.
// SplitMix64 (Steele, Lea, Flood 2014): one add and three multiply-xorshift steps per 64 bits,
// every publish draws 16 to 24 bytes. IDs need to be unlikely to collide, not unpredictable;
// a per-thread state seeded from std::random_device gives each thread its own sequence.
class id_generator {
 public:
  id_generator() {
    std::random_device device;
    state_ = (std::uint64_t{device()} << 32) ^ device();
  }
  std::uint64_t operator()() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_ = 0;
};

id_generator& generator() {
  thread_local id_generator engine;
  return engine;
}

template <std::size_t N>
std::array<std::uint8_t, N> random_id() {
  std::array<std::uint8_t, N> id{};
  auto& engine = generator();
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      const std::uint64_t word = engine();
      std::memcpy(id.data() + i, &word, std::min<std::size_t>(8, N - i));
    }
  } while (all_zero(id));  // all zero means "invalid": drawn again (once in 2^64)
  return id;
}

}  // namespace

bool trace_context::valid() const noexcept {
  return !all_zero(trace_id) && !all_zero(span_id);
}

std::string trace_context::trace_id_hex() const {
  return hex_of(trace_id);
}

std::string trace_context::span_id_hex() const {
  return hex_of(span_id);
}

bool valid_tracestate(std::string_view tracestate) noexcept {
  if (tracestate.size() > max_tracestate_bytes) return false;
  std::size_t members = 0;
  bool member_has_text = false;
  for (const char c : tracestate) {
    if (c < 0x20 || c > 0x7e) return false;
    if (c == ',') {
      members += member_has_text ? 1 : 0;
      member_has_text = false;
    } else if (c != ' ' && c != '\t') {
      member_has_text = true;
    }
  }
  members += member_has_text ? 1 : 0;
  return members <= max_tracestate_members;
}

std::optional<trace_context> parse_traceparent(std::string_view traceparent,
                                               std::string_view tracestate) {
  // version "-" trace-id "-" parent-id "-" trace-flags, then (later versions only) "-" ...
  if (traceparent.size() < version_00_size) return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!read_hex(traceparent.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0x00 ? traceparent.size() != version_00_size
                         : traceparent.size() > version_00_size &&
                               traceparent[version_00_size] != '-')
    return std::nullopt;
  if (traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-')
    return std::nullopt;
  trace_context context;
  std::array<std::uint8_t, 1> flags{};
  if (!read_hex(traceparent.substr(3, 32), context.trace_id) ||
      !read_hex(traceparent.substr(36, 16), context.span_id) ||
      !read_hex(traceparent.substr(53, 2), flags))
    return std::nullopt;
  if (!context.valid()) return std::nullopt;
  context.flags = flags[0];
  if (valid_tracestate(tracestate)) context.tracestate = std::string(tracestate);
  return context;
}

void write_traceparent(const trace_context& context, char* out) noexcept {
  out[0] = '0';
  out[1] = '0';
  out[2] = out[35] = out[52] = '-';
  write_hex(context.trace_id, out + 3);
  write_hex(context.span_id, out + 36);
  const std::array<std::uint8_t, 1> flags{context.flags};
  write_hex(flags, out + 53);
}

std::string format_traceparent(const trace_context& context) {
  std::string out(traceparent_size, '\0');
  write_traceparent(context, out.data());
  return out;
}

std::array<std::uint8_t, 16> new_trace_id() {
  return random_id<16>();
}

std::array<std::uint8_t, 8> new_span_id() {
  return random_id<8>();
}

trace_context new_trace() {
  return trace_context{new_trace_id(), new_span_id(), trace_context::sampled_flag, {}};
}

trace_context child_of(const trace_context& parent) {
  return trace_context{parent.trace_id, new_span_id(), parent.flags, parent.tracestate};
}

}  // namespace streamq::streams

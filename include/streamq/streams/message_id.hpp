#pragma once
// Producer-assigned message IDs (Envelope.message_id).

#include <chrono>
#include <cstddef>
#include <string>

namespace streamq::streams {

// Length of the IDs new_message_id() returns.
inline constexpr std::size_t message_id_length = 26;

// A new unique message ID shaped like a ULID: 26 characters of Crockford base32
// (0-9 A-Z without I L O U), the first 10 encoding the creation time in milliseconds since
// the Unix epoch (48 bits), the other 16 encoding 80 random bits. IDs sort by creation time
// to the millisecond (not within one). The random bits come from a per-thread generator
// seeded from std::random_device and reseeded after fork(); they are not secret and must not
// be used as tokens. Thread-safe.
[[nodiscard]] std::string new_message_id();

// The same, with the time given (for tests and for replaying history).
[[nodiscard]] std::string new_message_id(std::chrono::system_clock::time_point now);

}  // namespace streamq::streams

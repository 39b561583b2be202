#pragma once
// Shared by the reply decoder tests (delivery_commands_test.cpp, stream_reply_test.cpp): feeds
// the bytes of replies to a resp::response_adapter the way a connection does (through a
// resp::parser, attributes dropped, the reply index counting completed replies), whole, split at
// every offset and byte by byte.

#include <streamq/resp/node.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/response.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <ostream>  // doctest prints std::error_code with it
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace reply_harness {

namespace resp = streamq::resp;

// Feeds `input` in chunks ending at `cuts` (ascending, then the rest): unconsumed bytes stay at
// the front of the buffer, new bytes are appended. Every byte must parse; returns the number
// of complete replies.
inline std::size_t feed(std::string_view input, const std::vector<std::size_t>& cuts,
                        resp::response_adapter& adapter) {
  resp::parser p;
  resp::attribute_filter attributes;
  adapter.on_start();
  std::string buffer;
  std::size_t fed = 0, next_cut = 0, replies = 0;
  while (true) {
    std::error_code ec;
    const auto n = p.consume(buffer, ec);
    REQUIRE_FALSE(ec);
    if (!n) {
      if (fed == input.size()) break;
      const std::size_t end = next_cut < cuts.size() ? cuts[next_cut++] : input.size();
      buffer.append(input.substr(fed, end - fed));
      fed = end;
      continue;
    }
    const bool done = p.done();
    if (attributes.keep(*n)) adapter.on_node(replies, *n);
    if (done) ++replies;
    buffer.erase(0, p.consumed());
  }
  REQUIRE(buffer.empty());
  return replies;
}

// Feeds `input` to `adapter` whole, split once at every offset, and byte by byte; after each,
// the replies must be `replies` in number, and `check()` (the test's CHECKs on the adapter's
// results) runs.
template <class Check>
void for_every_split(std::string_view input, resp::response_adapter& adapter, Check check,
                     std::size_t replies = 1) {
  {
    INFO("whole");
    REQUIRE(feed(input, {}, adapter) == replies);
    check();
  }
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    INFO("split at " << cut);
    REQUIRE(feed(input, {cut}, adapter) == replies);
    check();
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  INFO("byte by byte");
  REQUIRE(feed(input, every_byte, adapter) == replies);
  check();
}

}  // namespace reply_harness

#pragma once
// Shared by the parser tests (parser_test.cpp, parser_errors_test.cpp): feeds RESP bytes to a
// resp::parser whole, split at every offset and byte by byte, the way a socket reader does, and
// describes the nodes it yields as text.

#include <streamq/resp/error.hpp>
#include <streamq/resp/parser.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <ostream>  // doctest prints std::error_code with it
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace parser_harness {

namespace resp = streamq::resp;

inline std::string escape(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\\')
      out += "\\\\";
    else if (u < 0x20 || u >= 0x7f)
      (out += "\\x") += std::string{hex[u >> 4], hex[u & 15]};
    else
      out += c;
  }
  return out;
}

// One node as text: "array[2]@0", "blob_string@1=foo", a trailing '!' when done() was true.
inline std::string describe(const resp::node& n, bool done) {
  std::string s(resp::to_string(n.data_type));
  if (resp::is_aggregate(n.data_type)) s += "[" + std::to_string(n.aggregate_size) + "]";
  s += "@" + std::to_string(n.depth);
  if (!resp::is_aggregate(n.data_type) && n.data_type != resp::type::null)
    s += "=" + escape(n.value);
  if (done) s += "!";
  return s;
}

struct outcome {
  std::string nodes;  // space-separated describe() of every node
  std::error_code ec;
  std::size_t need_more = 0;  // times consume() asked for more bytes
};

// Feeds `input` in chunks ending at `cuts` (ascending, then the rest), the way a socket
// reader does: unconsumed bytes stay at the front of its buffer, new bytes are appended.
inline outcome run(std::string_view input, const std::vector<std::size_t>& cuts,
                   const resp::parser_limits& limits = {}) {
  resp::parser p(limits);
  outcome out;
  std::string buffer;
  std::size_t fed = 0, next_cut = 0;
  auto feed_more = [&] {
    if (fed == input.size()) return false;
    const std::size_t end = next_cut < cuts.size() ? cuts[next_cut++] : input.size();
    buffer.append(input.substr(fed, end - fed));
    fed = end;
    return true;
  };
  feed_more();
  while (true) {
    std::error_code ec;
    const auto n = p.consume(buffer, ec);
    if (ec) {
      out.ec = ec;
      break;
    }
    if (!n) {
      CHECK(p.consumed() == 0);
      CHECK(p.bytes_needed() > buffer.size());
      ++out.need_more;
      if (!feed_more()) break;
      continue;
    }
    REQUIRE(p.consumed() > 0);
    REQUIRE(p.consumed() <= buffer.size());
    if (!out.nodes.empty()) out.nodes += ' ';
    out.nodes += describe(*n, p.done());
    buffer.erase(0, p.consumed());
  }
  return out;
}

// Parses `input` whole, at every split point and byte by byte; all must match `expected`
// (and `expected_ec`). Returns the whole-buffer outcome.
inline outcome parse_everywhere(std::string_view input, std::string_view expected,
                                std::error_code expected_ec = {},
                                const resp::parser_limits& limits = {}) {
  const outcome whole = run(input, {}, limits);
  CHECK(whole.nodes == expected);
  CHECK(whole.ec == expected_ec);
  for (std::size_t cut = 0; cut < input.size(); ++cut) {
    const outcome split = run(input, {cut}, limits);
    INFO("split at " << cut);
    CHECK(split.nodes == expected);
    CHECK(split.ec == expected_ec);
    if (!expected_ec) CHECK(split.need_more >= 2);  // at the cut, and at the end
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  const outcome bytewise = run(input, every_byte, limits);
  CHECK(bytewise.nodes == expected);
  CHECK(bytewise.ec == expected_ec);
  return whole;
}

}  // namespace parser_harness

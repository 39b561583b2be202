// libFuzzer target for the RESP decoder (lib/resp/parser.cpp, value.cpp, adapt.hpp).
// Input: byte 0 seeds how the rest is cut into chunks; bytes 1.. are the RESP stream.
// The stream is parsed whole and in chunks (a reader that keeps unconsumed bytes); both must
// yield the same nodes and the same error, and every parser invariant must hold.

#include <streamq/resp/adapt.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/value.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace resp = streamq::resp;

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_resp_parser: invariant violated: %s\n", what);
    std::abort();
  }
}

struct record {
  resp::type type;
  std::size_t aggregate_size;
  std::size_t depth;
  std::string value;
  bool done;
  bool operator==(const record&) const = default;
};

struct outcome {
  std::vector<record> nodes;
  std::vector<std::string> values;  // to_string of every completed value
  std::error_code ec;
};

// Converting values exercises the adapters; results are irrelevant, only safety counts.
void convert_all(const resp::value& v) {
  std::error_code ec;
  std::int64_t i = 0;
  std::uint8_t u = 0;
  double d = 0;
  bool b = false;
  std::optional<std::string> s;
  std::vector<std::string> strings;
  std::map<std::string, std::string> map;
  resp::from_value(v, i, ec);
  resp::from_value(v, u, ec);
  resp::from_value(v, d, ec);
  resp::from_value(v, b, ec);
  resp::from_value(v, s, ec);
  resp::from_value(v, strings, ec);
  resp::from_value(v, map, ec);
}

outcome run(std::string_view input, std::uint8_t seed, const resp::parser_limits& limits) {
  resp::parser p(limits);
  resp::value_builder builder;
  outcome out;
  std::string buffer;
  std::size_t fed = 0;
  std::uint32_t state = seed * 2654435761u + 1;
  auto feed_more = [&] {
    if (fed == input.size()) return false;
    std::size_t chunk = input.size();  // seed 0: everything at once
    if (seed != 0) {
      state = state * 1103515245u + 12345u;
      chunk = 1 + (state >> 16) % (seed % 32 + 1);
    }
    chunk = std::min(chunk, input.size() - fed);
    buffer.append(input.substr(fed, chunk));
    fed += chunk;
    return true;
  };
  feed_more();
  while (true) {
    std::error_code ec;
    const auto n = p.consume(buffer, ec);
    if (ec) {
      require(!n, "a node together with an error");
      std::error_code again;
      require(!p.consume("+OK\r\n", again) && again == ec, "error is sticky");
      out.ec = ec;
      break;
    }
    if (!n) {
      require(p.consumed() == 0, "need-more consumed bytes");
      require(p.bytes_needed() > buffer.size(), "bytes_needed not beyond the buffer");
      if (!feed_more()) break;
      continue;
    }
    require(p.consumed() > 0 && p.consumed() <= buffer.size(), "consumed out of bounds");
    require(n->depth <= limits.max_depth, "depth over the limit");
    require(n->value.empty() || (n->value.data() >= buffer.data() &&
                                 n->value.data() + n->value.size() <= buffer.data() + p.consumed()),
            "value outside the consumed bytes");
    out.nodes.push_back(
        {n->data_type, n->aggregate_size, n->depth, std::string(n->value), p.done()});
    const bool complete = builder.on_node(*n);
    require(complete == p.done(), "value_builder and parser disagree on done");
    if (complete) {
      out.values.push_back(resp::to_string(builder.result()));
      convert_all(builder.result());
    }
    buffer.erase(0, p.consumed());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  resp::parser_limits limits;
  limits.max_bulk_length = 256;
  limits.max_line_length = 64;
  limits.max_depth = 8;
  limits.max_aggregate_size = 32;

  const outcome whole = run(input, 0, limits);
  const outcome split = run(input, data[0], limits);
  require(whole.nodes == split.nodes, "whole and split parses differ (nodes)");
  require(whole.values == split.values, "whole and split parses differ (values)");
  require(whole.ec == split.ec, "whole and split parses differ (error)");
  return 0;
}

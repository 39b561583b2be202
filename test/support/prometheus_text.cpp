#include "support/prometheus_text.hpp"

#include <doctest/doctest.h>

namespace streamq::test {

std::vector<series> parse(const std::string& text) {
  std::vector<series> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    series s;
    std::string head = line.substr(0, space);
    s.value = std::stod(line.substr(space + 1));
    if (const auto brace = head.find('{'); brace != std::string::npos) {
      s.name = head.substr(0, brace);
      std::string body = head.substr(brace + 1, head.size() - brace - 2);
      std::size_t at = 0;
      while (at < body.size()) {
        const auto eq = body.find('=', at);
        const auto close = body.find('"', eq + 2);
        s.with[body.substr(at, eq - at)] = body.substr(eq + 2, close - eq - 2);
        at = close + 2;
      }
    } else {
      s.name = head;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> value_of(const std::string& text, const std::string& name,
                               const labels& want) {
  std::optional<double> found;
  for (const auto& s : parse(text)) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : want) match = match && s.with.count(k) && s.with.at(k) == v;
    if (!match || (s.with.count("le") && !want.count("le"))) continue;
    REQUIRE_FALSE(found);  // the labels name one series
    found = s.value;
  }
  return found;
}

}  // namespace streamq::test

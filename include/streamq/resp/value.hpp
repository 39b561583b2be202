#pragma once
// A generic, owning reply tree: what a reply of unknown shape adapts into.

#include <streamq/resp/node.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::resp {

struct value {
  type data_type = type::null;
  // Leaves: the payload as sent (numbers stay text; convert with from_value).
  std::string text;
  // Aggregates: children in wire order; maps hold key, value, key, value, ...
  std::vector<value> elements;

  [[nodiscard]] bool is_null() const noexcept { return data_type == type::null; }
  [[nodiscard]] bool is_error() const noexcept { return resp::is_error(data_type); }
  [[nodiscard]] bool is_aggregate() const noexcept { return resp::is_aggregate(data_type); }

  // For maps (and RESP2 flat key/value arrays): the value stored under `key`, or nullptr.
  [[nodiscard]] const value* find(std::string_view key) const noexcept;

  friend bool operator==(const value&, const value&) = default;
};

// Renders a value as compact, human-readable text (for logs, tests and the CLI).
[[nodiscard]] std::string to_string(const value& v);

// Builds values from a node stream, one top-level value at a time. Untrusted aggregate sizes
// never drive allocation beyond a small reserve: memory follows the bytes actually received.
// Attribute subtrees are skipped (a stream already passed through attribute_filter is
// unaffected), so on_node() returns true exactly where parser::done() is true.
class value_builder {
 public:
  // Feeds one node; returns true when it completed the top-level value.
  bool on_node(const node& n);
  // The completed value; valid after on_node returned true, until the next on_node.
  [[nodiscard]] value& result() noexcept { return root_; }
  void reset();

 private:
  struct open_aggregate {
    value* target;
    std::size_t remaining;
  };
  value root_;
  std::vector<open_aggregate> open_;
  attribute_filter attributes_;
};

}  // namespace streamq::resp

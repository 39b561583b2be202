#pragma once
// One element of a RESP2/RESP3 reply, as the parser emits it (pre-order, depth-first).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace streamq::resp {

enum class type : std::uint8_t {
  simple_string,    // +
  simple_error,     // -
  integer,          // :
  blob_string,      // $
  blob_error,       // !
  double_type,      // ,
  boolean,          // #
  big_number,       // (
  verbatim_string,  // =  (value excludes the 4-byte "txt:" format prefix)
  null,             // _  and RESP2's $-1 / *-1
  array,            // *
  map,              // %  (aggregate_size counts pairs)
  set,              // ~
  attribute,        // |  (aggregate_size counts pairs; does not count as an element)
  push,             // >
};

[[nodiscard]] constexpr bool is_aggregate(type t) noexcept {
  return t == type::array || t == type::map || t == type::set || t == type::attribute ||
         t == type::push;
}

[[nodiscard]] constexpr bool is_error(type t) noexcept {
  return t == type::simple_error || t == type::blob_error;
}

// Number of child nodes an aggregate header announces (maps and attributes hold pairs).
[[nodiscard]] constexpr std::size_t element_count(type t, std::size_t aggregate_size) noexcept {
  return (t == type::map || t == type::attribute) ? aggregate_size * 2 : aggregate_size;
}

[[nodiscard]] std::string_view to_string(type t) noexcept;

struct node;

// Drops attribute subtrees from a node stream: they annotate the value after them, and a
// reply consumer wants the value.
class attribute_filter {
 public:
  [[nodiscard]] constexpr bool keep(const node& n) noexcept;

 private:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t skip_below_ = none;  // depth of the attribute being skipped
};

struct node {
  type data_type = type::null;
  std::size_t aggregate_size = 0;  // for aggregates: announced size; otherwise 0
  std::size_t depth = 0;           // 0 for a top-level value
  std::string_view value;          // payload of leaves; views the parser's input buffer
};

constexpr bool attribute_filter::keep(const node& n) noexcept {
  if (skip_below_ != none) {
    if (n.depth > skip_below_) return false;
    skip_below_ = none;
  }
  if (n.data_type == type::attribute) {
    if (n.aggregate_size > 0) skip_below_ = n.depth;
    return false;
  }
  return true;
}

}  // namespace streamq::resp

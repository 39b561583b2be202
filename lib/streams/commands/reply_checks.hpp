#pragma once
// What the decoders of publish_, schedule_, recurring_, dead_letter_, server_ and
// maintenance_requests share: the shape tests, and the reading of a count. The rules are those
// delivery_requests.hpp states for every decoder: a top-level error reply is the server's refusal,
// classified here from its prefix (resp::classify_server_error) with its text kept as `diagnostic`;
// any other shape than the command's is errc::malformed_entry. Pure functions over resp::value
// trees.

#include <streamq/resp/error.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/error.hpp>

#include "delivery_requests.hpp"  // command_result, command_reply

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace streamq::streams::detail::reply {

[[nodiscard]] inline command_result malformed(std::string what) {
  return {errc::malformed_entry, "unexpected reply shape: " + std::move(what)};
}

// A top-level error reply: its code, and its text for people.
[[nodiscard]] inline command_result refused(const resp::value& reply) {
  return {resp::classify_server_error(reply.text), reply.text};
}

[[nodiscard]] inline bool is_text(const resp::value& v) noexcept {
  return v.data_type == resp::type::blob_string || v.data_type == resp::type::simple_string ||
         v.data_type == resp::type::verbatim_string;
}

[[nodiscard]] inline bool is_array(const resp::value& v) noexcept {
  return v.data_type == resp::type::array;
}

// An integer reply, or text that is one whole decimal number (Lua returns some numbers as the
// strings Redis gave it, e.g. a sorted set's score).
template <class Integer>
[[nodiscard]] bool to_integer(const resp::value& v, Integer& out) {
  if (v.data_type != resp::type::integer && !is_text(v)) return false;
  const char* first = v.text.data();
  const char* last = first + v.text.size();
  Integer parsed{};
  auto [end, ec] = std::from_chars(first, last, parsed);
  if (ec != std::errc() || end != last || first == last) return false;
  out = parsed;
  return true;
}

// An array of text (a list of IDs or names) into `out`; false, `out` empty, for another shape.
[[nodiscard]] inline bool to_strings(const resp::value& v, std::vector<std::string>& out) {
  out.clear();
  if (!is_array(v)) return false;
  out.reserve(v.elements.size());  // elements received, not announced
  for (const auto& element : v.elements) {
    if (!is_text(element)) {
      out.clear();
      return false;
    }
    out.push_back(element.text);
  }
  return true;
}

// Field/value pairs: RESP3's map, or RESP2's flat array of an even number of strings (HGETALL,
// CONFIG GET). False, `out` empty, for another shape.
[[nodiscard]] inline bool to_pairs(const resp::value& v,
                                   std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  if ((v.data_type != resp::type::map && !is_array(v)) || v.elements.size() % 2 != 0) return false;
  out.reserve(v.elements.size() / 2);
  for (std::size_t i = 0; i < v.elements.size(); i += 2) {
    if (!is_text(v.elements[i]) || !is_text(v.elements[i + 1])) {
      out.clear();
      return false;
    }
    out.emplace_back(v.elements[i].text, v.elements[i + 1].text);
  }
  return true;
}

// A record of mixed values (one entry of XINFO GROUPS or XINFO CONSUMERS): RESP3's map, or
// RESP2's flat [field, value, ...] array. Calls on_field(name, value) for each pair in order;
// false when the shape is neither, a field name is not text, or on_field returns false.
template <class OnField>
[[nodiscard]] bool for_each_field(const resp::value& record, OnField on_field) {
  if ((record.data_type != resp::type::map && !is_array(record)) ||
      record.elements.size() % 2 != 0)
    return false;
  for (std::size_t i = 0; i < record.elements.size(); i += 2) {
    if (!is_text(record.elements[i])) return false;
    if (!on_field(record.elements[i].text, record.elements[i + 1])) return false;
  }
  return true;
}

// An array reply of records (XINFO GROUPS, XINFO CONSUMERS), each read by
// decode_one(element, T&) -> bool, into `out`: a top-level error is the server's refusal, any
// other failure malformed, naming `command`. `out` is empty unless every record was read.
template <class T, class DecodeOne>
[[nodiscard]] command_result records(const resp::value& reply, std::vector<T>& out,
                                     const char* command, DecodeOne decode_one) {
  out.clear();
  if (reply.is_error()) return refused(reply);
  if (!is_array(reply)) return malformed(std::string(command) + " reply");
  for (const auto& element : reply.elements) {
    T record;
    if (!decode_one(element, record)) {
      out.clear();
      return malformed(std::string(command) + " record");
    }
    out.push_back(std::move(record));
  }
  return {};
}

// A count (XLEN, XDEL, ZCARD, and the scripts that answer with one): a non-negative integer
// reply, as a decoder reads it; `command` names it in a malformed reply's diagnostic.
[[nodiscard]] inline command_result count(const resp::value& reply, std::uint64_t& out,
                                          const char* command) {
  out = 0;
  if (reply.is_error()) return refused(reply);
  if (reply.data_type != resp::type::integer || !to_integer(reply, out)) {
    out = 0;
    return malformed(std::string(command) + " count");
  }
  return {};
}

}  // namespace streamq::streams::detail::reply

#pragma once
// JSON in and out of the dashboard's API, on Boost.JSON. A POST body comes from whoever
// reaches the endpoint: it is parsed with a nesting limit (the endpoint's body_limit bounds its
// size), must be one object, and each field is read with its type checked; anything else is
// refused 400 "invalid_argument" (api_failure), never half-read.

#include "rules.hpp"  // api_error

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <exception>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::dashboard::detail {

// A refusal thrown by an API handler; the router answers it as it says.
class api_failure : public std::exception {
 public:
  explicit api_failure(api_error e) : error_(std::move(e)) {}
  [[nodiscard]] const api_error& error() const noexcept { return error_; }
  [[nodiscard]] const char* what() const noexcept override { return error_.message.c_str(); }

 private:
  api_error error_;
};

// Nesting deeper than this is refused: no request of the API needs more than 2 levels.
inline constexpr std::size_t max_body_depth = 8;

// The body as a JSON object; throws api_failure (400) when it is not valid JSON, nests
// deeper than max_body_depth, is not an object, or names a field not in `allowed`.
// (`allowed` is a span, not an initializer_list: GCC 12 miscompiles braced lists in
// coroutines, where the handlers call this.)
[[nodiscard]] boost::json::object parse_body(std::string_view body,
                                             std::span<const std::string_view> allowed);

// Typed fields of a parsed body; each throws api_failure (400) naming the field when it has
// another type (or, for the required ones, is missing).
[[nodiscard]] std::string required_string(const boost::json::object& body, std::string_view name);
[[nodiscard]] std::optional<std::string> optional_string(const boost::json::object& body,
                                                         std::string_view name);
[[nodiscard]] std::optional<bool> optional_bool(const boost::json::object& body,
                                                std::string_view name);
// A non-negative number, at most `max`.
[[nodiscard]] std::optional<double> optional_number(const boost::json::object& body,
                                                    std::string_view name, double max);
// A non-negative integer, at most `max`.
[[nodiscard]] std::optional<std::uint64_t> optional_integer(const boost::json::object& body,
                                                            std::string_view name,
                                                            std::uint64_t max);
// An array of strings, at most `max_items` of them.
[[nodiscard]] std::optional<std::vector<std::string>> optional_strings(
    const boost::json::object& body, std::string_view name, std::size_t max_items);

// Compact JSON text of `v`.
[[nodiscard]] std::string to_text(const boost::json::value& v);
// A JSON text the library produced itself (admin::envelope_json) as a value.
[[nodiscard]] boost::json::value from_text(std::string_view text);
// {"error":"<message>","code":"<code>"}
[[nodiscard]] std::string error_text(const api_error& e);

// An optional number as a value: null when absent.
template <class T>
[[nodiscard]] boost::json::value or_null(const std::optional<T>& v) {
  if (!v) return nullptr;
  return boost::json::value(*v);
}

}  // namespace streamq::dashboard::detail

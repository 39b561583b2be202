// JSON in and out: see json.hpp. Boost.JSON is used header-only: this is the one translation
// unit of lib/dashboard that compiles its sources.
#include "json.hpp"

#include <boost/json/src.hpp>

#include <algorithm>
#include <cmath>

namespace streamq::dashboard::detail {

namespace json = boost::json;

namespace {

[[noreturn]] void refuse(std::string message) { throw api_failure(invalid_argument(std::move(message))); }

[[noreturn]] void wrong_type(std::string_view name, const char* expected) {
  refuse("field \"" + std::string(name) + "\" must be " + expected);
}

}  // namespace

json::object parse_body(std::string_view body, std::span<const std::string_view> allowed) {
  json::parse_options options;
  options.max_depth = max_body_depth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, json::storage_ptr(), options);
  if (ec) refuse("the body is not valid JSON (" + ec.message() + ")");
  if (!v.is_object()) refuse("the body must be a JSON object");
  auto& object = v.as_object();
  for (const auto& field : object)
    if (std::find(allowed.begin(), allowed.end(), std::string_view(field.key())) == allowed.end())
      refuse("unknown field \"" + std::string(field.key()) + "\"");
  return std::move(object);
}

std::optional<std::string> optional_string(const json::object& body, std::string_view name) {
  const auto* v = body.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) wrong_type(name, "a string");
  return std::string(v->as_string());
}

std::string required_string(const json::object& body, std::string_view name) {
  auto s = optional_string(body, name);
  if (!s) refuse("field \"" + std::string(name) + "\" is required");
  return std::move(*s);
}

std::optional<bool> optional_bool(const json::object& body, std::string_view name) {
  const auto* v = body.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_bool()) wrong_type(name, "true or false");
  return v->as_bool();
}

std::optional<double> optional_number(const json::object& body, std::string_view name, double max) {
  const auto* v = body.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_number()) wrong_type(name, "a number");
  const double d = v->to_number<double>();
  if (!std::isfinite(d) || d < 0 || d > max)
    refuse("field \"" + std::string(name) + "\" must be from 0 to " + std::to_string(max));
  return d;
}

std::optional<std::uint64_t> optional_integer(const json::object& body, std::string_view name,
                                              std::uint64_t max) {
  const auto* v = body.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  boost::system::error_code ec;
  const auto n = v->is_number() ? v->to_number<std::uint64_t>(ec) : 0;
  if (!v->is_number() || ec || n > max)
    refuse("field \"" + std::string(name) + "\" must be an integer from 0 to " + std::to_string(max));
  return n;
}

std::optional<std::vector<std::string>> optional_strings(const json::object& body,
                                                         std::string_view name,
                                                         std::size_t max_items) {
  const auto* v = body.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_array()) wrong_type(name, "an array of strings");
  const auto& array = v->as_array();
  if (array.size() > max_items)
    refuse("field \"" + std::string(name) + "\" holds more than " + std::to_string(max_items) + " items");
  std::vector<std::string> out;
  for (const auto& item : array) {
    if (!item.is_string()) wrong_type(name, "an array of strings");
    out.emplace_back(item.as_string());
  }
  return out;
}

std::string to_text(const json::value& v) { return json::serialize(v); }

json::value from_text(std::string_view text) { return json::parse(text); }

std::string error_text(const api_error& e) {
  return json::serialize(json::object{{"error", e.message}, {"code", e.code}});
}

}  // namespace streamq::dashboard::detail

#pragma once
// Conversions from reply values to C++ types. Every failure is an error code, never an
// exception: a reply of the wrong shape is the caller's data, not a crash.

#include <streamq/resp/error.hpp>
#include <streamq/resp/value.hpp>

#include <charconv>
#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace streamq::resp {

template <class T>
struct converter;  // specialised below; from_value() is the entry point

// Converts `v` into `out`. Error replies yield their classified server_errc.
template <class T>
void from_value(const value& v, T& out, std::error_code& ec) {
  ec.clear();
  converter<T>::convert(v, out, ec);
}

namespace detail {

inline bool server_error(const value& v, std::error_code& ec) {
  if (!v.is_error()) return false;
  ec = classify_server_error(v.text);
  return true;
}

inline bool is_text(type t) noexcept {
  return t == type::simple_string || t == type::blob_string || t == type::verbatim_string ||
         t == type::integer || t == type::double_type || t == type::big_number;
}

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
concept map_like = requires {
  typename T::key_type;
  typename T::mapped_type;
};

template <class T>
concept sequence = !std::same_as<T, std::string> && requires(T t, typename T::value_type v) {
  t.push_back(std::move(v));
};

// Number text as RESP spells it: an optional sign ('+' too), then digits.
inline std::string_view drop_plus(std::string_view s) noexcept {
  if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  return s;
}

// std::from_chars over the whole of [first, end), mapped to adapt_errc; `out` is written
// only on success.
template <class T>
std::error_code from_chars_checked(const char* first, const char* end, T& out) {
  T parsed{};
  auto [ptr, err] = std::from_chars(first, end, parsed);
  if (ptr != end) return adapt_errc::invalid_number;
  if (err == std::errc::result_out_of_range) return adapt_errc::out_of_range;
  if (err != std::errc{}) return adapt_errc::invalid_number;
  out = parsed;
  return {};
}

template <class T>
std::error_code parse_integer(std::string_view text, T& out) {
  text = drop_plus(text);
  if (text.empty()) return adapt_errc::invalid_number;
  const char* end = text.data() + text.size();
  if constexpr (std::is_unsigned_v<T>) {
    // from_chars refuses any '-' for unsigned targets: tell "-5" (a number the target cannot
    // hold) from "-x" (not a number).
    if (text.front() == '-') {
      std::uintmax_t magnitude = 0;
      auto [ptr, err] = std::from_chars(text.data() + 1, end, magnitude);
      if (ptr != end || text.size() == 1 ||
          (err != std::errc{} && err != std::errc::result_out_of_range))
        return adapt_errc::invalid_number;
      if (err == std::errc{} && magnitude == 0) {
        out = 0;
        return {};
      }
      return adapt_errc::out_of_range;
    }
  }
  return from_chars_checked(text.data(), end, out);
}

template <class T>
std::error_code parse_floating(std::string_view text, T& out) {
  text = drop_plus(text);
  if (text.empty()) return adapt_errc::invalid_number;
  const char* end = text.data() + text.size();
  return from_chars_checked(text.data(), end, out);
}

// The first error reply in a tree (depth-first), for diagnostics of nested errors such as
// an EXEC reply holding one failed command.
inline const value* first_error(const value& v) noexcept {
  if (v.is_error()) return &v;
  for (const auto& e : v.elements)
    if (const value* found = first_error(e)) return found;
  return nullptr;
}

template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};
template <class A, class B>
struct is_tuple<std::pair<A, B>> : std::true_type {};

}  // namespace detail

namespace detail {
// Shared by integer and floating point targets: numbers arrive as integers, doubles, big
// numbers or strings (RESP2 sends many numbers as bulk strings).
template <class T, class Parse>
void convert_number(const value& v, T& out, std::error_code& ec, Parse parse) {
  if (server_error(v, ec)) return;
  if (v.is_null())
    ec = adapt_errc::unexpected_null;
  else if (!is_text(v.data_type))
    ec = adapt_errc::type_mismatch;
  else
    ec = parse(v.text, out);
}
}  // namespace detail

template <class T>
  requires(std::integral<T> && !std::same_as<T, bool>)
struct converter<T> {
  static void convert(const value& v, T& out, std::error_code& ec) {
    detail::convert_number(v, out, ec, [](const std::string& text, T& o) {
      return detail::parse_integer(text, o);
    });
  }
};

template <std::floating_point T>
struct converter<T> {
  static void convert(const value& v, T& out, std::error_code& ec) {
    detail::convert_number(v, out, ec, [](const std::string& text, T& o) {
      return detail::parse_floating(text, o);
    });
  }
};

template <>
struct converter<bool> {
  static void convert(const value& v, bool& out, std::error_code& ec) {
    if (detail::server_error(v, ec)) return;
    if (v.data_type == type::boolean) {
      out = v.text == "t";
    } else if (v.data_type == type::integer && (v.text == "0" || v.text == "1")) {
      out = v.text == "1";  // RESP2 spells booleans as 0/1
    } else {
      ec = v.is_null() ? adapt_errc::unexpected_null : adapt_errc::type_mismatch;
    }
  }
};

template <>
struct converter<std::string> {
  static void convert(const value& v, std::string& out, std::error_code& ec) {
    if (detail::server_error(v, ec)) return;
    if (v.is_null()) {
      ec = adapt_errc::unexpected_null;
    } else if (!detail::is_text(v.data_type) && v.data_type != type::boolean) {
      ec = adapt_errc::type_mismatch;
    } else {
      out = v.text;
    }
  }
};

template <>
struct converter<value> {
  static void convert(const value& v, value& out, std::error_code&) { out = v; }
};

template <class T>
struct converter<std::optional<T>> {
  static void convert(const value& v, std::optional<T>& out, std::error_code& ec) {
    if (detail::server_error(v, ec)) return;
    if (v.is_null()) {
      out.reset();
      return;
    }
    T inner{};
    converter<T>::convert(v, inner, ec);
    if (!ec) out = std::move(inner);
  }
};

template <class T>
  requires detail::sequence<T>
struct converter<T> {
  static void convert(const value& v, T& out, std::error_code& ec) {
    if (detail::server_error(v, ec)) return;
    if (v.data_type != type::array && v.data_type != type::set && v.data_type != type::push) {
      ec = v.is_null() ? adapt_errc::unexpected_null : adapt_errc::type_mismatch;
      return;
    }
    out.clear();
    for (const auto& element : v.elements) {
      typename T::value_type item{};
      converter<typename T::value_type>::convert(element, item, ec);
      if (ec) return;
      out.push_back(std::move(item));
    }
  }
};

template <class T>
  requires detail::map_like<T>
struct converter<T> {
  static void convert(const value& v, T& out, std::error_code& ec) {
    if (detail::server_error(v, ec)) return;
    // RESP3 maps, and RESP2's flat [k, v, k, v] arrays
    const bool flat_pairs = v.data_type == type::array && v.elements.size() % 2 == 0;
    if (v.data_type != type::map && !flat_pairs) {
      ec = v.is_null() ? adapt_errc::unexpected_null : adapt_errc::type_mismatch;
      return;
    }
    out.clear();
    for (std::size_t i = 0; i + 1 < v.elements.size(); i += 2) {
      typename T::key_type k{};
      typename T::mapped_type m{};
      converter<typename T::key_type>::convert(v.elements[i], k, ec);
      if (ec) return;
      converter<typename T::mapped_type>::convert(v.elements[i + 1], m, ec);
      if (ec) return;
      out.emplace(std::move(k), std::move(m));
    }
  }
};

template <class T>
  requires detail::is_tuple<T>::value
struct converter<T> {
  static void convert(const value& v, T& out, std::error_code& ec) {
    if (detail::server_error(v, ec)) return;
    constexpr std::size_t n = std::tuple_size_v<T>;
    if (!v.is_aggregate()) {
      ec = v.is_null() ? adapt_errc::unexpected_null : adapt_errc::type_mismatch;
      return;
    }
    if (v.elements.size() != n) {
      ec = adapt_errc::size_mismatch;
      return;
    }
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (void)((converter<std::tuple_element_t<I, T>>::convert(v.elements[I], std::get<I>(out), ec),
              !ec) &&
             ...);
    }(std::make_index_sequence<n>{});
  }
};

}  // namespace streamq::resp

#pragma once
// Response adapters: where the nodes of a request's replies go. A connection feeds every
// node of reply i to on_node(i, node); server error replies are data here, not failures of
// the request.

#include <streamq/resp/adapt.hpp>
#include <streamq/resp/node.hpp>
#include <streamq/resp/value.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace streamq::resp {

class response_adapter {
 public:
  static constexpr std::size_t any_count = static_cast<std::size_t>(-1);

  virtual ~response_adapter() = default;
  // Replies this adapter takes; a request with another count is refused before it is sent.
  [[nodiscard]] virtual std::size_t expected_replies() const noexcept { return any_count; }
  // Called once before the first node of a request, so an adapter can be reused.
  virtual void on_start() {}
  // Every node of reply `reply`, depth-first, attributes removed.
  virtual void on_node(std::size_t reply, const node& n) = 0;
};

// One reply converted to T, or why it could not be: a classified server error (with the
// server's text in diagnostic()) or an adapt_errc.
template <class T>
class result {
 public:
  [[nodiscard]] bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return has_value(); }

  // Throws std::system_error (what() includes the server's text) when there is no value.
  [[nodiscard]] const T& value() const& {
    check();
    return value_;
  }
  [[nodiscard]] T& value() & {
    check();
    return value_;
  }
  [[nodiscard]] T&& value() && {
    check();
    return std::move(value_);
  }
  [[nodiscard]] const std::error_code& error() const noexcept { return error_; }
  [[nodiscard]] const std::string& diagnostic() const noexcept { return diagnostic_; }

  // Fills this result from a complete reply tree.
  void assign(const resp::value& v) {
    // A top-level error reply is an error whatever T is, even resp::value: callers branch
    // on has_value(). (Errors nested in aggregates stay data for value targets.)
    if (v.is_error()) {
      error_ = classify_server_error(v.text);
      diagnostic_ = v.text;
      return;
    }
    from_value(v, value_, error_);
    const resp::value* failed = error_ ? detail::first_error(v) : nullptr;
    if (failed != nullptr && error_.category() == server_category())
      diagnostic_ = failed->text;
    else
      diagnostic_.clear();
  }
  // As above; a value target takes the tree over instead of copying it (a large XREADGROUP
  // reply is thousands of nodes).
  void assign(resp::value&& v) {
    if constexpr (std::is_same_v<T, resp::value>) {
      if (!v.is_error()) {
        value_ = std::move(v);
        error_.clear();
        diagnostic_.clear();
        return;
      }
    } else if constexpr (std::is_same_v<T, std::string>) {
      // What converter<std::string> accepts, moved rather than copied (an XADD's entry ID).
      if (detail::is_text(v.data_type) || v.data_type == type::boolean) {
        value_ = std::move(v.text);
        error_.clear();
        diagnostic_.clear();
        return;
      }
    }
    assign(static_cast<const resp::value&>(v));
  }
  // Back to an empty value (no stale data from an earlier reply).
  void reset() {
    value_ = T{};
    error_.clear();
    diagnostic_.clear();
  }

 private:
  void check() const {
    if (error_) throw std::system_error(error_, diagnostic_);
  }
  T value_{};
  std::error_code error_;
  std::string diagnostic_;
};

// A fixed number of replies, each converted to its type:
//   response<std::string, std::int64_t> r;  // e.g. for SET then INCR
template <class... Ts>
class response final : public response_adapter {
 public:
  [[nodiscard]] std::size_t expected_replies() const noexcept override { return sizeof...(Ts); }
  void on_start() override {
    builder_.reset();
    std::apply([](auto&... r) { (r.reset(), ...); }, results_);
  }
  void on_node(std::size_t reply, const node& n) override {
    if (!builder_.on_node(n)) return;
    static constexpr auto assign_table = make_table(std::index_sequence_for<Ts...>{});
    if (reply < sizeof...(Ts)) assign_table[reply](results_, std::move(builder_.result()));
  }

  template <std::size_t I>
  [[nodiscard]] auto& get() noexcept {
    return std::get<I>(results_);
  }
  template <std::size_t I>
  [[nodiscard]] const auto& get() const noexcept {
    return std::get<I>(results_);
  }
  [[nodiscard]] std::tuple<result<Ts>...>& results() noexcept { return results_; }

 private:
  using tuple_type = std::tuple<result<Ts>...>;
  using assign_fn = void (*)(tuple_type&, value&&);
  template <std::size_t... I>
  static constexpr std::array<assign_fn, sizeof...(Ts)> make_table(std::index_sequence<I...>) {
    return {[](tuple_type& t, value&& v) { std::get<I>(t).assign(std::move(v)); }...};
  }

  tuple_type results_;
  value_builder builder_;
};

// Any number of replies of any shape, one value each (server errors stay error values).
class generic_response final : public response_adapter {
 public:
  void on_start() override;
  void on_node(std::size_t reply, const node& n) override;
  [[nodiscard]] std::vector<value>& values() noexcept { return values_; }
  [[nodiscard]] const std::vector<value>& values() const noexcept { return values_; }

 private:
  std::vector<value> values_;
  value_builder builder_;
};

// Discards replies, remembering the first top-level error reply (code and text).
class ignore_response final : public response_adapter {
 public:
  void on_start() override;
  void on_node(std::size_t reply, const node& n) override;
  [[nodiscard]] const std::error_code& first_error() const noexcept { return error_; }
  [[nodiscard]] const std::string& diagnostic() const noexcept { return diagnostic_; }

 private:
  std::error_code error_;
  std::string diagnostic_;
};

}  // namespace streamq::resp

#include <streamq/resp/value.hpp>

#include <algorithm>

namespace streamq::resp {

const value* value::find(std::string_view key) const noexcept {
  if (data_type != type::map && data_type != type::array && data_type != type::push) return nullptr;
  for (std::size_t i = 0; i + 1 < elements.size(); i += 2)
    if (!elements[i].is_aggregate() && elements[i].text == key) return &elements[i + 1];
  return nullptr;
}

namespace {
void render(const value& v, std::string& out) {
  switch (v.data_type) {
    case type::null:
      out += "(nil)";
      return;
    case type::simple_error:
    case type::blob_error:
      out += "(error) ";
      out += v.text;
      return;
    case type::integer:
      out += "(integer) ";
      out += v.text;
      return;
    case type::boolean:
      out += v.text == "t" ? "(true)" : "(false)";
      return;
    case type::array:
    case type::set:
    case type::push:
    case type::map:
    case type::attribute: {
      const bool pairs = v.data_type == type::map || v.data_type == type::attribute;
      out += pairs ? '{' : '[';
      for (std::size_t i = 0; i < v.elements.size(); ++i) {
        if (i > 0) out += (pairs && i % 2 == 1) ? ": " : ", ";
        render(v.elements[i], out);
      }
      out += pairs ? '}' : ']';
      return;
    }
    default:
      out += '"';
      out += v.text;
      out += '"';
      return;
  }
}
}  // namespace

std::string to_string(const value& v) {
  std::string out;
  render(v, out);
  return out;
}

void value_builder::reset() {
  // Clearing instead of replacing keeps the buffers' capacity: a response reused for every
  // request then converts replies without allocating.
  root_.data_type = type::null;
  root_.text.clear();
  root_.elements.clear();
  open_.clear();
  attributes_ = attribute_filter{};
}

bool value_builder::on_node(const node& n) {
  if (!attributes_.keep(n)) return false;
  value* target = nullptr;
  if (open_.empty()) {
    // a new top-level value starts
    root_.elements.clear();
    root_.text.clear();
    target = &root_;
  } else {
    auto& parent = *open_.back().target;
    target = &parent.elements.emplace_back();
  }
  target->data_type = n.data_type;
  if (is_aggregate(n.data_type)) {
    const std::size_t children = element_count(n.data_type, n.aggregate_size);
    target->elements.reserve(std::min<std::size_t>(children, 64));
    if (!open_.empty() && --open_.back().remaining == 0) open_.pop_back();
    if (children > 0) {
      open_.push_back({target, children});
      return false;
    }
  } else {
    target->text.assign(n.value);
    if (!open_.empty() && --open_.back().remaining == 0) open_.pop_back();
  }
  return open_.empty();
}

}  // namespace streamq::resp

#pragma once
// Entry IDs (acknowledgements waiting for their XACK) stored back to back in one buffer. A
// vector of strings allocated once per ID longer than the small-string buffer, which a busy
// stream's IDs ("1764657241234-17") are; this allocates nothing once its buffers have grown.

#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

class id_list {
 public:
  class iterator {
   public:
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const id_list* list, std::size_t i) noexcept : list_(list), i_(i) {}
    std::string_view operator*() const noexcept { return (*list_)[i_]; }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    iterator operator++(int) noexcept {
      auto old = *this;
      ++i_;
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

   private:
    const id_list* list_ = nullptr;
    std::size_t i_ = 0;
  };

  void push_back(std::string_view id) {
    text_.append(id);
    ends_.push_back(text_.size());
  }
  // Appends all of `other`'s IDs.
  void append(const id_list& other) {
    for (auto id : other) push_back(id);
  }
  [[nodiscard]] std::string_view operator[](std::size_t i) const noexcept {
    const std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(text_).substr(begin, ends_[i] - begin);
  }
  [[nodiscard]] std::size_t size() const noexcept { return ends_.size(); }
  [[nodiscard]] bool empty() const noexcept { return ends_.empty(); }
  // Keeps the buffers' capacity.
  void clear() noexcept {
    text_.clear();
    ends_.clear();
  }
  void swap(id_list& other) noexcept {
    text_.swap(other.text_);
    ends_.swap(other.ends_);
  }
  [[nodiscard]] iterator begin() const noexcept { return {this, 0}; }
  [[nodiscard]] iterator end() const noexcept { return {this, ends_.size()}; }

 private:
  std::string text_;
  std::vector<std::size_t> ends_;  // where each ID ends in text_
};

static_assert(std::forward_iterator<id_list::iterator>);

}  // namespace streamq::streams::detail

#pragma once
// Per-key ordering as pure rules (subscription_options::ordering): which delivered entries of
// a key may run now, and which wait behind an earlier entry of the same key. No I/O, no Asio:
// unit-tested in test/unit/key_gate_test.cpp; the consumer only feeds it what arrives and what
// each run ended with.
//
// In order (one at a time per key): an entry runs when nothing of its key runs and the key is
// not blocked; otherwise it waits, and the waiting ones run in entry-ID order. A failure whose
// retry waits in Redis blocks the key on that entry: later entries of the key wait until the
// blocking entry comes back (its retry is taken), runs and succeeds, or is dead-lettered. A
// dead letter releases the key, or (key_fate::held) keeps it blocked until the entry comes
// back (requeued) or an operator releases the key.
// With a limit above one per key there is no order: at most that many run at once, and a
// failure blocks nothing.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace streamq::streams::detail {

// Stream entry IDs ("<ms>-<seq>") ordered as Redis orders them: by number, not by text. IDs
// that do not parse order after every valid one, among themselves by text.
struct entry_id_less {
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};

// How a run of a key's entry ended, for the key.
enum class key_fate : std::uint8_t {
  done,     // acknowledged, dropped, or dead-lettered releasing the key: the next one may run
  blocked,  // its retry waits (or it stays pending after a failed request): the key waits for it
  held,     // dead-lettered, the key kept blocked until it comes back or is released
};

template <class T>
class key_gate {
 public:
  // `per_key`: entries of one key running at once; 1 keeps them in order. At least 1.
  explicit key_gate(std::size_t per_key) : per_key_(per_key == 0 ? 1 : per_key) {}

  [[nodiscard]] bool ordered() const noexcept { return per_key_ == 1; }

  struct admitted {
    std::optional<T> item;  // given back: run it now; empty: kept, it waits for its key
    bool head = false;      // it is the entry its key was blocked on (coming back)
  };
  // A delivered entry of `key`. An entry kept waits until finish() or release() frees it.
  // An ID that waits already is replaced (a later delivery of the same entry).
  admitted admit(std::string_view key, std::string_view id, T item) {
    auto& k = keys_[std::string(key)];
    if (ordered() && !k.blocked_by.empty()) {
      if (k.blocked_by == id) {
        k.blocked_by.clear();
        k.held = false;
        ++k.running;
        return {std::move(item), true};
      }
    } else if (k.running < per_key_) {
      ++k.running;
      return {std::move(item), false};
    }
    auto [at, fresh] = k.waiting.insert_or_assign(std::string(id), std::move(item));
    (void)at;
    if (fresh) ++waiting_;
    return {std::nullopt, false};
  }

  // The run of `id` (admitted and given back, or freed earlier) ended with `fate`. Entries now
  // free to run are appended to `ready`, in order.
  void finish(std::string_view key, std::string_view id, key_fate fate, std::vector<T>& ready) {
    const auto it = keys_.find(std::string(key));
    if (it == keys_.end()) return;
    auto& k = it->second;
    if (k.running > 0) --k.running;
    if (ordered() && fate != key_fate::done) {
      k.blocked_by = std::string(id);
      k.held = fate == key_fate::held;
    }
    free_next(it, ready);
  }

  // The key waits for `id` (found blocked in Redis at start); `held`: by a dead letter.
  void block(std::string_view key, std::string_view id, bool held) {
    if (!ordered()) return;
    auto& k = keys_[std::string(key)];
    k.blocked_by = std::string(id);
    k.held = held;
  }

  // Lifts `key`'s block if it is still on `id` (an operator released it, or its dead letter is
  // gone); appends what may run now to `ready`. Returns whether it was lifted.
  bool release(std::string_view key, std::string_view id, std::vector<T>& ready) {
    const auto it = keys_.find(std::string(key));
    if (it == keys_.end() || it->second.blocked_by != id) return false;
    it->second.blocked_by.clear();
    it->second.held = false;
    free_next(it, ready);
    return true;
  }

  // What `key` waits for: the blocking entry's ID, or empty.
  [[nodiscard]] std::string_view blocked_by(std::string_view key) const {
    const auto it = keys_.find(std::string(key));
    return it == keys_.end() ? std::string_view() : std::string_view(it->second.blocked_by);
  }

  // Entries kept waiting, over all keys.
  [[nodiscard]] std::size_t waiting() const noexcept { return waiting_; }
  // Keys known (running, waiting or blocked): the state is dropped when a key has none.
  [[nodiscard]] std::size_t keys() const noexcept { return keys_.size(); }

  // f(id, item) for every waiting entry.
  template <class F>
  void for_each_waiting(F&& f) const {
    for (const auto& [key, k] : keys_)
      for (const auto& [id, item] : k.waiting) f(std::string_view(id), item);
  }
  // f(key, id) for every key blocked by a dead letter (key_fate::held or loaded so).
  template <class F>
  void for_each_held(F&& f) const {
    for (const auto& [key, k] : keys_)
      if (k.held) f(std::string_view(key), std::string_view(k.blocked_by));
  }

  // Forgets everything (the consumer stopped): waiting entries stay pending in Redis.
  void clear() noexcept {
    keys_.clear();
    waiting_ = 0;
  }

 private:
  struct key_state {
    std::size_t running = 0;
    std::string blocked_by;  // ordered: the entry the key waits for; empty when not blocked
    bool held = false;       // blocked by a dead letter
    std::map<std::string, T, entry_id_less> waiting;
  };
  using map = std::unordered_map<std::string, key_state>;

  void free_next(typename map::iterator it, std::vector<T>& ready) {
    auto& k = it->second;
    while (k.blocked_by.empty() && k.running < per_key_ && !k.waiting.empty()) {
      auto first = k.waiting.begin();
      ready.push_back(std::move(first->second));
      k.waiting.erase(first);
      --waiting_;
      ++k.running;
    }
    if (k.running == 0 && k.blocked_by.empty() && k.waiting.empty()) keys_.erase(it);
  }

  std::size_t per_key_;
  std::size_t waiting_ = 0;
  map keys_;
};

}  // namespace streamq::streams::detail
